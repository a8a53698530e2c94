"""Indicator aggregation: valid records -> one row per pledge, sub-project, indicator and period.

An indicator counts the valid records of its source dataset by sub-project and
by the period its date falls in. Targets and reported figures come from the
report register; the records never borrow a number from the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.aggregate.measures import GROUP, count_records, measure_cells
from pledgeflow.catalog import Catalog
from pledgeflow.card.figures import report_results, report_targets
from pledgeflow.contracts import Rows, conform, pick_rows
from pledgeflow.korean import HALF_UP

if TYPE_CHECKING:
    from pledgeflow.card.register import Report
    from pledgeflow.project import Project
    from pledgeflow.settle import Settled


def build_indicators(
    valid: dict[str, Rows],
    quarantined: dict[str, pl.DataFrame],
    targets: pl.DataFrame,
    results: pl.DataFrame,
    catalog: Catalog,
    contract: dict[str, pl.DataType],
    decided: dict[str, dict[str, Rows]] | None = None,
) -> pl.DataFrame:
    """The curated `indicators` table (its `contract`), sorted.

    valid / quarantined: rows per dataset; targets: card.report_targets(); results: card.report_results();
    decided: column name -> rows per dataset that a steward's decision moved (waived, corrected, excluded).
    A ratio indicator keeps its numerator in `actual` / `cumulative_actual`, its denominator beside it, and the
    ratio in `actual_pct` / `cumulative_pct`; the achievement rate follows the indicator's `rate_definition`.
    A cumulative value is what the periods to date counted together: for a distinct count, each value once.
    """
    periods = catalog.periods_frame.rename({"start_date": "period_start_date", "end_date": "period_end_date"})
    cells = catalog.indicators_frame.join(catalog.subprojects_frame, on=["pledge_id", "subproject_id"]).join(periods, on="pledge_id")
    measured = measure_cells(valid, catalog, "actual")
    if "actual__den" not in measured.columns:
        measured = measured.with_columns(pl.lit(None, pl.Int64).alias(c) for c in ("actual__den", "actual__den__new"))
    table = (
        cells.join(measured.rename({"actual__den": "denominator"}), on=[*GROUP, "period"], how="left")
        .join(newest_record_date(valid, catalog), on="pledge_id", how="left")
        .join(count_records(quarantined, catalog, "excluded_records"), on=[*GROUP, "period"], how="left")
        .join(targets.select(*GROUP, "period", "target"), on=[*GROUP, "period"], how="left")
        .join(targets.select(*GROUP, "total_target").unique(), on=GROUP, how="left")
        .join(results.select(*GROUP, "period", "reported_actual"), on=[*GROUP, "period"], how="left")
    )
    for name, records in (decided or {}).items():
        table = table.join(count_records(records, catalog, name), on=[*GROUP, "period"], how="left")
    is_ratio = pl.col("measure_kind") == "ratio"
    table = (
        table.with_columns(pl.col("actual", "excluded_records", "actual__new", *(decided or {})).fill_null(0),
                           *(pl.when(is_ratio).then(pl.col(c).fill_null(0)).alias(c) for c in ("denominator", "actual__den__new")))
        .sort([*GROUP, "period_order"])
        # running totals of what each period adds: its value, or for a distinct count the values new in it
        .with_columns(pl.col("actual__new").cum_sum().over(GROUP).alias("cumulative_actual"),
                      pl.col("actual__den__new").cum_sum().over(GROUP).alias("cumulative_denominator"))
        .with_columns(percent("actual", "denominator").alias("actual_pct"),
                      percent("cumulative_actual", "cumulative_denominator").alias("cumulative_pct"))
        .with_columns(achievement_rate().alias("achievement_rate_pct"), indicator_status().alias("status"))
    )
    return conform(table, contract).sort([*GROUP, "period_order"])


def percent(numerator: str, denominator: str) -> pl.Expr:
    """numerator / denominator x 100, rounded to 0.1 (null without a denominator: a ratio of nothing is not 0%)."""
    return pl.when(pl.col(denominator) > 0).then((pl.col(numerator) / pl.col(denominator) * 100).round(1, mode=HALF_UP))


def achievement_rate() -> pl.Expr:
    """The achievement rate as the indicator's card defines it (`rate_definition`), in percent to 0.1.

    cumulative_over_total: cumulative ÷ the total target; period_over_target: the period's value ÷ its target;
    cumulative_over_target: cumulative ÷ the period's (cumulative) target. A ratio indicator uses its ratio as the value.
    """
    ratio = pl.col("measure_kind") == "ratio"
    period_value = pl.when(ratio).then(pl.col("actual_pct")).otherwise(pl.col("actual"))
    cumulative = pl.when(ratio).then(pl.col("cumulative_pct")).otherwise(pl.col("cumulative_actual"))
    definition = pl.col("rate_definition")
    return (
        pl.when(definition == "period_over_target").then(period_value / pl.col("target"))
        .when(definition == "cumulative_over_target").then(cumulative / pl.col("target"))
        .otherwise(cumulative / pl.col("total_target")) * 100
    ).round(1, mode=HALF_UP)


def build_holdbacks(quarantined: dict[str, pl.DataFrame], failures: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """What quarantine costs each indicator: per pledge, sub-project, indicator, period and rule, the records held back.

    A record held back by two rules counts under both; `indicators.excluded_records` counts it once.
    Records whose sub-project or date did not parse cannot be placed in a cell and are not counted here.
    """
    errors = failures.filter(pl.col("severity") == "error").select("dataset", "source_file", "source_row", "rule").unique()
    with_rules = {
        dataset: rows.join(errors.filter(pl.col("dataset") == dataset).drop("dataset"), on=["source_file", "source_row"])
        for dataset, rows in quarantined.items() if rows.height
    }
    counted = count_records(with_rules, catalog, "held_back_records", by=("rule",))
    return counted.sort([*GROUP, "period", "rule"])


def newest_record_date(valid: dict[str, Rows], catalog: Catalog) -> pl.DataFrame:
    """pledge_id, newest_record_date: the latest date among the records each pledge's indicators count (periods
    after it have not started). Per pledge: one district's late delivery says nothing about another's periods."""
    parts = [
        valid[source].lazy().filter(pl.col("subproject_id").is_in(subprojects))
        .select(pl.col("subproject_id").replace_strict(catalog.pledge_of_subproject, return_dtype=pl.String).alias("pledge_id"),
                pl.col(column).alias("newest_record_date"))
        .group_by("pledge_id").agg(pl.col("newest_record_date").max())
        for (source, column), subprojects in _dated_sources(catalog).items() if source in valid
    ]
    schema = {"pledge_id": pl.String, "newest_record_date": pl.Date}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([q.cast(schema) for q in parts]).group_by("pledge_id").agg(pl.col("newest_record_date").max()).collect()


def _dated_sources(catalog: Catalog) -> dict[tuple[str, str], list[str]]:
    sources: dict[tuple[str, str], list[str]] = {}
    for source, column, subproject in catalog.indicators_frame.select("source_dataset", "date_column", "subproject_id").unique().sort(pl.all()).iter_rows():
        sources.setdefault((source, column), []).append(subproject)
    return sources


def indicator_status() -> pl.Expr:
    """not_started (period begins after the newest record) | no_target | met | below_target.

    The period's value meets a per-period target; the cumulative value meets a cumulative one (a ratio: its percent).
    """
    started = (pl.col("period_start_date") <= pl.col("newest_record_date")).fill_null(False)
    ratio, cumulative = pl.col("measure_kind") == "ratio", pl.col("target_semantics") == "cumulative"
    value = (pl.when(cumulative & ratio).then(pl.col("cumulative_pct")).when(cumulative).then(pl.col("cumulative_actual"))
             .when(ratio).then(pl.col("actual_pct")).otherwise(pl.col("actual")))
    return (
        pl.when(~started).then(pl.lit("not_started"))
        .when(pl.col("target").is_null()).then(pl.lit("no_target"))
        .when(value >= pl.col("target")).then(pl.lit("met"))
        .otherwise(pl.lit("below_target"))
    )


def count_indicators(settled: Settled, report: Report, project: Project) -> pl.DataFrame:
    """A run's `indicators` table: counted from its valid records, with what quarantine and the stewards' decisions moved."""
    def moved(state: str) -> dict[str, pl.DataFrame]:
        keys = settled.dispositions.filter(pl.col("state") == state)
        return {d: pick_rows(frame, mine) for d, frame in settled.valid.items()
                if not (mine := keys.filter(pl.col("dataset") == d).drop("dataset", "state")).is_empty()}

    decided = {"waived_records": moved("waived"), "corrected_records": moved("corrected"),
               "decision_excluded_records": settled.excluded}
    return build_indicators(settled.valid, settled.quarantined, report_targets(report), report_results(report),
                            project.catalog, project.contract("indicators"), decided)
