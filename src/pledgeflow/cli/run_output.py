"""What `pledgeflow run` prints: a refusal before the flow starts, a run that published nothing, the published
indicators and the run's summary. No Prefect here: a refused catalog never pays for its import.
"""

from __future__ import annotations

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from pledgeflow.cli.common import cells, console
from pledgeflow.errors import EXIT_AUDIT, EXIT_BLOCKED, EXIT_BUSY, CatalogError, exit_code_of
from pledgeflow.settings import Settings


def refuse_broken_catalog(settings: Settings, wait: float) -> None:
    """A catalog the run would refuse stops it here, recorded in the run history as the flow records it (exit 3)."""
    from pledgeflow.catalog import load_catalog

    try:
        load_catalog(settings.schemas_dir)
    except CatalogError as refused:
        from pledgeflow.run.bookkeeping import record_refused
        from pledgeflow.run.lock import run_lock

        with run_lock(settings.state_dir, wait):  # the run's number is taken under the lock, as the flow takes it
            record_refused(settings, refused)
        stop_unpublished(settings, refused)


def stop_unpublished(settings: Settings, error: BaseException) -> None:
    """What a run that published nothing says, and its exit code (3 blocked by data, 4 by the audit, 5 busy, 1)."""
    code = exit_code_of(error)
    what = {EXIT_BLOCKED: "blocked by its data", EXIT_AUDIT: "blocked by the audit", EXIT_BUSY: "not started"}.get(code, "failed")
    console.print(f"[bold red]Run {what}[/] (exit {code}): {escape(str(error))}", soft_wrap=True)
    console.print("Nothing was published; the previous curated version is still current.")
    if code == EXIT_BLOCKED:
        print_blocked_pack(settings)
    raise typer.Exit(code)


def print_blocked_pack(settings: Settings) -> None:
    """Where the failures that blocked this run are, when it was blocked by them (not by an unreadable register)."""
    from pledgeflow.run.history import next_run_number
    from pledgeflow.steward.blocked import latest_blocked

    blocked = latest_blocked(settings.state_dir)
    if blocked and blocked["run_number"] == next_run_number(settings.state_dir) - 1:
        console.print(f"The failures that blocked it: `pledgeflow failures`; review pack: [bold]{blocked['review_pack']}[/]",
                      soft_wrap=True)


def print_indicators(settings: Settings, many: int = 3) -> None:
    """The published indicators; a project of more than `many` pledges shows each indicator cell's latest started
    period (the table keeps every period). Pledge and indicator columns appear when there is more than one."""
    from pledgeflow.publish.version import read_current

    frame = read_current(settings.curated_dir, "indicators")
    title = "Indicators from records (공약달성 확인지표)"
    if frame["pledge_id"].n_unique() > many:
        frame = (frame.filter(pl.col("status") != "not_started").sort("period_order")
                 .group_by("pledge_id", "subproject_id", "indicator_id", maintain_order=True).last())
        title += f" — latest started period of {frame.height} cells; every period: curated/current/indicators.parquet"
    shown = {"pledge_id": "pledge"} if frame["pledge_id"].n_unique() > 1 else {}
    shown |= {"subproject_id": "sub-project"} | ({"indicator_id": "indicator"} if frame["indicator_id"].n_unique() > 1 else {})
    columns = shown | {"period": "기간", "target": "목표", "actual": "실적 records", "reported_actual": "실적 card",
                       "cumulative_actual": "누적", "total_target": "총목표", "achievement_rate_pct": "이행률 %",
                       "excluded_records": "held back", "status": "status"}
    table = Table(title=title)
    for header in columns.values():
        table.add_column(header, overflow="fold")
    for row in frame.select(list(columns)).iter_rows():
        table.add_row(*cells(row))
    console.print(table)


def print_summary(summary: dict) -> None:
    table = Table(title=f"pledgeflow {summary['run_id']}: {summary['status']}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"Curated tables: [bold]{summary['curated_path']}[/] (parquet + pledgeflow.duckdb)")
