"""Run manifest: row conservation per file, JSON round-trip, deterministic serialisation."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

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


# ---- pinned by the mutation run (TESTING.md): each test below failed under a mutant that survived before ----


def shaped_counts(**changes) -> pl.DataFrame:
    """counts() with the files' shapes: rows under the header = data + totals + repeated headers + blank rows."""
    shape = {"rows_below_header": [47, 3], "total_rows": [1, 0], "repeated_header_rows": [1, 0], "blank_rows": [3, 0],
             "cancelled_rows": [0, 0]}
    return counts().with_columns(pl.Series(name, changes.get(name, values)) for name, values in shape.items())


def test_the_manifest_says_what_each_key_is_called_and_holds():
    result = manifest()
    assert {k: result[k] for k in ("manifest_format", "run_number", "run_id", "finished_at", "status", "outputs")} == {
        "manifest_format": 1, "run_number": 7, "run_id": "flow-run-7", "finished_at": "2024-05-01T17:03:20+00:00",
        "status": "completed", "outputs": {"version": "run-0007"}}
    assert set(result) == {"manifest_format", "run_number", "run_id", "started_at", "finished_at", "status", "inputs",
                           "file_counts", "totals", "outputs", "extra"}


def test_a_run_without_decisions_excludes_zero_rows_per_file():
    result = manifest()
    assert [f["rows_excluded"] for f in result["file_counts"]] == [0, 0]
    assert result["totals"]["rows_excluded"] == 0


def test_excluded_rows_count_towards_conservation():
    excluded = counts().with_columns(rows_valid=pl.Series([35, 3]), rows_excluded=pl.Series([5, 0]))
    assert manifest(file_counts=excluded)["totals"]["rows_excluded"] == 5
    with pytest.raises(ConservationError, match=r"placements/2019\.xlsx \(read 42, valid 30, quarantined 2, excluded 5\)"):
        manifest(file_counts=excluded.with_columns(rows_valid=pl.Series([30, 3])))


# frames are built inside the test, never at collection: mutmut's fork server collects the tests, and a polars
# query run there would leave its forked workers a thread pool without threads (they hang)
@pytest.mark.parametrize(("argument", "dropped", "named"), [
    ("inputs", ("sha256",), "inputs lacks column(s): sha256"),
    ("file_counts", ("rows_valid", "file_error"), "file_counts lacks column(s): rows_valid, file_error"),
])
def test_a_missing_column_is_named_with_its_argument(argument, dropped, named):
    frame = {"inputs": inputs, "file_counts": counts}[argument]().drop(*dropped)
    with pytest.raises(ValueError, match=re.escape(named)):
        manifest(**{argument: frame})


def test_every_broken_file_is_named_in_order_in_one_message():
    both = counts().with_columns(rows_valid=pl.Series([39, 2]))
    with pytest.raises(ConservationError) as caught:
        manifest(file_counts=both)
    assert str(caught.value) == ("row conservation violated: job_fairs/fairs.csv (read 3, valid 2, quarantined 0, excluded 0); "
                                 "placements/2019.xlsx (read 42, valid 39, quarantined 2, excluded 0)")
    with pytest.raises(ConservationError) as missing:
        manifest(file_counts=counts().head(0))
    assert str(missing.value) == "no row counts for input file(s): job_fairs/fairs.csv, placements/2019.xlsx"


def test_the_files_shapes_are_kept_with_nulls_as_zero():
    shaped = shaped_counts().with_columns(cancelled_rows=pl.Series([None, 0], dtype=pl.Int64))
    placements = next(f for f in manifest(file_counts=shaped)["file_counts"] if f["dataset"] == "placements")
    assert {k: placements[k] for k in ("rows_below_header", "total_rows", "repeated_header_rows", "blank_rows",
                                        "cancelled_rows")} == {"rows_below_header": 47, "total_rows": 1,
                                                               "repeated_header_rows": 1, "blank_rows": 3, "cancelled_rows": 0}


@pytest.mark.parametrize("column", ["rows_below_header", "total_rows", "repeated_header_rows", "blank_rows"])
def test_a_row_under_the_header_that_is_nothing_is_a_conservation_error(column):
    first, second = shaped_counts()[column].to_list()
    off = shaped_counts(**{column: [first + 1, second]})
    with pytest.raises(ConservationError) as caught:
        manifest(file_counts=off)
    numbers = {k: off[k][0] for k in ("rows_below_header", "total_rows", "repeated_header_rows", "blank_rows")}
    assert str(caught.value) == (
        f"row conservation violated: placements/2019.xlsx (rows under the header {numbers['rows_below_header']}, data 42, "
        f"totals {numbers['total_rows']}, repeated headers {numbers['repeated_header_rows']}, blank {numbers['blank_rows']})")


def test_the_header_check_needs_only_the_four_counts_it_adds():
    off = shaped_counts(rows_below_header=[50, 3]).drop("cancelled_rows")  # a delivery with no cancelled column
    with pytest.raises(ConservationError, match="rows under the header 50"):
        manifest(file_counts=off)


def test_rows_under_the_header_of_several_files_are_named_in_order():
    off = shaped_counts(rows_below_header=[46, 4])
    with pytest.raises(ConservationError, match=r"job_fairs/fairs\.csv \(rows under the header 4, .*\); placements/2019\.xlsx"):
        manifest(file_counts=off)


def test_an_unreadable_file_and_counts_without_shapes_skip_the_header_check():
    unreadable = shaped_counts(rows_below_header=[0, 3]).with_columns(
        file_error=pl.Series(["encrypted", None]), rows_read=pl.Series([0, 3]), rows_valid=pl.Series([0, 3]),
        rows_quarantined=pl.Series([0, 0]))
    assert manifest(file_counts=unreadable)["totals"]["files_with_error"] == 1
    partial = counts().with_columns(rows_below_header=pl.Series([99, 99]), total_rows=pl.Series([0, 0]),
                                    repeated_header_rows=pl.Series([0, 0]))  # no blank_rows: the shape is unknown
    assert manifest(file_counts=partial)["totals"]["rows_read"] == 45


def test_records_sort_with_nulls_last():
    from pledgeflow.publish.manifest import _sorted_records

    assert _sorted_records(pl.DataFrame({"dataset": [None, "placements", "job_fairs"]})) == [
        {"dataset": "job_fairs"}, {"dataset": "placements"}, {"dataset": None}]


def test_sets_become_sorted_lists_and_other_types_are_named():
    assert manifest(extra={"datasets": {"placements", "job_fairs"}})["extra"]["datasets"] == ["job_fairs", "placements"]
    with pytest.raises(TypeError, match="manifest value of type complex is not JSON-serialisable"):
        manifest(extra={"z": 1j})


def test_a_manifest_goes_into_folders_that_do_not_exist_yet(tmp_path):
    path = tmp_path / "state" / "runs" / "run-000007" / "manifest.json"
    write_manifest(path, manifest())
    assert read_manifest(path)["run_id"] == "flow-run-7"


def test_the_temporary_file_is_a_hidden_sibling_renamed_over_the_manifest(tmp_path, monkeypatch):
    import os

    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: renames.append((Path(src), Path(dst))) or real_replace(src, dst))
    write_manifest(tmp_path / "manifest.json", manifest())
    ((source, target),) = renames
    assert source.parent == tmp_path and target == tmp_path / "manifest.json"  # same folder: one atomic rename
    assert source.name.startswith(".manifest.json.") and source.name.endswith(".tmp")


def test_the_file_is_indented_json_with_a_final_newline(tmp_path):
    write_manifest(tmp_path / "m.json", {"b": [1], "a": "가"})
    assert (tmp_path / "m.json").read_bytes() == '{\n  "a": "가",\n  "b": [\n    1\n  ]\n}\n'.encode("utf-8")
