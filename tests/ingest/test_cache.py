"""Incremental runs: what invalidates a cached delivery result, and the round trip of one."""

from __future__ import annotations

import shutil
from pathlib import Path

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


def held_bytes(frame: pl.DataFrame) -> int:
    """Bytes of every buffer the frame's columns keep alive (a filtered text column keeps its input's)."""
    arrays = (frame[name].to_arrow(compat_level=pl.CompatLevel.newest()) for name in frame.columns)
    chunks = (chunk for array in arrays for chunk in getattr(array, "chunks", [array]))
    return sum(buffer.size for chunk in chunks for buffer in chunk.buffers() if buffer is not None)


def test_cache_result_keeps_only_the_held_rows_not_the_delivery_they_came_from(tmp_path):
    # a delivery's few quarantined rows, filtered out of it, share its text buffers: 10M rows held over 1 GB that way
    delivery = pl.DataFrame({"source_file": "a", "source_row": range(2, 50_002),
                             "note_ko": [f"비고 {i:06d}: 긴 비고가 붙은 행입니다" for i in range(50_000)]})
    held = delivery.filter(pl.col("source_row") == 7)
    assert held_bytes(held) > 1_000_000  # the premise: the filtered frame pins the delivery's text
    result = DeliveryResult("placements", "placements/a.csv", delivery, held, held.select("source_file", "source_row"),
                            held, rows_read=delivery.height)
    handle = cache.cache_result(tmp_path, "k1", result)
    for name in ("quarantined", "failures", "delivered"):
        frame = getattr(handle, name)
        assert frame.equals(getattr(result, name)), name
        assert held_bytes(frame) < 10_000, name


def test_a_change_to_the_code_that_validates_invalidates_results_and_other_code_does_not(tmp_path):
    import pledgeflow
    from pledgeflow.ingest.cache import code_digest

    package = tmp_path / "pledgeflow"
    shutil.copytree(Path(pledgeflow.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_digest(package)
    for unrelated in ("cli/commands.py", "steward/review_pack.py", "publish/version.py", "run/flow.py"):
        (package / unrelated).write_text((package / unrelated).read_text() + "\n# a comment\n")
    assert code_digest.__wrapped__(package) == before  # the CLI, the review pack, publish and the flow shape no result
    for shaping in ("ingest/read.py", "korean.py"):
        changed = tmp_path / shaping.replace("/", "_")
        shutil.copytree(package, changed)
        (changed / shaping).write_text((changed / shaping).read_text() + "\n# a comment\n")
        assert code_digest.__wrapped__(changed) != before, shaping


def test_a_library_upgrade_invalidates_every_result(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "catalog.yaml").write_text("pledges: []\n")
    before = cache.context_digest(schemas, "key")
    real = cache.metadata.version
    monkeypatch.setattr(cache.metadata, "version", lambda name: "99.0.0" if name == "polars" else real(name))
    assert cache.context_digest(schemas, "key") != before


def test_configuration_applied_after_validation_does_not_invalidate_results(tmp_path):
    schemas = tmp_path / "schemas"
    (schemas / "curated").mkdir(parents=True)
    (schemas / "catalog.yaml").write_text("pledges: []\n")
    before = cache.context_digest(schemas, "key")
    (schemas / "curated" / "runs.schema.yaml").write_text("columns: {}\n")  # the curated contract shapes no delivery
    assert cache.context_digest(schemas, "key") == before
    (schemas / "rules.yaml").write_text("rules: {}\n")  # rule messages are part of a delivery's failures
    assert cache.context_digest(schemas, "key") != before


def test_the_context_of_every_result_covers_the_code_digest(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "catalog.yaml").write_text("pledges: []\n")
    before = cache.context_digest(schemas, "key")
    monkeypatch.setattr(cache, "code_digest", lambda package=None: "edited ingest code")
    assert cache.context_digest(schemas, "key") != before
