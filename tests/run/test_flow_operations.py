"""Nightly operations, end to end under a Prefect server: incremental runs, thresholds, unreadable files, locking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import psutil
import pytest

from pledgeflow.ingest import deliver as ingest
from tests.conftest import copy_project
from tests.run.test_lock import hold_lock_in_another_process

pytestmark = pytest.mark.slow
DATA_TABLES = ("indicators", "budget", "reconciliation", "validation_failures")
NEW_DELIVERY = (
    "구직자 관리번호,출생연도,사업자등록번호,사업체명,채용일,세부사업,연계경로,연계 과정·박람회 번호,비고\n"
    "YDP-J-900001,1968,124-81-00998,영등포상사,2021. 3. 2.,중장년 일자리 창출,Job아라,-,\n"
    "YDP-J-900002,1990,124-81-00998,영등포상사,2021. 3. 9.,기업과 연계 일자리 창출,Job포유,-,\n"
)


def nightly_state(root: Path, **params):
    from pledgeflow.run.flow import nightly

    return nightly(root=str(root), return_state=True, **params)


def table_bytes(root: Path) -> dict[str, bytes]:
    return {t: (root / "curated/current" / f"{t}.parquet").read_bytes() for t in DATA_TABLES}


def every_table(root: Path) -> dict[str, pl.DataFrame]:
    """Every curated table of the current version; the run history without its wall-clock and reuse columns."""
    current = root / "curated/current"
    tables = {p.stem: pl.read_parquet(p) for p in sorted(current.glob("*.parquet"))}
    tables["runs"] = tables["runs"].drop("started_at", "finished_at", "duration_s", "step_seconds_json", "files_reused")
    return tables


def test_a_new_delivery_alone_is_read_and_the_output_equals_a_full_run(project, tmp_path, prefect_server, monkeypatch):
    full_project = copy_project(tmp_path / "full")
    for root in (project, full_project):
        assert nightly_state(root).is_completed()
        (root / "raw/placements/2021_추가제출.csv").write_text(NEW_DELIVERY, encoding="utf-8-sig")
    reads = []
    original = ingest.read_delivery
    monkeypatch.setattr(ingest, "read_delivery", lambda path, *a, **k: reads.append(Path(path).name) or original(path, *a, **k))

    incremental = nightly_state(project)
    assert incremental.is_completed() and reads == ["2021_추가제출.csv"]
    assert incremental.result()["files_reused"] == 9
    manifest = json.loads((project / "curated/current/manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["extra"]["reused_files"]) == 9

    reads.clear()
    assert nightly_state(full_project, full=True).is_completed() and len(reads) == 10
    incremental_tables, full_tables = every_table(project), every_table(full_project)
    assert sorted(incremental_tables) == sorted(full_tables) and len(full_tables) >= 11
    for name, frame in full_tables.items():
        assert incremental_tables[name].equals(frame), name
    for name in full_tables:
        if name != "runs":  # the same bytes, not only the same values
            assert (project / f"curated/current/{name}.parquet").read_bytes() == (full_project / f"curated/current/{name}.parquet").read_bytes(), name
    indicators = full_tables["indicators"]
    assert indicators.filter(pl.col("period") == "2021")["actual"].sum() == 2


def test_a_breached_threshold_blocks_publish_and_keeps_the_previous_version(project, prefect_server):
    assert nightly_state(project).is_completed()
    before = table_bytes(project)
    descriptor = project / "schemas/datasets/placements.yaml"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace("max_quarantined_pct: 10", "max_quarantined_pct: 1"),
                          encoding="utf-8")
    state = nightly_state(project)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert getattr(error, "exit_code", None) == 3 and "placements" in str(error) and "over the limit of 1" in str(error)
    assert table_bytes(project) == before and os.readlink(project / "curated/current").endswith("v000001")
    runs = pl.read_parquet(project / "state/runs.parquet")
    assert runs["status"].to_list() == ["completed_with_warnings", "blocked"]
    assert audit_workers() == []  # the worker started before settling was stopped with the blocked run


def audit_workers() -> list[psutil.Process]:
    """This process's audit worker children still alive (the run starts one before settling)."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "pledgeflow.publish.audit_apart" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            continue
    return alive


def test_an_unreadable_file_is_a_file_level_failure_not_a_crash(project, prefect_server):
    (project / "raw/placements/2021_깨진파일.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    (project / "raw/job_fairs/빈파일.csv").write_bytes(b"")
    state = nightly_state(project)
    assert state.is_completed() and state.result()["status"] == "completed_with_warnings"
    failures = pl.read_parquet(project / "curated/current/validation_failures.parquet")
    broken = failures.filter(pl.col("rule") == "file_unreadable")
    assert sorted(broken["source_file"]) == ["job_fairs/빈파일.csv", "placements/2021_깨진파일.xlsx"]
    assert broken["message_ko"].str.contains("파일").all() and broken["source_row"].is_null().all()
    counts = {c["source_file"]: c for c in json.loads((project / "curated/current/manifest.json").read_text())["file_counts"]}
    assert counts["placements/2021_깨진파일.xlsx"]["rows_read"] == 0 and counts["placements/2021_깨진파일.xlsx"]["file_error"]


def cli_run(root: Path, *args: str) -> subprocess.Popen:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "pledgeflow.cli", "run", "--root", str(root), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_run_started_while_another_holds_the_lock_exits_5_with_a_message(project, prefect_server):
    holder = hold_lock_in_another_process(project / "state")
    try:
        output, _ = (proc := cli_run(project)).communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 5, output
    assert "another pledgeflow run is in progress" in output and f"pid {holder.pid}" in output
    assert not (project / "curated/current").exists()


def test_two_runs_started_together_publish_one_after_the_other(project, prefect_server):
    first, second = cli_run(project, "--wait", "120"), cli_run(project, "--wait", "120")
    outputs = [p.communicate(timeout=240)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    runs = pl.read_parquet(project / "state/runs.parquet")
    assert runs["run_number"].to_list() == [1, 2] and runs["version"].to_list() == ["v000001", "v000002"]
    assert sorted(p.name for p in (project / "curated/versions").iterdir()) == ["v000001", "v000002"]
