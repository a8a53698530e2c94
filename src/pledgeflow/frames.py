"""Column contracts of the frames that pass between stages.

Each stage module builds or consumes these; keeping the lists in one place
stops two modules from drifting apart on a column name or dtype.
"""

from __future__ import annotations

import polars as pl

ROW = "_row"  # position of a row in one delivery's frame: ties failures back to their cells

# One row per (record, column, rule) that failed; file-level failures have a null source_row.
FAILURE_SCHEMA = {
    "dataset": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "record_key": pl.String,
    "record_id": pl.String,  # the delivered record's content digest (16 hex): what decisions refer to
    "column": pl.String,
    "rule": pl.String,
    "value": pl.String,  # always masked before it lands here
    "severity": pl.String,  # error | warning
    "message_ko": pl.String,
    "message_en": pl.String,
}


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast `frame` to exactly `schema` (missing columns become nulls)."""
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


Rows = pl.DataFrame | pl.LazyFrame  # a run's valid rows are lazy: queries over the cache's parquet files


def as_kind(template: Rows, query: pl.LazyFrame, sort: list[str] | None = None) -> Rows:
    """`query` as the same kind of frame as `template`: still lazy, or collected (and sorted by `sort`).

    A nightly run keeps its valid rows on disk and lets each consumer read only the columns it needs;
    a frame passed in (a test, one delivery) comes back as a frame, in a stable order.
    """
    if isinstance(template, pl.LazyFrame):
        return query
    frame = query.collect()
    return frame.sort(sort) if sort else frame


def pick_rows(rows: Rows, keys: pl.DataFrame, on: tuple[str, ...] = ("source_file", "source_row")) -> pl.DataFrame:
    """The rows at `keys` (a few), every column, read without decoding the other rows' columns.

    A hash filter is a predicate, which the parquet reader can apply before it decodes the other
    columns (a semi-join cannot be pushed into the scan): at 10M rows it read 143,000 rows in 0.46 GB
    against 1.0 GB for the semi-join alone. The join afterwards makes a hash collision harmless.
    """
    types = rows.lazy().collect_schema()
    wanted = keys.select(pl.col(c).cast(types[c]) for c in on).unique()  # equal values hash equal only at one dtype
    hashes = wanted.select(pl.struct(*on).hash()).to_series().implode()
    picked = rows.lazy().filter(pl.struct(*on).hash().is_in(hashes))
    return picked.join(wanted.lazy(), on=list(on), how="semi").collect()


# ---- curated tables (the contract dashboards read; pandera YAML in schemas/curated/) ----

INDICATORS_SCHEMA = {
    "pledge_id": pl.String,
    "subproject_id": pl.String,
    "subproject_name_ko": pl.String,
    "indicator_id": pl.String,
    "indicator_name_ko": pl.String,
    "unit": pl.String,
    "period": pl.String,  # as the card prints it: "2018" … "2022.6."
    "period_order": pl.Int32,
    "period_start_date": pl.Date,
    "period_end_date": pl.Date,
    "target": pl.Int64,  # null where the card prints "-"
    "actual": pl.Int64,  # counted from valid records
    "reported_actual": pl.Int64,  # as the card reports it; null where it reports nothing
    "cumulative_actual": pl.Int64,
    "total_target": pl.Int64,
    "achievement_rate_pct": pl.Float64,  # cumulative_actual / total_target * 100, 1 decimal
    "excluded_records": pl.Int64,  # records of this cell held back by quarantine
    "waived_records": pl.Int64,  # of `actual`, records counted because a steward waived their failures
    "corrected_records": pl.Int64,  # of `actual`, records counted after a steward's correction
    "decision_excluded_records": pl.Int64,  # records a steward's exclude decision keeps out of `actual`
    "status": pl.String,  # met | below_target | no_target | not_started
}

INDICATOR_HOLDBACKS_SCHEMA = {
    "pledge_id": pl.String,
    "subproject_id": pl.String,
    "indicator_id": pl.String,
    "period": pl.String,
    "rule": pl.String,
    "held_back_records": pl.Int64,
}

FAILURE_TREND_SCHEMA = {
    "run_number": pl.Int64,
    "dataset": pl.String,
    "new": pl.Int64,
    "persisting": pl.Int64,
    "waived": pl.Int64,
    "corrected": pl.Int64,
    "excluded": pl.Int64,
    "resolved": pl.Int64,
}

BUDGET_SCHEMA = {
    "pledge_id": pl.String,
    "subproject_id": pl.String,  # "total" for the card's 계 rows
    "subproject_name_ko": pl.String,
    "funding_source": pl.String,  # total | district | city | national
    "funding_source_ko": pl.String,  # 계 | 구비 | 시비 | 국비
    "period": pl.String,  # "total" for the card's 계 column
    "amount_million_krw": pl.Int64,  # null where the card prints "-"
    "amount_text": pl.String,  # exactly as printed
}

RECONCILIATION_SCHEMA = {
    "check_id": pl.String,  # stable id: kind/rule/subject/period
    "kind": pl.String,  # records_vs_report | report_arithmetic | report_format | report_consistency
    "rule": pl.String,
    "subject": pl.String,
    "period": pl.String,
    "expected": pl.Float64,
    "observed": pl.Float64,
    "difference": pl.Float64,  # observed - expected
    "observed_text": pl.String,  # the figure as printed, when it comes from the report
    "source_ref": pl.String,  # e.g. "raw/reported/budget.csv:5"
    "status": pl.String,  # match | mismatch | not_reported | malformed
    "message_ko": pl.String,
    "message_en": pl.String,
}

VALIDATION_FAILURES_SCHEMA = {
    **FAILURE_SCHEMA,
    "fingerprint": pl.String,  # stable across reruns and re-deliveries of the same content
    "first_seen_run": pl.Int64,
    "state": pl.String,  # new | persisting | waived | corrected | excluded
}

RUNS_SCHEMA = {
    "run_number": pl.Int64,
    "run_id": pl.String,
    "started_at": pl.Datetime("us", "UTC"),  # run metadata: the only wall-clock values
    "finished_at": pl.Datetime("us", "UTC"),
    "status": pl.String,  # completed | completed_with_warnings | blocked | failed
    "message": pl.String,
    "files_read": pl.Int64,
    "files_reused": pl.Int64,
    "rows_read": pl.Int64,
    "rows_valid": pl.Int64,
    "rows_quarantined": pl.Int64,
    "mismatches": pl.Int64,
    "failures_new": pl.Int64,
    "failures_resolved": pl.Int64,
    "duration_s": pl.Float64,
    "step_seconds_json": pl.String,
    "version": pl.String,
}

# the steward decisions' lineage (pledgeflow.lineage.decision_lineage)
DECISIONS_SCHEMA = {
    "decision_id": pl.String, "action": pl.String, "dataset": pl.String, "source_file": pl.String,
    "source_row": pl.Int64, "record_id": pl.String, "column": pl.String, "new_value": pl.String,
    "decided_by": pl.String, "decided_at": pl.Datetime("us", "UTC"), "reason": pl.String,
    "expires_date": pl.Date, "outcome": pl.String, "message_ko": pl.String, "message_en": pl.String,
    "ledger_file": pl.String, "ledger_row": pl.Int64,
}

# the card's own words (pledgeflow.card_tables): read by the pledge report
PLEDGES_SCHEMA = {
    "pledge_id": pl.String,
    "pledge_no": pl.Int64,
    "district_ko": pl.String,
    "title_ko": pl.String,
    "term_start_date": pl.Date,
    "term_end_date": pl.Date,
    "as_of_date": pl.Date,  # the card's 기준일 (latest of its register tables)
    "implementation_stage_ko": pl.String,  # ticked 이행단계 options, ", "-joined; null when none
    "source_document": pl.String,
}

CARD_ATTRIBUTES_SCHEMA = {
    "pledge_id": pl.String,
    "option_order": pl.Int64,
    "attribute_ko": pl.String,
    "option_ko": pl.String,
    "selected": pl.Boolean,  # null when the mark is not one the register knows
    "selected_text": pl.String,
    "source_ref": pl.String,
}

CARD_ACTIVITIES_SCHEMA = {
    "pledge_id": pl.String,
    "activity_order": pl.Int64,
    "subproject_id": pl.String,  # null when the card's spelling is unknown to the catalog
    "activity_kind": pl.String,  # catalog channel id; null for kinds that are not a channel (기업탐방)
    "activity_kind_ko": pl.String,
    "activity_name_ko": pl.String,
    "measure": pl.String,
    "measure_ko": pl.String,
    "period": pl.String,  # "total" for 계, else the catalog period
    "period_text": pl.String,
    "value": pl.Int64,
    "value_text": pl.String,  # exactly as printed
    "unit_ko": pl.String,
    "note_ko": pl.String,
    "malformed": pl.Boolean,
    "source_ref": pl.String,
}

CURATED_SCHEMAS = {
    "indicators": INDICATORS_SCHEMA,
    "indicator_holdbacks": INDICATOR_HOLDBACKS_SCHEMA,
    "failure_trend": FAILURE_TREND_SCHEMA,
    "decisions": DECISIONS_SCHEMA,
    "budget": BUDGET_SCHEMA,
    "reconciliation": RECONCILIATION_SCHEMA,
    "validation_failures": VALIDATION_FAILURES_SCHEMA,
    "runs": RUNS_SCHEMA,
    "pledges": PLEDGES_SCHEMA,
    "card_attributes": CARD_ATTRIBUTES_SCHEMA,
    "card_activities": CARD_ACTIVITIES_SCHEMA,
}
