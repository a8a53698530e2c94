"""Incremental runs: what invalidates a cached delivery result, and the round trip of one."""

from __future__ import annotations

import shutil

import polars as pl

from pledgeflow.ingest import cache
from pledgeflow.ingest.deliver import DeliveryResult
from tests.conftest import REPO


def test_context_changes_with_the_schemas_and_the_key(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    base = cache.context_digest(schemas, "key-a")
    assert cache.context_digest(schemas, "key-a") == base
    assert cache.context_digest(schemas, "key-b") != base
    rules = schemas / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert cache.context_digest(schemas, "key-a") != base


def test_result_key_names_file_content_and_context():
    key = cache.result_key("placements", "placements/a.csv", "abc", "ctx")
    assert key != cache.result_key("placements", "placements/b.csv", "abc", "ctx")
    assert key != cache.result_key("placements", "placements/a.csv", "abd", "ctx")
    assert key != cache.result_key("placements", "placements/a.csv", "abc", "ctx2")


def test_a_stored_result_comes_back_equal_and_unused_entries_are_pruned(tmp_path):
    frame = pl.DataFrame({"source_file": ["a"], "source_row": [2], "hire_date": [None]}, schema_overrides={"hire_date": pl.Date})
    result = DeliveryResult("placements", "placements/a.csv", frame, frame.clear(), pl.DataFrame({"rule": ["x"]}),
                            frame, rows_read=1, encoding="cp949", header_row=1, unmapped_headers=("비고2",))
    cache.store_result(tmp_path, "k1", result)
    loaded = cache.load_result(tmp_path, "k1")
    # valid rows come back as a scan of the stored file: lazy, and equal once read
    assert isinstance(loaded.valid, pl.LazyFrame)
    assert loaded.valid.collect().equals(result.valid) and loaded.valid.collect_schema() == result.valid.schema
    assert (loaded.rows_read, loaded.encoding, loaded.unmapped_headers) == (1, "cp949", ("비고2",))
    assert loaded.counts["rows_valid"] == 1
    assert cache.load_result(tmp_path, "missing") is None
    cache.store_result(tmp_path, "k2", result)
    assert cache.prune_results(tmp_path, {"k2"}) == 1
    assert cache.load_result(tmp_path, "k1") is None and cache.load_result(tmp_path, "k2") is not None


def test_a_damaged_valid_file_is_recomputed_not_read_later(tmp_path):
    frame = pl.DataFrame({"source_file": ["a"], "source_row": [2]})
    result = DeliveryResult("placements", "placements/a.csv", frame, frame.clear(), frame.clear(), frame.clear(), rows_read=1)
    cache.store_result(tmp_path, "k1", result)
    (tmp_path / "k1" / "valid.parquet").write_bytes(b"not parquet")
    assert cache.load_result(tmp_path, "k1") is None
    # the file is validated again and its fresh result replaces the damaged entry
    assert cache.cache_result(tmp_path, "k1", result).valid.collect().equals(frame)
    assert cache.load_result(tmp_path, "k1") is not None


def test_cache_result_hands_back_the_stored_rows_lazily(tmp_path):
    frame = pl.DataFrame({"source_file": ["a", "a"], "source_row": [2, 3]})
    result = DeliveryResult("placements", "placements/a.csv", frame, frame.clear(), frame.clear(), frame.clear(), rows_read=2)
    handle = cache.cache_result(tmp_path, "k1", result)
    assert isinstance(handle.valid, pl.LazyFrame) and handle.counts["rows_valid"] == 2
    assert handle.valid.collect().equals(frame)
