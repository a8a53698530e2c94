"""What a run tells people: its log lines about the settled records and its Prefect artifacts.

The contents are built here as plain text and rows; `create_run_artifacts` hands them to Prefect
(imported there only), so the flow stays free of logic.
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


def log_settled(logger, settled) -> None:
    """One sentence per dataset and one for the decisions: WARNING where rows were quarantined."""
    per_dataset = settled.file_counts.group_by("dataset").agg(pl.col("rows_valid", "rows_quarantined", "rows_excluded").sum())
    for dataset, valid, quarantined, excluded in per_dataset.sort("dataset").iter_rows():
        log = logger.warning if quarantined else logger.info
        log("%s: %d valid, %d quarantined, %d excluded by a steward's decision.", dataset, valid, quarantined, excluded)
    outcomes = settled.decisions.group_by("outcome").len().sort("outcome").rows()
    said = ", ".join(f"{count} {outcome}" for outcome, count in outcomes) or "none in the ledger"
    logger.info("Steward decisions: %s.", said)


def create_run_artifacts(summary: dict, tables: dict[str, pl.DataFrame]) -> None:
    """Prefect artifacts: summary, failures by dataset and rule, reconciliation, links to the review pack and docs."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    create_markdown_artifact(summary_markdown(summary), key="pledgeflow-run-summary", description="pledgeflow nightly run")
    create_table_artifact(failures_by_rule(tables["validation_failures"]), key="pledgeflow-failures",
                          description="Validation failures by dataset, rule and state")
    create_markdown_artifact(reconciliation_markdown(tables["reconciliation"]), key="pledgeflow-reconciliation",
                             description="Reconciliation: records vs report and the report's own arithmetic")
    create_link_artifact(file_link(summary["review_pack"]), link_text="Review pack (검토 자료)", key="pledgeflow-review-pack")
    create_link_artifact(file_link(summary["data_docs"]), link_text="Data Docs (audit)", key="pledgeflow-data-docs")
