"""ReportBuild: the nightly run's report, built in a child interpreter, equals the in-process build."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from pledgeflow.report import build_report
from pledgeflow.report.apart import ReportBuild, ReportBuildError
from tests.report.conftest import RULE


def test_the_child_writes_the_pages_the_library_writes(tiny_version, tmp_path):
    here = build_report(tiny_version, tmp_path / "here", status_rule=RULE)
    ReportBuild(tiny_version, tmp_path / "apart", RULE, chart_cache=tmp_path / "charts").wait()
    for page in [here.index, *here.pledges.values()]:
        assert (tmp_path / "apart" / page.name).read_bytes() == page.read_bytes(), page.name
    assert list((tmp_path / "charts").glob("*.svg"))


def test_a_failing_child_is_an_error_naming_what_failed(tmp_path):
    with pytest.raises(ReportBuildError, match="could not be built: .*VersionError|could not be built: .*not"):
        ReportBuild(tmp_path / "no-such-version", tmp_path / "out", RULE).wait()
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_cancelled_build_stops_its_child(tiny_version, tmp_path):
    build = ReportBuild(tiny_version, tmp_path / "out", RULE)
    build.cancel()  # what the run does when the review pack beside it fails
    assert build.process.returncode is not None and build.stderr.closed


PARENT = """
import sys, time
from pathlib import Path
from pledgeflow.report.apart import ReportBuild
build = ReportBuild(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
print(build.process.pid, flush=True)
time.sleep(600)
"""


def test_the_child_stops_when_the_run_that_started_it_is_killed(tiny_version, tmp_path):
    run = subprocess.Popen([sys.executable, "-c", PARENT, str(tiny_version), str(tmp_path / "out"), str(RULE)],
                           stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(run.stdout.readline()))
    assert child.is_running()  # still importing: a build takes seconds
    run.kill()  # SIGKILL: the run gets no chance to cancel its child
    run.wait()
    child.wait(timeout=30)  # psutil.TimeoutExpired if the child outlives its run
    assert not (tmp_path / "out" / "index.html").exists()
