"""Valid records that no indicator counts, with the reason: nothing valid vanishes silently.

A record is counted when some indicator of its dataset lists its sub-project, its filters keep it and its
date falls in a period of its own pledge's grid. Otherwise it lands here: `no_pledge_indicator` (no indicator
of its sub-project's pledge reads this dataset), `subproject_not_counted` (the pledge's indicators on this
dataset list other sub-projects), `filtered_out` (an indicator lists the sub-project but its filters drop the
record) or `outside_periods` (the date lies outside every period of the pledge's grid). The reason is found on
the distinct combinations of the columns it depends on (thousands), then given to the records (millions).
"""

from __future__ import annotations

import polars as pl

from pledgeflow.aggregate.measures import filters_expr, readings
from pledgeflow.catalog import Catalog, period_of
from pledgeflow.catalog_model import AGE_BAND_FILTER
from pledgeflow.contracts import Rows, conform, record_id

REASONS = {
    "no_pledge_indicator": ("이 세부사업의 공약에는 이 자료를 세는 지표가 없습니다. 카탈로그에 지표를 추가하거나 자료가 맞는지 확인하세요.",
                            "No indicator of this sub-project's pledge reads this dataset: add one to the catalog or check the delivery."),
    "subproject_not_counted": ("공약의 지표가 이 세부사업을 세지 않습니다(다른 세부사업만 셉니다). 지표의 subprojects를 확인하세요.",
                               "The pledge's indicators on this dataset count other sub-projects only: check the indicator's subprojects."),
    "filtered_out": ("지표의 필터(연계경로·연령대 등)에 맞지 않아 세지 않습니다.", "The indicator's filters (channel, age band, ...) leave this record out."),
    "outside_periods": ("날짜가 공약의 어느 기간에도 들지 않습니다. 카탈로그의 기간 격자를 확인하세요.",
                        "Its date falls in no period of its pledge's grid: check the catalog's periods."),
}


def readings_of(catalog: Catalog, dataset: str) -> list[tuple[dict, dict]]:
    """(pledge, reading) for every reading of `dataset` (a ratio's side may read another dataset than its indicator)."""
    return [(p, r) for p in catalog.pledges for i in p["indicators"] for r in readings(i) if r["source_dataset"] == dataset]


def reason_expr(catalog: Catalog, dataset: str) -> pl.Expr:
    """The first reason that applies to a record of `dataset`, null when some indicator counts it."""
    pledges_reading = {p["pledge_id"] for p, _ in readings_of(catalog, dataset)}
    subs_of_reading = [s["subproject_id"] for p in catalog.pledges if p["pledge_id"] in pledges_reading for s in p["subprojects"]]
    listed, kept, counted = pl.lit(False), pl.lit(False), pl.lit(False)
    for _, reading in readings_of(catalog, dataset):
        mine = pl.col("subproject_id").is_in(reading["subprojects"])
        passes = mine & filters_expr(reading["filter_sets"], reading["date_column"], catalog).fill_null(False)
        listed, kept = listed | mine, kept | passes
        counted = counted | (passes & period_of(reading["date_column"], catalog).is_not_null())
    return (
        pl.when(~pl.col("subproject_id").is_in(subs_of_reading)).then(pl.lit("no_pledge_indicator"))
        .when(~listed).then(pl.lit("subproject_not_counted"))
        .when(~kept).then(pl.lit("filtered_out"))
        .when(~counted).then(pl.lit("outside_periods"))
    )


def depends_on(catalog: Catalog, dataset: str) -> list[str]:
    columns = {"subproject_id"}
    for _, reading in readings_of(catalog, dataset):
        columns.add(reading["date_column"])
        for column in (name for filters in reading["filter_sets"] for name in filters):
            columns |= {"birth_year"} if column == AGE_BAND_FILTER else {column}
    return sorted(columns)


def find_unassigned(valid: dict[str, Rows], catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The curated `unassigned_records` table: one row per valid record no indicator counts, sorted."""
    parts = []
    for dataset, rows in sorted(valid.items()):
        columns = depends_on(catalog, dataset)
        combos = rows.lazy().select(columns).unique().with_columns(reason_expr(catalog, dataset).alias("reason")).filter(
            pl.col("reason").is_not_null())
        found = rows.lazy().join(combos, on=columns, how="inner", nulls_equal=True)
        parts.append(found.select(
            pl.lit(dataset).alias("dataset"), "source_file", "source_row", record_id(pl.col("row_digest")).alias("record_id"),
            pl.col("subproject_id").replace_strict(catalog.pledge_of_subproject, default=None, return_dtype=pl.String).alias("pledge_id"),
            "subproject_id", "reason"))
    table = pl.concat(parts).collect() if parts else pl.DataFrame()
    messages = pl.DataFrame({"reason": list(REASONS), "message_ko": [v[0] for v in REASONS.values()],
                             "message_en": [v[1] for v in REASONS.values()]})
    if table.is_empty():
        return conform(pl.DataFrame(schema=contract), contract)
    return conform(table.join(messages, on="reason", how="left"), contract).sort("dataset", "source_file", "source_row")
