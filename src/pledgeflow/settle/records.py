"""Settling the night's records: combine deliveries, apply steward decisions, run cross-dataset checks.

Order matters and follows DESIGN's flow: corrections are applied to the records
as delivered and re-validated first (a corrected record then meets the same
cross-dataset checks as any other); waivers and exclusions come last, so a
steward can waive a cross-dataset failure too. Every row of every file ends in
exactly one of valid, quarantined or excluded; `file_counts` says so per file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from pledgeflow.contracts import Rows
from pledgeflow.ingest.deliver import DeliveryResult, combine_results
from pledgeflow.ingest.sheets import sheet_source
from pledgeflow.ingest.validate import typed_view
from pledgeflow.project import Project
from pledgeflow.settle.cross_checks import apply_cross_checks, locate_cited_events
from pledgeflow.steward import decisions, ledger, lineage

KEY = ["dataset", "source_file", "source_row"]
COUNTS_SCHEMA = {  # DeliveryResult.counts, typed even when a run finds no file at all
    "dataset": pl.String, "source_file": pl.String, "rows_read": pl.Int64, "rows_valid": pl.Int64,
    "rows_quarantined": pl.Int64, "blank_rows": pl.Int64, "encoding": pl.String, "header_row": pl.Int64,
    "unmapped_headers": pl.List(pl.String), "file_error": pl.String,
    "total_rows": pl.Int64, "repeated_header_rows": pl.Int64, "rows_below_header": pl.Int64, "cancelled_rows": pl.Int64, "sheets": pl.List(pl.String),
    "skipped_sheets": pl.List(pl.String),
    "profile": pl.String,
    "unknown_columns": pl.List(pl.Struct({"header": pl.String, "suggestion": pl.String, "column": pl.String})),
    "defaults_applied": pl.List(pl.String), "delivery_facts": pl.List(pl.List(pl.String)),
    "declared_totals": pl.List(pl.Struct({"source_file": pl.String, "source_row": pl.Int64, "column": pl.String,
                                          "declared": pl.Int64, "observed": pl.Int64})),
}


@dataclass(frozen=True)
class Settled:
    """All deliveries after validation, steward decisions and cross-dataset checks."""

    valid: dict[str, Rows]  # lazy in a run: read per query, only the columns it needs
    quarantined: dict[str, pl.DataFrame]
    excluded: dict[str, pl.DataFrame]  # kept out of the indicators by a steward's exclude decision
    failures: pl.DataFrame
    file_counts: pl.DataFrame
    delivered: dict[str, pl.DataFrame]  # quarantined rows as delivered (masked), for the review pack
    decisions: pl.DataFrame  # lineage: one row per decision and its outcome
    dispositions: pl.DataFrame  # dataset, source_file, source_row, state (waived | corrected | excluded)
    corrected_failures: pl.DataFrame  # failures a correction made go away (listed with state corrected)
    # quarantined records a steward corrected, as delivered before the correction: the review pack's "before"
    originals: dict[str, pl.DataFrame] = field(default_factory=dict)


def settle_records(results: list[DeliveryResult], project: Project, as_of: date) -> Settled:
    """Combine per-file results, apply the decisions in `raw/decisions/` and the cross-checks; counts per file stay exact.

    `as_of` is the run's date in Seoul: a waiver expires by it.
    """
    catalog = project.catalog
    valid, held, failures = combine_results(results, project)
    delivered = {d: pl.concat([r.delivered for r in results if r.dataset == d and r.delivered.width] or
                              [typed_view(held[d], catalog.descriptors[d])]) for d in held}
    ledger_rows = ledger.load_decisions(project.settings.raw_dir / "decisions", project)
    matched = decisions.match_decisions(ledger_rows, delivered, valid, as_of)
    revalidated, corrected = decisions.apply_corrections(delivered, matched, project, valid=valid)
    merged = decisions.merge_corrections(valid, held, failures, delivered, revalidated)
    # exclusions first, so an excluded record cannot make another one its duplicate; waivers last, so a
    # steward can waive a cross-dataset failure too
    excludes, waives = (matched.filter(pl.col("action") == action) for action in ("exclude", "waive"))
    kept, held_back, excluded, dropped = decisions.apply_waivers_and_exclusions(merged.valid, merged.quarantined, excludes)
    crossed = apply_cross_checks(kept, catalog, project.rules)
    quarantined = {d: pl.concat([held_back[d], crossed.quarantined[d]]) for d in held}
    final_valid, final_held, _, waived = decisions.apply_waivers_and_exclusions(crossed.valid, quarantined, waives)
    decided = lineage.decision_lineage(project.contract("decisions"), matched, corrected, dropped, waived)
    return Settled(
        valid=final_valid,
        quarantined=final_held,
        excluded=excluded,
        failures=pl.concat([merged.failures, locate_cited_events(crossed.failures, quarantined)]),
        file_counts=count_rows(results, final_valid, final_held, excluded),
        delivered={d: pl.concat([merged.delivered[d], typed_view(crossed.quarantined[d], catalog.descriptors[d])],
                                how="vertical_relaxed").sort("source_file", "source_row") for d in held},
        decisions=decided,
        dispositions=dispositions(decided),
        corrected_failures=merged.corrected_failures,
        originals=corrected_originals(delivered, matched),
    )


def corrected_originals(delivered: dict[str, pl.DataFrame], matched: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The delivered view of every quarantined record a matched correction names, before the correction."""
    keys = matched.filter((pl.col("outcome") == "matched") & (pl.col("action") == "correct")).select(
        "dataset", pl.col("matched_source_file").alias("source_file"), pl.col("matched_source_row").alias("source_row"))
    return {d: frame.join(keys.filter(pl.col("dataset") == d).drop("dataset").unique(), on=KEY[1:], how="semi")
            for d, frame in delivered.items() if frame.width}


def count_rows(results: list[DeliveryResult], valid: dict, quarantined: dict, excluded: dict) -> pl.DataFrame:
    """Per file: rows read, and where they ended (the manifest checks read = valid + quarantined + excluded)."""
    per_file = pl.DataFrame([r.counts for r in results], schema=COUNTS_SCHEMA)
    # rows of a workbook read from several sheets name their sheet (`file.xlsx#sheet`, ingest/sheets.py)
    sheet_of = {sheet_source(r.source_file, s): r.source_file for r in results if len(r.sheets) > 1 for s in r.sheets}
    file_of = pl.col("source_file").replace(sheet_of) if sheet_of else pl.col("source_file")
    landed = [
        frame.lazy().with_columns(file_of).group_by("source_file").agg(pl.len().cast(pl.Int64).alias("rows")).with_columns(pl.lit(name).alias("bucket"))
        for name, frames in (("rows_valid", valid), ("rows_quarantined", quarantined), ("rows_excluded", excluded))
        for frame in frames.values()
    ]
    counted = pl.concat(landed).collect() if landed else pl.DataFrame()
    where = (
        counted.group_by("source_file", "bucket").agg(pl.col("rows").sum()).pivot(on="bucket", index="source_file", values="rows")
        if counted.height else pl.DataFrame(schema={"source_file": pl.String})
    )
    buckets = ["rows_valid", "rows_quarantined", "rows_excluded"]
    return (
        per_file.drop([c for c in buckets if c in per_file.columns])
        .join(where, on="source_file", how="left")
        .select(pl.exclude(buckets), *[(pl.col(b) if b in where.columns else pl.lit(None)).cast(pl.Int64).fill_null(0).alias(b)
                                       for b in buckets])  # a fixed column order, whatever order the rows landed in
        .sort("dataset", "source_file")
    )


def dispositions(lineage: pl.DataFrame) -> pl.DataFrame:
    """Records a decision changed, with the failure state it gives them."""
    state = {"waive": "waived", "correct": "corrected", "exclude": "excluded"}
    return (
        lineage.filter(pl.col("outcome") == "applied")
        .select(*KEY, pl.col("action").replace_strict(state, return_dtype=pl.String).alias("state"))
        .unique(subset=KEY, keep="last", maintain_order=True)
    )
