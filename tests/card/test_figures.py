"""The budget table's row kinds: a dashboard that sums leaf rows gets the card's grand total, counted once."""

from __future__ import annotations

import polars as pl

from pledgeflow.card.figures import budget_row_kind, build_budget_table
from tests.conftest import CURATED


def leaf_sum(budget: pl.DataFrame) -> int:
    return budget.filter(pl.col("row_kind") == "leaf")["amount_million_krw"].sum()


def test_sum_over_leaf_rows_is_the_cards_grand_total(report, catalog):
    budget = build_budget_table(report, catalog, CURATED["budget"])
    (grand,) = budget.filter(pl.col("row_kind") == "total")["amount_million_krw"].to_list()
    assert grand == 1572 and leaf_sum(budget) == grand
    assert budget["amount_million_krw"].sum() > 2 * grand  # the naive SUM a dashboard would do multi-counts
    leaves = budget.filter(pl.col("row_kind") == "leaf")
    assert (leaves["period"] != "total").all() and (leaves["subproject_id"] != "total").all()
    assert budget.filter((pl.col("subproject_id") == "total") & (pl.col("funding_source") == "city"))["row_kind"].unique().to_list() == ["subtotal"]


def test_a_card_split_by_source_per_subproject_has_its_sources_as_leaves():
    cells = [(sp, src, period, amount) for sp in ("a", "b", "total") for src in ("district", "city", "total")
             for period, amount in (("2019", 1), ("2020", 2), ("total", 3))]
    frame = pl.DataFrame(cells, schema=["subproject_id", "funding_source", "period", "amount_million_krw"], orient="row")
    kinds = frame.with_columns(pl.lit("p").alias("pledge_id")).with_columns(budget_row_kind().alias("row_kind"))
    leaves = kinds.filter(pl.col("row_kind") == "leaf")
    assert leaves.height == 2 * 2 * 2 and set(leaves["funding_source"]) == {"district", "city"}
    assert kinds.filter(pl.col("row_kind") == "total").height == 1
