"""AuditWorker: the nightly run's audit in a child interpreter gives the in-process audit's verdicts and files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
import pytest

from pledgeflow.errors import BlockedByAudit
from pledgeflow.publish.audit import audit_version
from pledgeflow.publish.audit_apart import AuditWorker, AuditWorkerError
from tests.publish.test_audit import SUITES, break_cumulative, make_tables, with_column, write_version

pytestmark = pytest.mark.slow  # each test starts a child that imports Great Expectations (6-9 s)


def test_the_worker_writes_what_the_in_process_audit_writes(tmp_path):
    tables = with_column(make_tables(), "indicators", "reported_actual", [4, 7])  # a warning: listed, not raised
    here, apart = write_version(tmp_path / "here" / "v000001", tables), write_version(tmp_path / "apart" / "v000001", tables)
    audit_version(here, SUITES)
    AuditWorker().audit(apart, SUITES)
    assert (apart / "audit.json").read_bytes() == (here / "audit.json").read_bytes()
    assert json.loads((apart / "audit.json").read_text(encoding="utf-8"))["warnings"]
    # the same pages of Data Docs (GX names each validation's folder by the time it ran)
    assert pages(apart / "data_docs") == pages(here / "data_docs") and (apart / "data_docs" / "index.html").is_file()


def pages(docs) -> set[tuple[str, ...]]:
    return {p.relative_to(docs).parts[:3] + (p.name,) for p in docs.rglob("*.html")}


def test_a_failed_critical_expectation_is_the_same_verdict(tmp_path):
    here = write_version(tmp_path / "here" / "v000002", break_cumulative(make_tables()))
    apart = write_version(tmp_path / "apart" / "v000002", break_cumulative(make_tables()))
    with pytest.raises(BlockedByAudit) as in_process:
        audit_version(here, SUITES)
    worker = AuditWorker()
    with pytest.raises(BlockedByAudit) as in_child:
        worker.audit(apart, SUITES)
    assert str(in_child.value) == str(in_process.value) and "derived_cumulative_minus_running_sum" in str(in_child.value)
    assert worker.process.returncode == 0 and worker.stdout.closed and worker.stderr.closed


def test_an_audit_that_cannot_run_is_an_error_naming_why(tmp_path):
    version = write_version(tmp_path / "v000003", make_tables())
    with pytest.raises(AuditWorkerError, match="could not run: ValueError: no expectation suites"):
        AuditWorker().audit(version, tmp_path / "no-suites")
    assert not (version / "audit.json").exists()


def test_an_io_error_in_the_child_is_an_os_error_that_publish_retries(tmp_path):
    version = write_version(tmp_path / "v000004", make_tables())
    (version / "audit.json").mkdir()  # writing audit.json fails as on a full or read-only disk
    with pytest.raises(OSError, match="IsADirectoryError"):
        AuditWorker().audit(version, SUITES)


def test_a_second_audit_runs_in_process_as_a_retried_publish_needs(tmp_path):
    worker = AuditWorker()
    worker.audit(write_version(tmp_path / "first" / "v000005", make_tables()), SUITES)
    again = write_version(tmp_path / "again" / "v000005", break_cumulative(make_tables()))
    with pytest.raises(BlockedByAudit, match="derived_cumulative_minus_running_sum"):
        worker.audit(again, SUITES)  # the worker is spent: the retry still audits, here
    assert (again / "audit.json").is_file()


def test_a_worker_closed_before_its_job_stops_and_leaves_nothing(tmp_path):
    worker = AuditWorker()  # the run was blocked by its data before publishing
    worker.close()
    assert worker.process.returncode is not None and worker.stdout.closed and worker.stderr.closed


def test_a_worker_whose_run_ends_without_a_job_exits_cleanly():
    worker = AuditWorker()
    worker.process.stdin.close()  # what the run's exit does to the pipe
    assert worker.process.wait(timeout=60) == 0
    worker.close()


PARENT = """
import sys, time
from pledgeflow.publish.audit_apart import AuditWorker
worker = AuditWorker()
print(worker.process.pid, flush=True)
time.sleep(600)
"""


def test_the_worker_stops_when_the_run_that_started_it_is_killed(tmp_path):
    # the run's temporary files go to tmp_path: a killed run must leave none behind
    run = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                           env=os.environ | {"TMPDIR": str(tmp_path)})
    try:
        child = psutil.Process(int(run.stdout.readline()))
        assert child.is_running()  # importing Great Expectations: seconds
    finally:
        run.kill()  # SIGKILL: the run gets no chance to close its worker
        run.wait()
    child.wait(timeout=60)  # psutil.TimeoutExpired if the worker outlives its run
    assert not list(tmp_path.iterdir())  # the run's answer and error files had no name to leave behind
