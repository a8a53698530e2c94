"""Run manifest: row conservation per file, JSON round-trip, deterministic serialisation."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from pledgeflow.publish.manifest import ConservationError, build_manifest, read_manifest, write_manifest

STARTED = dt.datetime(2024, 5, 1, 17, 0, tzinfo=dt.UTC)
FINISHED = dt.datetime(2024, 5, 1, 17, 3, 20, tzinfo=dt.UTC)


def inputs() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "dataset": ["placements", "job_fairs"],
            "source_file": ["placements/2019.xlsx", "job_fairs/fairs.csv"],
            "sha256": ["aa" * 32, "bb" * 32],
            "size_bytes": [2048, 512],
        }
    )


def counts(valid_2019: int = 40) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "dataset": ["placements", "job_fairs"],
            "source_file": ["placements/2019.xlsx", "job_fairs/fairs.csv"],
            "rows_read": [42, 3],
            "rows_valid": [valid_2019, 3],
            "rows_quarantined": [2, 0],
            "file_error": [None, None],
        },
        schema_overrides={"file_error": pl.String},
    )


def manifest(**overrides) -> dict:
    arguments = {
        "run_number": 7, "run_id": "flow-run-7", "started_at": STARTED, "finished_at": FINISHED,
        "inputs": inputs(), "file_counts": counts(), "outputs": {"version": "run-0007"},
        "status": "completed", "extra": {"catalog": {"pledge": "ydp-2018-15"}, "as_of": dt.date(2020, 12, 31)},
    }
    return build_manifest(**(arguments | overrides))


def test_conservation_violation_names_the_file():
    with pytest.raises(ConservationError, match=r"placements/2019\.xlsx \(read 42, valid 39, quarantined 2, excluded 0\)") as caught:
        manifest(file_counts=counts(valid_2019=39))
    assert "job_fairs/fairs.csv" not in str(caught.value)


def test_input_without_counts_is_a_conservation_error():
    with pytest.raises(ConservationError, match="placements/2019.xlsx"):
        manifest(file_counts=counts().filter(pl.col("dataset") == "job_fairs"))


def test_unreadable_file_with_no_rows_conserves():
    broken = counts().with_columns(
        pl.when(pl.col("dataset") == "job_fairs").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("rows_read", "rows_valid", "rows_quarantined")
    ).with_columns(file_error=pl.when(pl.col("dataset") == "job_fairs").then(pl.lit("not a CSV")))
    result = manifest(file_counts=broken)
    assert result["totals"] == {
        "files_read": 2, "files_with_error": 1, "rows_read": 42, "rows_valid": 40, "rows_quarantined": 2, "rows_excluded": 0,
    }


def test_manifest_content_is_sorted_and_plain_json():
    result = manifest()
    assert [f["source_file"] for f in result["file_counts"]] == ["job_fairs/fairs.csv", "placements/2019.xlsx"]
    assert [f["dataset"] for f in result["inputs"]] == ["job_fairs", "placements"]
    assert list(result) == sorted(result)
    assert result["started_at"] == "2024-05-01T17:00:00+00:00"
    assert result["extra"]["as_of"] == "2020-12-31"
    assert result["totals"]["rows_read"] == 45


def test_manifest_json_round_trip(tmp_path):
    path = tmp_path / "run" / "manifest.json"
    write_manifest(path, manifest())
    assert read_manifest(path) == manifest()
    assert [p.name for p in path.parent.iterdir()] == ["manifest.json"]  # no temp file left behind


def test_serialisation_is_deterministic(tmp_path):
    write_manifest(tmp_path / "a.json", manifest())
    reordered = manifest(inputs=inputs().reverse(), file_counts=counts().reverse(),
                         extra={"as_of": dt.date(2020, 12, 31), "catalog": {"pledge": "ydp-2018-15"}})
    write_manifest(tmp_path / "b.json", reordered)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_korean_text_is_written_readably(tmp_path):
    write_manifest(tmp_path / "m.json", manifest(extra={"note_ko": "중장년 일자리 창출"}))
    assert "중장년 일자리 창출" in (tmp_path / "m.json").read_text(encoding="utf-8")


def test_failed_write_keeps_the_previous_manifest(tmp_path):
    path = tmp_path / "manifest.json"
    write_manifest(path, manifest())
    before = path.read_bytes()
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        write_manifest(path, {"bad": object()})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_unserialisable_extra_is_refused():
    with pytest.raises(TypeError):
        manifest(extra={"frame": pl.DataFrame()})
    assert json.loads(json.dumps(manifest()))  # a built manifest is plain JSON
