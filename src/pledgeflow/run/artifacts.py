"""What a run tells people: the contents of its Prefect artifacts, built here without Prefect.

The flow hands these to `create_markdown_artifact` / `create_table_artifact` /
`create_link_artifact`; keeping the content here keeps the flow free of logic.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

STATUS_ORDER = {"mismatch": 0, "malformed": 1, "not_reported": 2, "match": 3}


def summary_markdown(summary: dict) -> str:
    """The run summary as a markdown table."""
    lines = [f"# pledgeflow {summary['run_id']}: {summary['status']}", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {escape_cell(value)} |" for key, value in summary.items()]
    return "\n".join(lines)


def reconciliation_markdown(reconciliation: pl.DataFrame) -> str:
    """Reconciliation in markdown: disagreements first, then a count of what matched."""
    order = pl.col("status").replace_strict(STATUS_ORDER, default=len(STATUS_ORDER))
    off = reconciliation.filter(pl.col("status") != "match").sort(order, "check_id")
    lines = [
        f"# Reconciliation: {off.height} of {reconciliation.height} checks do not match",
        "",
        "| status | kind | subject | period | expected | observed (as printed) | 설명 | explanation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in off.iter_rows(named=True):
        observed = row["observed_text"] if row["observed_text"] is not None else row["observed"]
        cells = [row["status"], row["kind"], row["subject"], row["period"], row["expected"], observed,
                 row["message_ko"], row["message_en"]]
        lines.append("| " + " | ".join(escape_cell(c) for c in cells) + " |")
    lines += ["", f"{reconciliation.height - off.height} checks match."]
    return "\n".join(lines)


def failures_by_rule(failures: pl.DataFrame) -> list[dict]:
    """Failures counted by dataset, rule and state (rows for a table artifact)."""
    return (
        failures.group_by("dataset", "rule", "severity", "state").agg(pl.len().alias("failures"),
                                                                     pl.col("record_id").n_unique().alias("records"))
        .sort("dataset", "rule", "state").to_dicts()
    )


def file_link(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def escape_cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
