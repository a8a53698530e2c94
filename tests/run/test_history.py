"""Tests for failure identity across runs (new / persisting / resolved) and the run history file."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pledgeflow.contracts import FAILURE_SCHEMA
from tests.conftest import CURATED
from pledgeflow.run.history import RUNS_FILE, count_resolved, next_run_number, read_runs, record_run, track_failures

UTC = dt.timezone.utc


def failures(*rows: tuple[str, int, str]) -> pl.DataFrame:
    """(source_file, source_row, fingerprint) -> failure rows as validation hands them over."""
    return pl.DataFrame(
        [{"dataset": "placements", "source_file": f, "source_row": r, "record_key": None, "column": "hire_date",
          "rule": "parse_date", "value": "2019. 2. 30.", "severity": "error", "message_ko": "ko", "message_en": "en",
          "fingerprint": fp} for f, r, fp in rows],
        schema={**FAILURE_SCHEMA, "fingerprint": pl.String},
    )


def previous(*rows: tuple[str, int]) -> pl.DataFrame:
    """(fingerprint, first_seen_run) -> the last published validation_failures."""
    frame = failures(*[("old.csv", i + 2, fp) for i, (fp, _) in enumerate(rows)])
    return frame.with_columns(pl.Series("first_seen_run", [run for _, run in rows], dtype=pl.Int64), pl.lit("new").alias("state"))


def states(table: pl.DataFrame) -> dict[str, tuple[str, int]]:
    return {fp: (state, run) for fp, state, run in table.select("fingerprint", "state", "first_seen_run").iter_rows()}


def test_first_run_everything_is_new():
    table = track_failures(CURATED["validation_failures"], failures(("a.csv", 2, "f1"), ("a.csv", 3, "f2")), None, 1)
    assert dict(table.schema) == CURATED["validation_failures"]
    assert states(table) == {"f1": ("new", 1), "f2": ("new", 1)}


def test_new_and_persisting_keep_the_first_seen_run():
    before = previous(("f1", 2), ("f2", 4), ("gone", 1))
    table = track_failures(CURATED["validation_failures"], failures(("b.csv", 9, "f1"), ("b.csv", 3, "f2"), ("b.csv", 4, "f3")), before, 5)
    assert states(table) == {"f1": ("persisting", 2), "f2": ("persisting", 4), "f3": ("new", 5)}


def test_an_empty_previous_table_counts_as_no_history():
    assert states(track_failures(CURATED["validation_failures"], failures(("a.csv", 2, "f1")), previous(), 3)) == {"f1": ("new", 3)}


def test_the_same_fingerprint_twice_in_history_keeps_its_earliest_run():
    table = track_failures(CURATED["validation_failures"], failures(("a.csv", 2, "f1")), previous(("f1", 3), ("f1", 2)), 4)
    assert table.height == 1 and states(table) == {"f1": ("persisting", 2)}


def test_tracked_failures_are_sorted_by_file_and_row():
    table = track_failures(CURATED["validation_failures"], failures(("b.csv", 2, "x"), ("a.csv", 10, "y"), ("a.csv", 3, "z")), None, 1)
    assert table.select("source_file", "source_row").rows() == [("a.csv", 3), ("a.csv", 10), ("b.csv", 2)]


def test_count_resolved():
    before = previous(("f1", 1), ("f2", 1), ("f2", 2), ("f3", 2))
    assert count_resolved(failures(("a.csv", 2, "f1")), before) == 2  # f2 counted once
    assert count_resolved(failures(("a.csv", 2, "f1"), ("a.csv", 3, "f2"), ("a.csv", 4, "f3")), before) == 0
    assert count_resolved(failures(), before) == 3
    assert count_resolved(failures(("a.csv", 2, "f1")), None) == 0
    assert count_resolved(failures(("a.csv", 2, "f1")), previous()) == 0


def run(number: int, **fields) -> dict:
    started = dt.datetime(2024, 3, 1, 2, 0, tzinfo=UTC) + dt.timedelta(days=number)
    return {"run_number": number, "run_id": f"run-{number}", "started_at": started, "finished_at": started + dt.timedelta(minutes=3),
            "status": "completed", "files_read": 9, "rows_read": 300, "rows_valid": 290, "rows_quarantined": 10,
            "mismatches": 2, "failures_new": 10, "failures_resolved": 0, "version": f"v{number:04d}"} | fields


def test_run_numbers_start_at_one_and_increment(tmp_path):
    state = tmp_path / "state"
    assert next_run_number(state) == 1
    assert read_runs(state, CURATED["runs"]).is_empty() and dict(read_runs(state, CURATED["runs"]).schema) == CURATED["runs"]
    record_run(state, run(1), CURATED["runs"])
    assert next_run_number(state) == 2
    record_run(state, run(2), CURATED["runs"])
    assert next_run_number(state) == 3


def test_record_run_replaces_a_runs_row(tmp_path):
    state = tmp_path / "state"
    record_run(state, run(1), CURATED["runs"])
    record_run(state, run(2, status="running"), CURATED["runs"])
    history = record_run(state, run(2, status="failed", rows_valid=0), CURATED["runs"])
    assert history["run_number"].to_list() == [1, 2]
    assert history.filter(pl.col("run_number") == 2).select("status", "rows_valid").row(0) == ("failed", 0)
    assert read_runs(state, CURATED["runs"]).equals(history)
    assert dict(history.schema) == CURATED["runs"]
    assert next_run_number(state) == 3
    assert [p.name for p in state.iterdir()] == [RUNS_FILE]  # no temporary file left behind


def test_the_history_is_sorted_by_run_number(tmp_path):
    state = tmp_path / "state"
    for number in (3, 1, 2):
        record_run(state, run(number), CURATED["runs"])
    assert read_runs(state, CURATED["runs"])["run_number"].to_list() == [1, 2, 3]
    assert next_run_number(state) == 4
