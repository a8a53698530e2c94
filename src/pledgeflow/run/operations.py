"""Running unattended: one run at a time, data thresholds, run status and exit codes.

Exit codes of `pledgeflow run` (documented in the README):
0 published (status completed, or completed_with_warnings); 1 failed unexpectedly (nothing published);
2 bad usage; 3 blocked by a data threshold or a critical rule (nothing published);
4 blocked by a critical audit expectation (nothing published); 5 another run is in progress.
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from filelock import FileLock, Timeout

from pledgeflow.catalog import Catalog

LOCK_FILE = "run.lock"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BLOCKED, EXIT_AUDIT, EXIT_BUSY = 0, 1, 2, 3, 4, 5


class RunBlocked(RuntimeError):
    """A data threshold or a critical rule stops the run before publish."""

    exit_code = EXIT_BLOCKED


class AuditBlocked(RuntimeError):
    """The candidate version broke its contract or a critical expectation: nothing is published."""

    exit_code = EXIT_AUDIT


class RunInProgress(RuntimeError):
    """Another run holds the lock."""

    exit_code = EXIT_BUSY


@contextmanager
def run_lock(state_dir: Path, wait_seconds: float = 0):
    """Hold the project's run lock; raise RunInProgress if it is not free within `wait_seconds`.

    The lock is an OS file lock (flock): it dies with its process, so a crashed run never leaves it stuck.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(state_dir / LOCK_FILE, timeout=wait_seconds)
    holder = state_dir / f"{LOCK_FILE}.holder"
    try:
        lock.acquire()
    except Timeout:
        raise RunInProgress(
            f"another pledgeflow run is in progress ({describe_holder(holder)}); "
            f"waited {wait_seconds:g} s. Try again later, or pass --wait SECONDS."
        ) from None
    try:
        holder.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def describe_holder(holder: Path) -> str:
    try:
        info = json.loads(holder.read_text())
    except (OSError, ValueError):
        return "holder unknown"
    return f"pid {info['pid']} on {info['host']} since {info['since']}"


def check_thresholds(file_counts: pl.DataFrame, failures: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Breaches of the descriptors' limits: dataset, kind, observed, limit, message (empty when none)."""
    limits = pl.DataFrame(
        [{"dataset": d.dataset, "limit_pct": d.max_quarantined_pct} for d in catalog.descriptors.values()],
        schema={"dataset": pl.String, "limit_pct": pl.Float64},
    )
    shares = (
        file_counts.group_by("dataset").agg(pl.col("rows_read").sum(), pl.col("rows_quarantined").sum())
        .join(limits, on="dataset")
        .with_columns((pl.col("rows_quarantined") / pl.col("rows_read") * 100).fill_nan(0).round(1).alias("observed"))
        .filter(pl.col("limit_pct").is_not_null() & (pl.col("observed") > pl.col("limit_pct")))
        .select("dataset", pl.lit("max_quarantined_pct").alias("kind"), pl.col("observed"), pl.col("limit_pct").alias("limit"),
                pl.format("{}: {}% of rows quarantined, over the limit of {}%", "dataset", "observed", "limit_pct").alias("message"))
    )
    critical = pl.DataFrame(
        [{"dataset": d.dataset, "rule": r} for d in catalog.descriptors.values() for r in d.critical_rules],
        schema={"dataset": pl.String, "rule": pl.String},
    )
    hits = (
        failures.join(critical, on=["dataset", "rule"], how="semi").group_by("dataset", "rule").agg(pl.len().alias("observed"))
        .select("dataset", pl.lit("critical_rule").alias("kind"), pl.col("observed").cast(pl.Float64), pl.lit(0.0).alias("limit"),
                pl.format("{}: critical rule {} failed {} time(s)", "dataset", "rule", "observed").alias("message"))
    )
    return pl.concat([shares, hits]).sort("dataset", "kind", "message")


def collect_warnings(file_counts: pl.DataFrame, failures: pl.DataFrame, reconciliation: pl.DataFrame) -> list[str]:
    """What makes a published run 'completed_with_warnings' rather than 'completed'."""
    warnings = []
    quarantined = int(file_counts["rows_quarantined"].sum())
    unreadable = file_counts.filter(pl.col("file_error").is_not_null()).height
    mismatches = reconciliation.filter(pl.col("status") != "match").height
    if quarantined:
        warnings.append(f"{quarantined} rows quarantined")
    if unreadable:
        warnings.append(f"{unreadable} unreadable file(s)")
    if failures.filter(pl.col("severity") == "warning").height:
        warnings.append(f"{failures.filter(pl.col('severity') == 'warning').height} warning-level failures")
    if mismatches:
        warnings.append(f"{mismatches} reconciliation rows not matching")
    return warnings


def run_status(warnings: list[str]) -> str:
    return "completed_with_warnings" if warnings else "completed"
