"""Frame helpers shared by the stages: reading a few rows of a lazy query, keeping a frame's kind."""

from __future__ import annotations

import polars as pl

from pledgeflow.contracts import as_kind, pick_rows

ROWS = pl.DataFrame({"source_file": ["a", "a", "b", "b"], "source_row": [2, 3, 2, 3], "value": ["w", "x", "y", "z"]})


def test_pick_rows_reads_exactly_the_named_rows_from_a_lazy_scan(tmp_path):
    ROWS.write_parquet(tmp_path / "rows.parquet")
    keys = pl.DataFrame({"source_file": ["b", "a", "b", "c"], "source_row": [3, 2, 3, 2]})  # a repeat, one unknown
    picked = pick_rows(pl.scan_parquet(tmp_path / "rows.parquet"), keys)
    assert picked.sort("source_file", "source_row")["value"].to_list() == ["w", "z"]


def test_pick_rows_matches_keys_of_another_integer_type():
    keys = pl.DataFrame({"source_file": ["a"], "source_row": [3]}, schema={"source_file": pl.String, "source_row": pl.Int32})
    assert pick_rows(ROWS, keys)["value"].to_list() == ["x"]


def test_pick_rows_of_no_key_is_empty_with_every_column():
    picked = pick_rows(ROWS.lazy(), ROWS.clear().select("source_file", "source_row"))
    assert picked.is_empty() and picked.schema == ROWS.schema


def test_as_kind_keeps_a_query_lazy_and_collects_and_sorts_for_a_frame():
    query = ROWS.lazy().filter(pl.col("source_row") == 2).sort("value", descending=True)
    assert isinstance(as_kind(ROWS.lazy(), query), pl.LazyFrame)
    assert as_kind(ROWS, query, sort=["source_file"])["value"].to_list() == ["w", "y"]
