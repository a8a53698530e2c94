"""What a run tells people: its log lines about the settled records and its Prefect artifacts.

The contents are built here as plain text and rows; `create_run_artifacts` hands them to Prefect
(imported there only), so the flow stays free of logic. What an operator needs is inline (the summary,
the review pack's summary, the reconciliation's disagreements); links to the version's pages appear only
when `Settings.curated_url` (PLEDGEFLOW_CURATED_URL) says where a browser reaches curated/: a file://
path on the server's disk opens nowhere else.
"""

from __future__ import annotations

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


def review_markdown(summary: dict, failures: pl.DataFrame) -> str:
    """The review pack's summary for the operator: failing records per dataset and state, and where the pack is."""
    records = pl.struct("dataset", "record_id")
    per_dataset = (failures.group_by("dataset", "state").agg(records.n_unique().alias("records"))
                   .pivot("state", index="dataset", values="records", sort_columns=True).fill_null(0).sort("dataset"))
    states = [c for c in per_dataset.columns if c != "dataset"]
    new = failures.filter(pl.col("state") == "new").select(records.n_unique()).item() if failures.height else 0
    lines = [f"# Review pack: {failures.select(records.n_unique()).item() if failures.height else 0} records to review, {new} new",
             "", f"The steward's pack for this version is `review/review_pack.html` of {summary['version']}.", ""]
    if per_dataset.height:
        lines += ["| dataset | " + " | ".join(states) + " |", "|---" * (len(states) + 1) + "|"]
        lines += ["| " + " | ".join(escape_cell(v) for v in row) + " |" for row in per_dataset.iter_rows()]
    else:
        lines.append("No record failed validation.")
    return "\n".join(lines)


def version_links(summary: dict, curated_url: str | None) -> list[tuple[str, str, str]]:
    """(artifact key, link text, URL) of the version's pages under `curated_url`; none without it."""
    if not curated_url:
        return []
    base = f"{curated_url.rstrip('/')}/versions/{summary['version']}"
    return [("pledgeflow-review-pack", "Review pack (검토 자료)", f"{base}/review/review_pack.html"),
            ("pledgeflow-data-docs", "Data Docs (audit)", f"{base}/data_docs/index.html"),
            ("pledgeflow-pledge-report", "Pledge report (공약 보고서)", f"{base}/report/index.html"),
            ("pledgeflow-data-dictionary", "Data dictionary", f"{base}/data_dictionary.html")]


def escape_cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def warnings_sentence(summary: dict) -> str:
    """'Published v000003 with warnings: 19 rows quarantined; 2 reconciliation rows not matching.'"""
    return f"Published {summary['version']} with warnings: {summary['warnings'] or 'see the run history'}."


def log_settled(logger, settled) -> None:
    """One sentence per dataset and one for the decisions: WARNING where rows were quarantined."""
    per_dataset = settled.file_counts.group_by("dataset").agg(pl.col("rows_valid", "rows_quarantined", "rows_excluded").sum())
    for dataset, valid, quarantined, excluded in per_dataset.sort("dataset").iter_rows():
        log = logger.warning if quarantined else logger.info
        log("%s: %d valid, %d quarantined, %d excluded by a steward's decision.", dataset, valid, quarantined, excluded)
    outcomes = settled.decisions.group_by("outcome").len().sort("outcome").rows()
    said = ", ".join(f"{count} {outcome}" for outcome, count in outcomes) or "none in the ledger"
    logger.info("Steward decisions: %s.", said)


def create_run_artifacts(summary: dict, tables: dict[str, pl.DataFrame], curated_url: str | None = None) -> None:
    """Prefect artifacts: summary, review pack summary, failures by rule, reconciliation; links only to reachable pages."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    create_markdown_artifact(summary_markdown(summary), key="pledgeflow-run-summary", description="pledgeflow nightly run")
    create_markdown_artifact(review_markdown(summary, tables["validation_failures"]), key="pledgeflow-review",
                             description="What the data steward has to review")
    create_table_artifact(failures_by_rule(tables["validation_failures"]), key="pledgeflow-failures",
                          description="Validation failures by dataset, rule and state")
    create_markdown_artifact(reconciliation_markdown(tables["reconciliation"]), key="pledgeflow-reconciliation",
                             description="Reconciliation: records vs report and the report's own arithmetic")
    for key, text, url in version_links(summary, curated_url):
        create_link_artifact(url, link_text=text, key=key)
