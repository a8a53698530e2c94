"""Dimension tables of the catalog (issue 14): what each pledge tracks and on which period grid.

`pledge_indicators`: one row per pledge, sub-project and indicator — the pledge's government, title and term,
the sub-project's name and how many spellings the catalog knows for it, and the indicator's definition as
declared (source dataset, measure, filters as text, date column, unit, target semantics, rate definition).
`pledge_periods`: one row per pledge and period — label as the card prints it, start and end dates, order.
Both come from the catalog alone: a dashboard can explain any figure of `indicators` without the YAML.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.catalog import Catalog, normalise_label
from pledgeflow.contracts import conform


def build_pledge_indicators(catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    pledges = pl.DataFrame(
        [{"pledge_id": p["pledge_id"], "pledge_no": p.get("pledge_no"), "government_id": p.get("government_id"),
          "district_ko": p.get("district_ko"), "pledge_title_ko": p.get("title_ko"), "term_start_date": p["term_start_date"],
          "term_end_date": p["term_end_date"], "period_grid": p["period_grid"]} for p in catalog.pledges],
        schema={"pledge_id": pl.String, "pledge_no": pl.Int64, "government_id": pl.String, "district_ko": pl.String,
                "pledge_title_ko": pl.String, "term_start_date": pl.Date, "term_end_date": pl.Date, "period_grid": pl.String})
    spellings = pl.DataFrame(
        [{"subproject_id": s["subproject_id"],
          "spellings_count": len({normalise_label(a) for a in (s["name_ko"], *s.get("aliases", []))})}
         for p in catalog.pledges for s in p["subprojects"]], schema={"subproject_id": pl.String, "spellings_count": pl.Int64})
    table = (catalog.indicators_frame.join(catalog.subprojects_frame, on=["pledge_id", "subproject_id"])
             .join(pledges, on="pledge_id").join(spellings, on="subproject_id"))
    return conform(table, contract).sort("pledge_id", "subproject_id", "indicator_id")


def build_pledge_periods(catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    grids = pl.DataFrame({"pledge_id": [p["pledge_id"] for p in catalog.pledges], "period_grid": [p["period_grid"] for p in catalog.pledges]})
    table = catalog.periods_frame.join(grids, on="pledge_id").with_columns(pl.col("period_order").cast(pl.Int64))
    return conform(table, contract).sort("pledge_id", "period_order")


def build_dimension_tables(catalog: Catalog, contracts: dict[str, dict[str, pl.DataType]]) -> dict[str, pl.DataFrame]:
    return {"pledge_indicators": build_pledge_indicators(catalog, contracts["pledge_indicators"]),
            "pledge_periods": build_pledge_periods(catalog, contracts["pledge_periods"])}
