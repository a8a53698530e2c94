"""The command line as a new user finds it: refusals outside a project, choices, --version, --json,
failures with states and from a blocked run, runs in KST, output width through a pipe, synth's guards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pledgeflow.cli.commands import app
from tests.conftest import REPO, copy_project, publish_project

runner = CliRunner()
NOT_A_PROJECT = "is not a pledgeflow project"


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The bundled project, run once through every stage (no Prefect) and published."""
    root = copy_project(tmp_path_factory.mktemp("published") / "project")
    publish_project(root)
    return root


COMMANDS = [["run"], ["validate", str(REPO / "raw/placements/2019_채용실적.csv")], ["failures"], ["reconcile"], ["runs"],
            ["serve"], ["report"], ["synth", "/tmp/never-written"], ["review", "list"],
            ["review", "exclude", "--file", "placements/x.csv", "--row", "5", "--by", "a", "--reason", "b"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]).replace(str(REPO), ""))
def test_every_command_refuses_to_run_outside_a_project(command, tmp_path):
    result = invoke(*command, "--root", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert NOT_A_PROJECT in result.output and "--root" in result.output
    assert not Path("/tmp/never-written").exists()


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("pledgeflow ") and result.output.strip()[-1].isdigit()


@pytest.mark.parametrize("command", [["failures", "--dataset", "placement"], ["failures", "--state", "open"],
                                     ["validate", str(REPO / "raw/placements/2019_채용실적.csv"), "--dataset", "placement"]])
def test_a_mistyped_choice_is_refused_with_the_choices(command):
    result = invoke(*command, "--root", str(REPO))
    assert result.exit_code == 2
    assert "placement'" in result.output or "open'" in result.output
    assert "placements" in result.output and "job_fairs" in result.output or "persisting" in result.output


def test_task_runner_and_dataset_list_their_choices():
    bad = invoke("run", "--task-runner", "thread", "--root", str(REPO))
    assert bad.exit_code == 2 and "threads" in bad.output and "dask" in bad.output
    assert "threads|dask" in invoke("run", "--help").output
    assert "placements | training_cohorts | job_fairs" in invoke("failures", "--help").output


@pytest.mark.parametrize("command", [["failures"], ["reconcile"], ["runs"], ["review", "list"]])
def test_json_is_the_only_thing_on_stdout(command, published):
    completed = subprocess.run([sys.executable, "-m", "pledgeflow.cli", *command, "--json", "--root", str(published)],
                               capture_output=True, timeout=120, env=os.environ | {"PYTHONIOENCODING": "ascii"})
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    document = json.loads(completed.stdout.decode("utf-8"))  # UTF-8 whatever the terminal's encoding
    assert isinstance(document["rows"], list)
    if command == ["runs"]:
        assert date.fromisoformat(document["rows"][0]["started_at"][:10])  # ISO dates
    if command == ["failures"]:
        assert document["rows"] and document["source"] == "published" and document["version"] == "v000001"


def test_failures_counts_quarantined_records_and_shows_each_state(published, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(published, root, symlinks=True)
    failing = pl.read_parquet(root / "curated/current/validation_failures.parquet").sort("source_file", "source_row")
    first = failing.row(0, named=True)
    waived = runner.invoke(app, ["review", "waive", "--file", first["source_file"], "--row", str(first["source_row"]),
                                 "--by", "김민영", "--reason", "확인", "--root", str(root)])
    assert waived.exit_code == 0, waived.output
    publish_project(root)
    document = json.loads(invoke("failures", "--json", "--root", str(root)).stdout)
    quarantined = pl.read_parquet(root / "curated/current/runs.parquet").sort("run_number")["rows_quarantined"][-1]
    assert document["records_quarantined"] == quarantined  # the waived record is not counted as quarantined
    assert document["failures_by_state"].get("waived", 0) >= 1
    shown = invoke("failures", "--root", str(root)).output
    assert f"{quarantined} records quarantined" in shown and "waived" in shown and "state" in shown


def test_after_a_blocked_run_failures_shows_the_failures_that_blocked_it(published, tmp_path):
    from pledgeflow.errors import BlockedByData
    from pledgeflow.run.bookkeeping import record_unpublished, start_run
    from pledgeflow.run.tables import keep_blocked_review
    from tests.conftest import settle_project

    root = tmp_path / "project"
    shutil.copytree(published, root, symlinks=True)
    project, settled, _ = settle_project(root)
    run, reason = start_run(project), "placements: 9.6% of rows quarantined, over the limit of 5%"
    pack = keep_blocked_review(run, project, settled, reason)
    record_unpublished(run, project, BlockedByData(reason), {})  # as the flow does
    assert pack.is_file() and pack.is_relative_to(root / "state" / "runs" / "run-000002")
    result = invoke("failures", "--root", str(root))
    assert result.exit_code == 0
    assert "run-000002 was BLOCKED" in result.output and "over the limit of 5%" in result.output and str(pack) in result.output
    document = json.loads(invoke("failures", "--json", "--root", str(root)).stdout)
    assert document["source"] == "blocked_run" and document["current_version"] == "v000001" and document["rows"]
    publish_project(root)  # a later run publishes: its failures are the ones to act on again
    assert "Published version v000003" in invoke("failures", "--root", str(root)).output


def test_runs_shows_kst_without_microseconds_and_step_durations(published):
    output = invoke("runs", "--root", str(published)).output
    assert "KST" in output and "UTC" not in output and "+00:00" not in output
    assert not any(part.count(".") and len(part.split(".")[-1]) == 6 and part[:4].isdigit() for part in output.split())


def test_output_through_a_pipe_is_not_cut_at_80_columns(published):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    completed = subprocess.run([sys.executable, "-m", "pledgeflow.cli", "failures", "--root", str(published)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert max(len(line) for line in lines) > 120
    assert any("placements/2019_채용실적.csv" in line for line in lines)  # a file name is never folded into slivers


def test_synth_refuses_the_projects_raw_and_works_for_any_row_count(tmp_path):
    root = copy_project(tmp_path / "project")
    before = sorted(p for p in (root / "raw").rglob("*"))
    for target in (root / "raw", root / "raw" / "placements" / "x", root):
        result = invoke("synth", str(target), "--rows", "10", "--root", str(root))
        assert result.exit_code == 2 and "Refusing" in result.output
    assert sorted(p for p in (root / "raw").rglob("*")) == before
    for rows in ("1", "7"):
        result = invoke("synth", str(tmp_path / f"bench{rows}"), "--rows", rows, "--root", str(root))
        assert result.exit_code == 0, result.output
    assert invoke("synth", str(tmp_path / "bench0"), "--rows", "0", "--root", str(root)).exit_code == 2


def test_a_waiver_expiry_may_be_relative_and_never_before_today_in_seoul():
    import typer

    from pledgeflow.cli.review import parse_expiry

    today = date(2026, 12, 3)
    assert parse_expiry("+90d", today) == date(2027, 3, 3)
    assert parse_expiry("6개월", today) == date(2027, 6, 3) and parse_expiry("1y", today) == date(2027, 12, 3)
    assert parse_expiry("2026-12-03", today) == today  # the waiver still holds on its last day
    with pytest.raises(typer.Exit):
        parse_expiry("2021-12-31", today)


def test_make_run_says_what_it_is_doing_before_each_slow_step():
    dry = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, timeout=60).stdout.splitlines()
    sync = next(i for i, line in enumerate(dry) if "sync --frozen" in line and not line.startswith("echo"))
    flow = next(i for i, line in enumerate(dry) if "pledgeflow run" in line and not line.startswith("echo"))
    assert any("installing" in line for line in dry[:sync] if line.startswith("echo"))
    assert any("Prefect server" in line for line in dry[sync:flow] if line.startswith("echo"))


def test_run_says_it_is_starting_the_flow_before_waiting_for_the_server(monkeypatch):
    import pledgeflow.run.flow as flow_module

    printed_first = []

    def fake_runner(kind, workers):
        def nightly(**_):
            printed_first.append(True)
            raise SystemExit(9)  # stop here: the line must already be out
        return nightly

    monkeypatch.setattr(flow_module, "with_task_runner", fake_runner)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = invoke("run", "--root", str(REPO))
    assert printed_first and "Starting the nightly flow" in result.output and "temporary local Prefect server" in result.output
