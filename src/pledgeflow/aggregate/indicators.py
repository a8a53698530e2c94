"""Indicator aggregation: valid records -> one row per pledge, sub-project, indicator and period.

An indicator counts the valid records of its source dataset by sub-project and
by the period its date falls in. Targets and reported figures come from the
report register; the records never borrow a number from the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.catalog import Catalog, period_of
from pledgeflow.card.figures import report_results, report_targets
from pledgeflow.contracts import INDICATOR_KEY, Rows, conform, pick_rows

if TYPE_CHECKING:
    from pledgeflow.card.register import Report
    from pledgeflow.project import Project
    from pledgeflow.settle import Settled

GROUP = INDICATOR_KEY


def count_records(records: dict[str, Rows], catalog: Catalog, name: str, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Records per pledge, sub-project, indicator and period (and `by`), for every catalog indicator -> column `name`.

    `records` maps a dataset to its rows (frames or lazy queries: only the columns counted are read); an
    indicator counts the rows of its source dataset.
    """
    parts = []
    for (source, date_column), indicators in catalog.indicators_frame.group_by(["source_dataset", "date_column"]):
        rows = records.get(source)
        if rows is None:
            continue
        counted = (
            rows.lazy().filter(pl.col("subproject_id").is_not_null())
            .group_by("subproject_id", period_of(date_column, catalog), *by).agg(pl.len().alias(name))
            .filter(pl.col("period").is_not_null())
        )
        parts.append(indicators.lazy().select(GROUP).join(counted, on="subproject_id"))
    schema = {**{c: pl.String for c in GROUP}, "period": pl.String, **{c: pl.String for c in by}, name: pl.Int64}
    return pl.concat([p.cast(schema) for p in parts]).collect() if parts else pl.DataFrame(schema=schema)


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

    valid / quarantined: rows per dataset; targets: reported.report_targets(); results: reported.report_results();
    decided: column name -> rows per dataset that a steward's decision moved (waived, corrected, excluded).
    """
    periods = catalog.periods_frame.rename({"start_date": "period_start_date", "end_date": "period_end_date"})
    cells = catalog.indicators_frame.join(catalog.subprojects_frame, on=["pledge_id", "subproject_id"]).join(periods, how="cross")
    as_of = newest_record_date(valid, catalog)
    table = (
        cells.join(count_records(valid, catalog, "actual"), on=[*GROUP, "period"], how="left")
        .join(count_records(quarantined, catalog, "excluded_records"), on=[*GROUP, "period"], how="left")
        .join(targets.select(*GROUP, "period", "target"), on=[*GROUP, "period"], how="left")
        .join(targets.select(*GROUP, "total_target").unique(), on=GROUP, how="left")
        .join(results.select(*GROUP, "period", "reported_actual"), on=[*GROUP, "period"], how="left")
    )
    for name, records in (decided or {}).items():
        table = table.join(count_records(records, catalog, name), on=[*GROUP, "period"], how="left")
    table = (
        table.with_columns(pl.col("actual", "excluded_records", *(decided or {})).fill_null(0))
        .sort([*GROUP, "period_order"])
        .with_columns(pl.col("actual").cum_sum().over(GROUP).alias("cumulative_actual"))
        .with_columns(
            (pl.col("cumulative_actual") / pl.col("total_target") * 100).round(1).alias("achievement_rate_pct"),
            indicator_status(as_of).alias("status"),
        )
    )
    return conform(table, contract).sort([*GROUP, "period_order"])


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


def newest_record_date(valid: dict[str, Rows], catalog: Catalog):
    """The latest date among the records the indicators count: periods after it have not started."""
    dates = [
        valid[source].lazy().select(pl.col(column).max()).collect().item()
        for source, column in catalog.indicators_frame.select("source_dataset", "date_column").unique().iter_rows()
        if source in valid
    ]
    return max((d for d in dates if d is not None), default=None)


def indicator_status(as_of) -> pl.Expr:
    """not_started (period begins after the newest record) | no_target | met | below_target."""
    started = pl.lit(False) if as_of is None else pl.col("period_start_date") <= pl.lit(as_of)
    return (
        pl.when(~started).then(pl.lit("not_started"))
        .when(pl.col("target").is_null()).then(pl.lit("no_target"))
        .when(pl.col("actual") >= pl.col("target")).then(pl.lit("met"))
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
