"""Indicator aggregation: valid records -> one row per pledge, sub-project, indicator and period.

An indicator counts the valid records of its source dataset by sub-project and
by the period its date falls in. Targets and reported figures come from the
report register; the records never borrow a number from the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json

import polars as pl

from pledgeflow.catalog import Catalog, period_of
from pledgeflow.catalog_model import AGE_BAND_FILTER
from pledgeflow.card.figures import report_results, report_targets
from pledgeflow.contracts import INDICATOR_KEY, Rows, conform, pick_rows

if TYPE_CHECKING:
    from pledgeflow.card.register import Report
    from pledgeflow.project import Project
    from pledgeflow.settle import Settled

GROUP = INDICATOR_KEY


def indicator_groups(catalog: Catalog) -> dict[tuple, dict]:
    """Indicators that measure the same thing the same way (source, date column, filters, measure), across pledges.

    One query per group, whatever the number of pledges: 25 districts counting placements by hire date is one pass.
    """
    groups: dict[tuple, dict] = {}
    for p in catalog.pledges:
        for i in p["indicators"]:
            key = (i["source_dataset"], i["date_column"], json.dumps(i["filters"], sort_keys=True, default=str),
                   json.dumps(i["measure"], sort_keys=True, default=str))
            group = groups.setdefault(key, {"indicator": i, "cells": []})
            group["cells"] += [(p["pledge_id"], sp, i["indicator_id"]) for sp in i["subprojects"]]
    return groups


def filter_expr(filters: dict, date_column: str, catalog: Catalog) -> pl.Expr:
    """An indicator's filters as one polars condition: `column: [values]`, or `age_band: <band>` (year of the date - birth_year)."""
    conditions = [pl.lit(True)]
    for column, values in sorted(filters.items()):
        if column == AGE_BAND_FILTER:
            band = catalog.age_bands[values]
            age = pl.col(date_column).dt.year().cast(pl.Int64) - pl.col("birth_year")
            conditions.append(age.is_between(band["min_age"], band["max_age"]))
        else:
            conditions.append(pl.col(column).is_in(values if isinstance(values, list) else [values]))
    return pl.all_horizontal(conditions)


def measure_aggs(measure: dict, name: str) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
    """A measure as (per record day, then per period) aggregations when it adds up, and as direct aggregations over
    the records (needed by a distinct count); into column `name` (a ratio: `name` and `name`__den)."""
    if measure["kind"] == "ratio":
        sides = [measure_aggs(measure[side], col) for side, col in (("numerator", name), ("denominator", f"{name}__den"))]
        return tuple([*sides[0][k], *sides[1][k]] for k in range(3))
    where, column = measure.get("__where"), measure.get("column")
    if measure["kind"] == "count":
        direct = pl.len() if where is None else where.sum()
    elif measure["kind"] == "sum":
        direct = pl.col(column).sum() if where is None else pl.col(column).filter(where).sum()
    else:
        values = pl.col(column) if where is None else pl.col(column).filter(where)
        return [], [], [values.drop_nulls().n_unique().cast(pl.Int64).alias(name)]
    direct = direct.cast(pl.Int64).alias(name)
    return [direct], [pl.col(name).sum().alias(name)], [direct]


def measure_cells(records: dict[str, Rows], catalog: Catalog, name: str, by: tuple[str, ...] = (),
                  measured: bool = True) -> pl.DataFrame:
    """Per pledge, sub-project, indicator and period (and `by`) the indicator's measure over `records` -> column `name`.

    `measured=False` counts the records each indicator cell takes in (what quarantine or a decision moved), whatever
    the measure. Ratio measures add `name`__den. Additive measures are summed per record day first (millions of
    records become thousands of days), then placed in the period of their own pledge's grid.
    """
    parts = []
    for (source, date_column, _, _), group in indicator_groups(catalog).items():
        rows = records.get(source)
        if rows is None:
            continue
        indicator = group["indicator"]
        measure = resolve_side_filters(indicator["measure"], catalog, date_column) if measured else {"kind": "count"}
        cells = pl.DataFrame(group["cells"], schema=GROUP, orient="row")
        subprojects = cells["subproject_id"].unique().to_list()
        base = rows.lazy().filter(pl.col("subproject_id").is_in(subprojects) & filter_expr(indicator["filters"], date_column, catalog))
        daily, final, direct = measure_aggs(measure, name)
        keys = ["subproject_id", *by]
        additive = len(daily) == len(direct)
        if additive:
            base = base.group_by(*keys, date_column).agg(daily)
        values = (base.with_columns(period_of(date_column, catalog)).filter(pl.col("period").is_not_null())
                  .group_by(*keys, "period").agg(final if additive else direct))
        parts.append(cells.lazy().join(values, on="subproject_id"))
    ratio = any(g["indicator"]["measure"]["kind"] == "ratio" for g in indicator_groups(catalog).values()) and measured
    schema = {**{c: pl.String for c in GROUP}, "period": pl.String, **{c: pl.String for c in by}, name: pl.Int64,
              **({f"{name}__den": pl.Int64} if ratio else {})}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.with_columns([pl.lit(None, pl.Int64).alias(c) for c in schema if c not in p.collect_schema()]).select(list(schema)).cast(schema)
                      for p in parts]).collect()


def resolve_side_filters(measure: dict, catalog: Catalog, date_column: str) -> dict:
    """A ratio's sides carry their own filters: compile them with the catalog (age bands) once."""
    if measure["kind"] != "ratio":
        return measure
    sides = {side: {**measure[side], "__where": filter_expr(measure[side]["filters"], date_column, catalog) if measure[side].get("filters") else None}
             for side in ("numerator", "denominator")}
    return {**measure, **sides}


def count_records(records: dict[str, Rows], catalog: Catalog, name: str, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Records per pledge, sub-project, indicator and period (and `by`) that each indicator cell takes in -> column `name`."""
    return measure_cells(records, catalog, name, by, measured=False)


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
    """
    periods = catalog.periods_frame.rename({"start_date": "period_start_date", "end_date": "period_end_date"})
    cells = catalog.indicators_frame.join(catalog.subprojects_frame, on=["pledge_id", "subproject_id"]).join(periods, on="pledge_id")
    measured = measure_cells(valid, catalog, "actual")
    if "actual__den" not in measured.columns:
        measured = measured.with_columns(pl.lit(None, pl.Int64).alias("actual__den"))
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
        table.with_columns(pl.col("actual", "excluded_records", *(decided or {})).fill_null(0),
                           pl.when(is_ratio).then(pl.col("denominator").fill_null(0)).alias("denominator"))
        .sort([*GROUP, "period_order"])
        .with_columns(pl.col("actual").cum_sum().over(GROUP).alias("cumulative_actual"),
                      pl.col("denominator").cum_sum().over(GROUP).alias("cumulative_denominator"))
        .with_columns(percent("actual", "denominator").alias("actual_pct"),
                      percent("cumulative_actual", "cumulative_denominator").alias("cumulative_pct"))
        .with_columns(achievement_rate().alias("achievement_rate_pct"), indicator_status().alias("status"))
    )
    return conform(table, contract).sort([*GROUP, "period_order"])


def percent(numerator: str, denominator: str) -> pl.Expr:
    """numerator / denominator x 100, rounded to 0.1 (null without a denominator: a ratio of nothing is not 0%)."""
    return pl.when(pl.col(denominator) > 0).then((pl.col(numerator) / pl.col(denominator) * 100).round(1))


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
    ).round(1)


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
