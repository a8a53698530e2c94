"""The card's figures as the run uses them: targets and reported results per indicator cell, and the `budget` table.

`pledgeflow.card.register` loads the register as printed; this module reshapes it for aggregation and publishing.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.card.register import FUNDING_SOURCES, Report
from pledgeflow.catalog import Catalog
from pledgeflow.contracts import INDICATOR_KEY, conform


def report_targets(report: Report) -> pl.DataFrame:
    """pledge_id, subproject_id, indicator_id, period, target, total_target: the card's 공약달성 확인지표."""
    keys = INDICATOR_KEY
    known = report.targets.filter(pl.col("indicator_id").is_not_null() & pl.col("period").is_not_null())
    totals = known.filter(pl.col("period") == "total").group_by(keys).agg(pl.col("target").first().alias("total_target"))
    return (
        known.filter(pl.col("period") != "total")
        .join(totals, on=keys, how="left")
        .select(*keys, "period", "target", "total_target")
        .sort(*keys, "period")
    )


def report_results(report: Report) -> pl.DataFrame:
    """pledge_id, subproject_id, indicator_id, period, reported_actual: the card's per-period 실적 cells."""
    return (
        report.results.filter(
            (pl.col("measure") == "actual") & pl.col("indicator_id").is_not_null()
            & pl.col("period").is_not_null() & (pl.col("period") != "total")
        )
        .select("pledge_id", "subproject_id", "indicator_id", "period", pl.col("actual").alias("reported_actual"))
        .sort("pledge_id", "subproject_id", "indicator_id", "period")
    )


def build_budget_table(report: Report, catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The curated `budget` table (its `contract`): the card's 소요예산액 as printed and as read."""
    names = catalog.subprojects_frame.select("subproject_id", "subproject_name_ko")
    source_ko = {v: k for k, v in FUNDING_SOURCES.items()}
    table = (
        report.budget.filter(pl.col("subproject_id").is_not_null() & pl.col("funding_source").is_not_null()
                             & pl.col("period").is_not_null())
        .join(names, on="subproject_id", how="left")
        .with_columns(
            pl.when(pl.col("subproject_id") == "total").then(pl.lit("계"))
            .otherwise(pl.col("subproject_name_ko")).alias("subproject_name_ko"),
            pl.col("funding_source").replace_strict(source_ko, return_dtype=pl.String).alias("funding_source_ko"),
        )
    )
    return conform(table.with_columns(budget_row_kind().alias("row_kind")), contract).sort(
        "pledge_id", "subproject_id", "funding_source", "period")


def budget_row_kind() -> pl.Expr:
    """leaf | subtotal | total: SUM over the leaf rows of a pledge is its grand total, counted once.

    A leaf is the finest cell the card prints: a period (not the 계 column) of a sub-project (not the 계
    row), by funding source where the card splits that sub-project by source. A dimension the card does
    not break down at all counts as finest at its 'total'. `total` is the 계/계/계 cell; every other row
    (the 계 column, the per-source rows across sub-projects, ...) is a subtotal of leaves.
    """
    def finest(column: str, *within: str) -> pl.Expr:
        return (pl.col(column) != "total") | ~(pl.col(column) != "total").any().over(*within)

    leaf = (finest("subproject_id", "pledge_id") & finest("funding_source", "pledge_id", "subproject_id")
            & finest("period", "pledge_id", "subproject_id", "funding_source"))
    grand = pl.all_horizontal(pl.col("subproject_id", "funding_source", "period") == "total")
    return pl.when(grand).then(pl.lit("total")).when(leaf).then(pl.lit("leaf")).otherwise(pl.lit("subtotal"))
