"""What `pledgeflow failures` and `pledgeflow runs` show: which run's failures, counted by state; seconds per step.

The failures a steward acts on are those of the last blocked run while no later run has published
(`pledgeflow.steward.blocked`), else those of the current published version; the headline says which.
"""

from __future__ import annotations

import polars as pl
import typer
from rich.table import Table

from pledgeflow.cli.common import add_columns, cells, console, err_console
from pledgeflow.settings import Settings

FAILURE_COLUMNS = ["state", "dataset", "source_file", "source_row", "column", "rule", "value", "message_ko", "message_en"]
OPEN_STATES = ("new", "persisting")  # failures nobody has decided on yet: their records are quarantined


def print_failures(failures: pl.DataFrame, title: str, limit: int = 200) -> None:
    table = Table(title=title, title_justify="left")
    columns = [c for c in FAILURE_COLUMNS if c in failures.columns]
    add_columns(table, columns, {"value", "message_ko", "message_en"})
    for row in failures.head(limit).select(columns).iter_rows():
        table.add_row(*cells(row))
    console.print(table)
    if failures.height > limit:
        console.print(f"... and {failures.height - limit} more (--limit)")


def failures_to_show(settings: Settings) -> tuple[pl.DataFrame, dict]:
    """The failures a steward acts on now: those of the last blocked run when no run has published since,
    else those of the current published version; with which run they are from."""
    from pledgeflow.publish.version import read_current
    from pledgeflow.steward.blocked import latest_blocked, read_blocked_failures

    current = settings.curated_dir / "current"
    published = read_current(settings.curated_dir, "validation_failures")
    version = current.resolve().name if published is not None else None
    blocked = latest_blocked(settings.state_dir)
    if blocked and (version is None or blocked["run_number"] > int(version.lstrip("v"))):
        return read_blocked_failures(blocked), {
            "source": "blocked_run", "run_id": blocked["run_id"], "version": None, "blocked_reason": blocked["reason"],
            "review_pack": blocked["review_pack"], "current_version": version}
    if published is None:
        err_console.print("[red]Nothing published yet.[/] Run `pledgeflow run` first.")
        raise typer.Exit(2)
    return published, {"source": "published", "run_id": f"run-{version.lstrip('v')}", "version": version,
                       "blocked_reason": None, "review_pack": str(current / "review" / "review_pack.html"),
                       "current_version": version}


def count_states(frame: pl.DataFrame) -> dict:
    """Quarantined records (open error failures), and failures per state."""
    open_errors = frame.filter(pl.col("state").is_in(OPEN_STATES) & (pl.col("severity") == "error"))
    by_state = dict(frame.group_by("state").len().sort("state").iter_rows())
    return {"records_quarantined": open_errors.select("dataset", "source_file", "source_row").unique().height,
            "open_failures": frame.filter(pl.col("state").is_in(OPEN_STATES)).height,
            "failures_by_state": {state: by_state.get(state, 0) for state in sorted(by_state)}}


def failures_headline(context: dict, counts: dict, dataset: str | None) -> str:
    where = (f"Run {context['run_id']} was BLOCKED (nothing published: {context['blocked_reason']}); these are the "
             f"failures that blocked it" if context["source"] == "blocked_run"
             else f"Published version {context['version']} ({context['run_id']})")
    states = ", ".join(f"{state} {n}" for state, n in counts["failures_by_state"].items()) or "none"
    return (f"{where}{' — ' + dataset if dataset else ''}: {counts['records_quarantined']} records quarantined, "
            f"{counts['open_failures']} open failures (failures by state: {states})")


def step_durations(expr: pl.Expr) -> pl.Expr:
    """'{"aggregate": 0.41, "discover": 0.02}' -> 'discover 0.0s, …' in the flow's order (unknown steps last)."""
    order = ["discover", "ingest", "settle", "aggregate", "reconcile", "publish"]
    steps = expr.fill_null("{}").str.json_decode(pl.Struct({name: pl.Float64 for name in order}))
    parts = [pl.when(steps.struct.field(n).is_not_null()).then(pl.format(f"{n} {{}}s", steps.struct.field(n).round(1)))
             for n in order]
    return pl.concat_str(parts, separator=", ", ignore_nulls=True)
