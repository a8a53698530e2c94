"""`pledgeflow run` as a scheduler sees it: the process exit status of every verdict, and of unexpected failures.

Each case runs the real command in a child process against one Prefect test server. A verdict (3, 4, 5) and
bad usage (2) end with one plain line and no traceback; an unexpected failure (1) is never reported as a verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pledgeflow.errors import EXIT_AUDIT, EXIT_BLOCKED, EXIT_BUSY, EXIT_FAILED
from tests.conftest import copy_project
from tests.run.test_lock import hold_lock_in_another_process

pytestmark = pytest.mark.slow


def run_cli(root: Path, *args: str, extra_env: dict | None = None, timeout: float = 240) -> tuple[int, str]:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "COLUMNS": "200", **(extra_env or {})}
    done = subprocess.run([sys.executable, "-m", "pledgeflow.cli", "run", "--root", str(root), *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return done.returncode, done.stdout


def assert_plain_verdict(output: str, code: int) -> None:
    assert "Traceback" not in output, output
    assert f"(exit {code})" in output and "Nothing was published" in output, output


def test_a_clean_run_exits_0(tmp_path, prefect_server):
    code, output = run_cli(copy_project(tmp_path / "p"))
    assert code == 0, output
    assert "Traceback" not in output and "Pledge report:" in output


def test_a_breached_threshold_exits_3_in_one_plain_line(tmp_path, prefect_server):
    root = copy_project(tmp_path / "p")
    descriptor = root / "schemas/datasets/placements.yaml"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace("max_quarantined_pct: 10", "max_quarantined_pct: 1"),
                          encoding="utf-8")
    code, output = run_cli(root)
    assert code == EXIT_BLOCKED, output
    assert_plain_verdict(output, EXIT_BLOCKED)
    assert "over the limit of 1" in output and not (root / "curated/current").exists()


def test_a_failing_critical_expectation_exits_4(tmp_path, prefect_server):
    root = copy_project(tmp_path / "p")
    suite_path = root / "gx/expectations/indicators.json"
    suite = json.loads(suite_path.read_text(encoding="utf-8"))
    suite["expectations"].append({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 0, "max_value": 0},
                                  "meta": {"severity": "critical"}})
    suite_path.write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")
    code, output = run_cli(root)
    assert code == EXIT_AUDIT, output
    assert_plain_verdict(output, EXIT_AUDIT)
    assert "expect_table_row_count_to_be_between" in output and not (root / "curated/current").exists()


def test_a_run_while_another_holds_the_lock_exits_5(tmp_path, prefect_server):
    root = copy_project(tmp_path / "p")
    holder = hold_lock_in_another_process(root / "state")
    try:
        code, output = run_cli(root)
    finally:
        holder.kill()
        holder.wait()
    assert code == EXIT_BUSY, output
    assert_plain_verdict(output, EXIT_BUSY)


def test_a_broken_great_expectations_import_is_a_failure_exit_1_not_an_audit_verdict(tmp_path, prefect_server):
    root = copy_project(tmp_path / "p")
    broken = tmp_path / "broken" / "great_expectations"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("great_expectations is broken on this machine")\n')
    code, output = run_cli(root, extra_env={"PYTHONPATH": str(broken.parent)})
    assert code == EXIT_FAILED, output
    assert "Run failed (exit 1)" in output and "great_expectations is broken" in output
    assert "blocked by the audit" not in output and not (root / "curated/current").exists()


def test_a_disk_error_is_a_failure_exit_1(tmp_path, prefect_server):
    root = copy_project(tmp_path / "p")
    (root / "curated").write_text("not a folder")  # publishing cannot create curated/: an OSError, not a verdict
    code, output = run_cli(root)
    assert code == EXIT_FAILED, output
    assert "Run failed (exit 1)" in output


def test_bad_usage_exits_2_before_anything_starts(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pledgeflow.cli", "run", "--root", str(copy_project(tmp_path / "p")),
                           "--task-runner", "nope"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stdout, done.stdout
