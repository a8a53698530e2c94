"""What persists between runs: failure identity (new / persisting) and the run history.

A failure's fingerprint comes from the delivered content (see validation), so
comparing this run's fingerprints with the last published `validation_failures`
tells a steward what is new and what persists. The run history lives in the
state folder (run metadata, the only place with wall-clock values) and is
published as the `runs` table.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from pledgeflow.frames import RUNS_SCHEMA, VALIDATION_FAILURES_SCHEMA, conform

RUNS_FILE = "runs.parquet"


def track_failures(failures: pl.DataFrame, previous: pl.DataFrame | None, run_number: int) -> pl.DataFrame:
    """The curated `validation_failures` table: this run's failures with first_seen_run and state."""
    seen = (
        previous.group_by("fingerprint").agg(pl.col("first_seen_run").min())
        if previous is not None and previous.height
        else pl.DataFrame(schema={"fingerprint": pl.String, "first_seen_run": pl.Int64})
    )
    tracked = failures.join(seen, on="fingerprint", how="left").with_columns(
        pl.when(pl.col("first_seen_run").is_null()).then(pl.lit("new")).otherwise(pl.lit("persisting")).alias("state"),
        pl.col("first_seen_run").fill_null(run_number),
    )
    return conform(tracked, VALIDATION_FAILURES_SCHEMA).sort(["dataset", "source_file", "source_row", "column", "rule"], nulls_last=True)


def count_resolved(current: pl.DataFrame, previous: pl.DataFrame | None) -> int:
    """Failures of the previous version that no longer occur."""
    if previous is None or previous.is_empty():
        return 0
    return previous.select("fingerprint").unique().join(current.select("fingerprint"), on="fingerprint", how="anti").height


def read_runs(state_dir: Path) -> pl.DataFrame:
    path = state_dir / RUNS_FILE
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=RUNS_SCHEMA)


def next_run_number(state_dir: Path) -> int:
    runs = read_runs(state_dir)
    return int(runs["run_number"].max() or 0) + 1 if runs.height else 1


def record_run(state_dir: Path, run: dict) -> pl.DataFrame:
    """Add or replace this run's row in the history (atomic file replace) and return the history."""
    runs = read_runs(state_dir).filter(pl.col("run_number") != run["run_number"])
    updated = pl.concat([runs, conform(pl.DataFrame([run]), RUNS_SCHEMA)]).sort("run_number")
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{RUNS_FILE}.tmp"
    updated.write_parquet(tmp)
    os.replace(tmp, state_dir / RUNS_FILE)
    return updated
