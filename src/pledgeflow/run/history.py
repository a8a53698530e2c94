"""What persists between runs: failure identity (new / persisting) and the run history.

A failure's fingerprint comes from the delivered content (see validation), so
comparing this run's fingerprints with the last published `validation_failures`
tells a steward what is new and what persists. The run history lives in the
state folder (run metadata, the only place with wall-clock values) and is
published as the `runs` table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import polars as pl

from pledgeflow.contracts import conform

RUNS_FILE = "runs.parquet"


def track_failures(contract: dict[str, pl.DataType], failures: pl.DataFrame, previous: pl.DataFrame | None, run_number: int,
                   dispositions: pl.DataFrame | None = None, corrected: pl.DataFrame | None = None) -> pl.DataFrame:
    """The curated `validation_failures` table: this run's failures with first_seen_run and state.

    State: new or persisting (seen in the previous version); a record a steward waived or excluded shows its
    failures as waived / excluded; failures a correction made go away stay listed as corrected.
    """
    if corrected is not None and corrected.height:
        failures = pl.concat([failures, corrected.with_columns(pl.lit("corrected").alias("decided_state"))], how="diagonal")
    if dispositions is not None and dispositions.height:
        decided = dispositions.filter(pl.col("state") != "corrected").rename({"state": "record_state"})
        failures = failures.join(decided, on=["dataset", "source_file", "source_row"], how="left")
        failures = failures.with_columns(pl.coalesce(*[c for c in ("decided_state", "record_state") if c in failures.columns])
                                         .alias("decided_state"))
    seen = (
        previous.group_by("fingerprint").agg(pl.col("first_seen_run").min())
        if previous is not None and previous.height
        else pl.DataFrame(schema={"fingerprint": pl.String, "first_seen_run": pl.Int64})
    )
    if "decided_state" not in failures.columns:
        failures = failures.with_columns(pl.lit(None, pl.String).alias("decided_state"))
    tracked = failures.join(seen, on="fingerprint", how="left").with_columns(
        pl.coalesce("decided_state", pl.when(pl.col("first_seen_run").is_null()).then(pl.lit("new"))
                    .otherwise(pl.lit("persisting"))).alias("state"),
        pl.col("first_seen_run").fill_null(run_number),
    )
    return conform(tracked, contract).sort(["dataset", "source_file", "source_row", "column", "rule"], nulls_last=True)


def count_resolved(current: pl.DataFrame, previous: pl.DataFrame | None) -> int:
    """Failures of the previous version that no longer occur."""
    if previous is None or previous.is_empty():
        return 0
    return previous.select("fingerprint").unique().join(current.select("fingerprint"), on="fingerprint", how="anti").height


def read_runs(state_dir: Path, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    path = state_dir / RUNS_FILE
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=contract)


def next_run_number(state_dir: Path, curated_dir: Path | None = None) -> int:
    """One past every run number anywhere: the history, the run manifests and the versions on disk
    (published, rejected, left in staging). A run killed between moving its version into place and
    recording it in the history can never make a later run reuse its number."""
    numbers = [0, *recorded_numbers(state_dir), *manifest_numbers(state_dir)]
    if curated_dir is not None:
        from pledgeflow.publish.recovery import version_numbers

        numbers += version_numbers(curated_dir)
    return max(numbers) + 1


def recorded_numbers(state_dir: Path) -> list[int]:
    path = state_dir / RUNS_FILE
    try:
        return pl.read_parquet(path, columns=["run_number"])["run_number"].drop_nulls().to_list() if path.exists() else []
    except Exception:  # noqa: BLE001 — a damaged history is repaired by repair_history, not fatal here
        return []


def manifest_numbers(state_dir: Path) -> list[int]:
    runs = state_dir / "runs"
    names = [p.name for p in runs.iterdir()] if runs.is_dir() else []
    return [int(m.group(1)) for m in (re.fullmatch(r"run-(\d+)", n) for n in names) if m]


def repair_history(state_dir: Path, curated_dir: Path, contract: dict[str, pl.DataType]) -> list[int]:
    """Bring the stored history up to the current version: a run killed after its version went live but
    before the history was written left its rows only in the version's own `runs` / `failure_trend` tables
    (each version publishes the history as of its run). A history file that cannot be read is rebuilt
    from them. Returns the run numbers added."""
    version = Path(curated_dir) / "current"
    if not (version / "runs.parquet").exists():
        return []
    published = pl.read_parquet(version / "runs.parquet")
    try:
        stored = read_runs(state_dir, contract)
    except Exception:  # noqa: BLE001 — a truncated or foreign file: the published history replaces it
        stored = pl.DataFrame(schema=contract)
    missing = published.join(stored.select("run_number"), on="run_number", how="anti")
    if not missing.height:
        return []
    write_state(state_dir, RUNS_FILE, pl.concat([conform(stored, contract), conform(missing, contract)]).sort("run_number"))
    trend_path = version / "failure_trend.parquet"
    if trend_path.exists():
        try:
            trend = read_trend(state_dir)
        except Exception:  # noqa: BLE001
            trend = None
        write_state(state_dir, TREND_FILE, merge_trend(trend, pl.read_parquet(trend_path).filter(
            pl.col("run_number").is_in(missing["run_number"].implode()))))
    return sorted(missing["run_number"].to_list())


def merge_run(runs: pl.DataFrame, run: dict, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The run history with this run's row added or replaced (nothing written)."""
    kept = runs.filter(pl.col("run_number") != run["run_number"])
    return pl.concat([kept, conform(pl.DataFrame([run]), contract)]).sort("run_number")


def record_run(state_dir: Path, run: dict, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add or replace this run's row in the stored history and return the history."""
    updated = merge_run(read_runs(state_dir, contract), run, contract)
    write_state(state_dir, RUNS_FILE, updated)
    return updated


def write_state(state_dir: Path, name: str, frame: pl.DataFrame) -> None:
    """Replace one history file atomically (temporary file, then rename)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{name}.tmp"
    frame.write_parquet(tmp)
    os.replace(tmp, state_dir / name)


TREND_FILE = "failure_trend.parquet"
TREND_STATES = ("new", "persisting", "waived", "corrected", "excluded")


def count_trend(failures: pl.DataFrame, previous: pl.DataFrame | None, run_number: int, datasets: tuple[str, ...]) -> pl.DataFrame:
    """This run's failure counts per dataset and state, with the failures of the previous version now resolved."""
    skeleton = pl.DataFrame({"dataset": list(datasets)})
    by_state = failures.group_by("dataset").agg([(pl.col("state") == s).sum().cast(pl.Int64).alias(s) for s in TREND_STATES])
    gone = (
        previous.join(failures.select("fingerprint"), on="fingerprint", how="anti").group_by("dataset")
        .agg(pl.col("fingerprint").n_unique().cast(pl.Int64).alias("resolved"))
        if previous is not None and previous.height
        else pl.DataFrame(schema={"dataset": pl.String, "resolved": pl.Int64})
    )
    return (
        skeleton.join(by_state, on="dataset", how="left").join(gone, on="dataset", how="left")
        .with_columns(pl.col(*TREND_STATES, "resolved").fill_null(0), pl.lit(run_number, pl.Int64).alias("run_number"))
        .select("run_number", "dataset", *TREND_STATES, "resolved")
    )


def read_trend(state_dir: Path) -> pl.DataFrame | None:
    path = state_dir / TREND_FILE
    return pl.read_parquet(path) if path.exists() else None


def merge_trend(history: pl.DataFrame | None, rows: pl.DataFrame) -> pl.DataFrame:
    """The failure trend with this run's rows added or replaced (nothing written)."""
    if history is None:
        return rows.sort("run_number", "dataset")
    kept = history.join(rows.select("run_number").unique(), on="run_number", how="anti")
    return pl.concat([kept, rows]).sort("run_number", "dataset")


def record_history(state_dir: Path, runs: pl.DataFrame, trend: pl.DataFrame) -> None:
    """Store the run and failure-trend histories of a published version (after publish, never before)."""
    write_state(state_dir, RUNS_FILE, runs)
    write_state(state_dir, TREND_FILE, trend)
