"""One run at a time, thresholds and run status (pure functions and the OS lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from pledgeflow.catalog import load_catalog
from pledgeflow.run.operations import RunInProgress, check_thresholds, collect_warnings, run_lock, run_status
from tests.conftest import REPO

CATALOG = load_catalog(REPO / "schemas")


def counts(dataset: str, read: int, quarantined: int, file_error: str | None = None) -> dict:
    return {"dataset": dataset, "source_file": f"{dataset}/a.csv", "rows_read": read, "rows_valid": read - quarantined,
            "rows_quarantined": quarantined, "file_error": file_error}


def failures(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame([{"dataset": d, "rule": r, "severity": s} for d, r, s in rows],
                        schema={"dataset": pl.String, "rule": pl.String, "severity": pl.String})


def test_quarantine_share_past_the_limit_is_a_breach_and_at_the_limit_is_not():
    file_counts = pl.DataFrame([counts("placements", 100, 11), counts("job_fairs", 4, 1)])  # 11% > 10%; 25% == 25%
    breaches = check_thresholds(file_counts, failures(), CATALOG)
    assert breaches["dataset"].to_list() == ["placements"]
    assert "11.0% of rows quarantined" in breaches["message"][0] and "10" in breaches["message"][0]


def test_a_critical_rule_is_a_breach_whatever_the_share(tmp_path):
    schemas = tmp_path / "schemas"
    import shutil

    shutil.copytree(REPO / "schemas", schemas)
    path = schemas / "datasets/placements.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("critical_rules: []", "critical_rules: [no_personal_number]"),
                    encoding="utf-8")
    catalog = load_catalog(schemas)
    file_counts = pl.DataFrame([counts("placements", 1000, 1)])
    breaches = check_thresholds(file_counts, failures(("placements", "no_personal_number", "error")), catalog)
    assert breaches["kind"].to_list() == ["critical_rule"]
    assert check_thresholds(file_counts, failures(("placements", "parse_date", "error")), catalog).is_empty()


def test_status_is_completed_only_without_warnings():
    clean = pl.DataFrame([counts("placements", 10, 0)])
    rec = pl.DataFrame({"status": ["match"]})
    assert run_status(collect_warnings(clean, failures(), rec)) == "completed"
    assert run_status(collect_warnings(clean, failures(("placements", "x", "warning")), rec)) == "completed_with_warnings"
    assert run_status(collect_warnings(clean, failures(), pl.DataFrame({"status": ["mismatch"]}))) == "completed_with_warnings"
    unreadable = pl.DataFrame([counts("placements", 0, 0, "cannot read")])
    assert "1 unreadable file(s)" in collect_warnings(unreadable, failures(), rec)


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pledgeflow.run.operations import run_lock
    with run_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def hold_lock_in_another_process(state_dir: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(state_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_process_cannot_take_the_lock_and_is_told_who_holds_it(tmp_path):
    holder = hold_lock_in_another_process(tmp_path)
    try:
        with pytest.raises(RunInProgress, match=f"pid {holder.pid}"):
            with run_lock(tmp_path, wait_seconds=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_crashed_run_does_not_leave_the_lock_stuck(tmp_path):
    holder = hold_lock_in_another_process(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)  # no cleanup runs: the OS drops the lock with the process
    holder.wait()
    with run_lock(tmp_path, wait_seconds=2):
        assert (tmp_path / "run.lock.holder").exists()
    assert not (tmp_path / "run.lock.holder").exists()
