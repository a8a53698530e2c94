"""Curated tables of what the pledge card prints besides its figures: the pledge itself, its ticked
attributes and the activities its 추진실적 text lists.

The pledge report (`pledgeflow.report`) reads only published curated tables; these builders put the
card's title, term, as-of date, 이행단계 marks and activity figures there, as printed, so the report
never has to open the register. Pure functions: `pledgeflow.card.register.Report`, the catalog and
the tables' contracts in, sorted polars frames out.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.catalog import Catalog
from pledgeflow.card.register import Report
from pledgeflow.contracts import conform

STAGE_ATTRIBUTE = "이행단계"  # the card's implementation stage; the report compares it with the records


def build_pledges_table(report: Report, catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """One row per catalog pledge: number, district, title, term, the card's as-of date and ticked 이행단계.

    `as_of_date` is the latest 기준일 of the pledge's register tables (the card's 추진실적 기준);
    `implementation_stage_ko` joins the ticked 이행단계 options in card order with ", " (null when none).
    """
    pledges = pl.DataFrame(
        [{k: p[k] for k in ("pledge_id", "pledge_no", "district_ko", "title_ko", "term_start_date", "term_end_date")}
         for p in catalog.pledges]
    ).with_columns(pl.col("pledge_no").cast(pl.Int64), pl.col("term_start_date", "term_end_date").cast(pl.Date))
    as_of = report.tables.group_by("pledge_id").agg(
        pl.col("as_of_date").max(), pl.col("source_document").drop_nulls().first()
    )
    stages = (
        report.attributes.filter((pl.col("attribute_ko") == STAGE_ATTRIBUTE) & pl.col("selected").fill_null(False))
        .sort("source_row")
        .group_by("pledge_id", maintain_order=True)
        .agg(pl.col("option_ko").str.join(", ").alias("implementation_stage_ko"))
    )
    table = pledges.join(as_of, on="pledge_id", how="left").join(stages, on="pledge_id", how="left")
    return conform(table, contract).sort("pledge_id")


def build_card_attributes_table(report: Report, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Every ✓ attribute option of the card head (임기구분 … 이행단계), ticked or not, in card order."""
    table = report.attributes.sort("source_row").with_columns(
        pl.int_range(1, pl.len() + 1).over("pledge_id").cast(pl.Int64).alias("option_order")
    )
    return conform(table, contract).sort("pledge_id", "option_order")


def build_card_activities_table(report: Report, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The activities of the card's 추진실적 text (courses, fairs, meetings, agreements) with their figures.

    One row per printed figure: `value` is the number it reads as (null for dates, periods and "-"),
    `value_text` the print, kept verbatim; `activity_order` is the row's place on the card.
    """
    table = report.activities.sort("source_row").with_columns(
        pl.int_range(1, pl.len() + 1).over("pledge_id").cast(pl.Int64).alias("activity_order")
    )
    return conform(table, contract).sort("pledge_id", "activity_order")


def build_card_tables(report: Report, catalog: Catalog, contracts: dict[str, dict[str, pl.DataType]]) -> dict[str, pl.DataFrame]:
    """The three card tables by curated table name, ready to publish with the others."""
    return {
        "pledges": build_pledges_table(report, catalog, contracts["pledges"]),
        "card_attributes": build_card_attributes_table(report, contracts["card_attributes"]),
        "card_activities": build_card_activities_table(report, contracts["card_activities"]),
    }
