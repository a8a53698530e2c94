"""Checks GX cannot express row by row, as `derived_*` columns the suites expect to be 0 (or at most 0).

Running sums against cumulative columns, totals against their parts, one table's counts against another's:
polars computes them on the candidate version's tables, and the GX suites in `gx/expectations/` check them
like any column. A table whose derivation breaks becomes a critical outcome of the audit.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.contracts import INDICATOR_CELL, INDICATOR_KEY
from pledgeflow.korean import HALF_UP

BUDGET_KEY = ["pledge_id", "subproject_id", "funding_source", "period"]


def derive_check_columns(tables: dict[str, pl.DataFrame]) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """Each table with its `derived_*` columns, and table -> error for a table whose derivation breaks (the audit makes
    that a critical outcome)."""
    derivations = {"indicators": derive_indicator_checks, "budget": derive_budget_checks,
                   "indicator_holdbacks": derive_holdback_checks}
    checked, problems = {}, {}
    for name, frame in tables.items():
        try:
            checked[name] = derivations[name](frame, tables) if name in derivations else frame
        except pl.exceptions.PolarsError as exc:
            problems[name] = type(exc).__name__
    return checked, problems


def derive_indicator_checks(frame: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Differences that must be 0 (cumulative vs running sum, total target vs period targets, rate vs formula) or ≤ 0."""
    # Published tables are sorted by all columns, not by period: order explicitly before the running sum.
    ordered = frame.sort([*INDICATOR_KEY, "period_order"])
    # the card's own rate definition (catalog): a ratio indicator's value is its percent
    ratio = pl.col("measure_kind") == "ratio"
    period_value = pl.when(ratio).then(pl.col("actual_pct")).otherwise(pl.col("actual"))
    cumulative = pl.when(ratio).then(pl.col("cumulative_pct")).otherwise(pl.col("cumulative_actual"))
    expected_rate = (pl.when(pl.col("rate_definition") == "period_over_target").then(period_value / pl.col("target"))
                     .when(pl.col("rate_definition") == "cumulative_over_target").then(cumulative / pl.col("target"))
                     .otherwise(cumulative / pl.col("total_target")) * 100).round(1, mode=HALF_UP)
    cell = ["subproject_id", "indicator_id", "period"]
    return ordered.with_columns(
        cumulative_off_running_sum().alias("derived_cumulative_minus_running_sum"),
        (pl.col("total_target") - pl.col("target").fill_null(0).sum().over(INDICATOR_KEY)).alias("derived_total_target_minus_period_sum"),
        (pl.col("achievement_rate_pct") - expected_rate).alias("derived_rate_minus_formula"),
        (pl.col("reported_actual") - pl.col("actual")).alias("derived_reported_minus_actual"),
        (pl.col("period").n_unique().over("pledge_id").cast(pl.Int64) - pl.len().over(INDICATOR_KEY).cast(pl.Int64)).alias("derived_periods_missing"),
        (pl.col("waived_records") + pl.col("corrected_records") - pl.col("actual")).alias("derived_decided_minus_actual"),
    ).join(count_period_checks(tables.get("reconciliation")), on=cell, how="left").with_columns(
        pl.col("derived_reconciliation_rows").fill_null(0)
    )


def cumulative_off_running_sum() -> pl.Expr:
    """How far `cumulative_actual` is from what the periods to date allow: 0 when it is the running sum of `actual`.

    A distinct count (or a ratio, whose numerator may be one) counts each value once to date, so its cumulative
    value lies between the largest period so far and the running sum: outside that, the distance to the nearer bound.
    """
    running = pl.col("actual").cum_sum().over(INDICATOR_KEY)
    largest = pl.col("actual").cum_max().over(INDICATOR_KEY)
    cumulative = pl.col("cumulative_actual")
    bounded = (pl.when(cumulative > running).then(cumulative - running)
               .when(cumulative < largest).then(cumulative - largest).otherwise(0))
    return pl.when(pl.col("measure_kind").is_in(["distinct", "ratio"])).then(bounded).otherwise(cumulative - running)


def count_period_checks(reconciliation: pl.DataFrame | None) -> pl.DataFrame:
    """records_vs_report/period_actual rows per indicator cell (their subject is `indicators/<subproject>/<indicator>`)."""
    schema = {"subproject_id": pl.String, "indicator_id": pl.String, "period": pl.String, "derived_reconciliation_rows": pl.Int64}
    if reconciliation is None or reconciliation.is_empty():
        return pl.DataFrame(schema=schema)
    subject = pl.col("subject").str.split("/")
    return (
        reconciliation.filter((pl.col("kind") == "records_vs_report") & (pl.col("rule") == "period_actual"))
        .select(subject.list.get(1, null_on_oob=True).alias("subproject_id"),
                subject.list.get(2, null_on_oob=True).alias("indicator_id"), "period")
        .group_by("subproject_id", "indicator_id", "period")
        .agg(pl.len().cast(pl.Int64).alias("derived_reconciliation_rows"))
        .cast(schema)
    )


def derive_holdback_checks(frame: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per cell, the most records any one rule holds back minus indicators.excluded_records (must be ≤ 0).

    A cell absent from indicators counts as 0 excluded, so a hold-back nobody can see in indicators fails.
    """
    indicators = tables.get("indicators")
    # a duplicated indicator key is the indicators suite's failure: take its smallest count, never multiply rows
    excluded = (pl.DataFrame(schema={c: pl.String for c in INDICATOR_CELL} | {"excluded_records": pl.Int64}) if indicators is None
                else indicators.group_by(INDICATOR_CELL).agg(pl.col("excluded_records").min()))
    return (
        frame.sort([*INDICATOR_CELL, "rule"])
        .join(excluded, on=INDICATOR_CELL, how="left", maintain_order="left")
        .with_columns((pl.col("held_back_records").max().over(INDICATOR_CELL) - pl.col("excluded_records").fill_null(0))
                      .alias("derived_max_rule_minus_excluded"))
        .drop("excluded_records")
    )


def derive_budget_checks(frame: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The card's 계 figures against the sum of their parts ("-" counts as 0); null where a row is no total."""
    amount = pl.col("amount_million_krw").fill_null(0)
    is_total = pl.col("period") == "total"
    periods = amount.filter(~is_total).sum().over("pledge_id", "subproject_id", "funding_source")
    sources = amount.filter(pl.col("funding_source") != "total").sum().over("pledge_id", "subproject_id", "period")
    subprojects = amount.filter(pl.col("subproject_id") != "total").sum().over("pledge_id", "funding_source", "period")
    leaves = amount.filter(pl.col("row_kind") == "leaf").sum().over("pledge_id")  # what a dashboard's SUM gives
    return frame.sort(BUDGET_KEY).with_columns(
        pl.when(pl.col("row_kind") == "total").then(amount - leaves).alias("derived_total_minus_leaf_sum"),
        pl.when(is_total).then(amount - periods).alias("derived_total_minus_period_sum"),
        pl.when((pl.col("subproject_id") == "total") & (pl.col("funding_source") == "total"))
        .then(amount - sources).alias("derived_total_minus_source_sum"),
        pl.when((pl.col("subproject_id") == "total") & (pl.col("funding_source") == "total"))
        .then(amount - subprojects).alias("derived_total_minus_subproject_sum"),
    )
