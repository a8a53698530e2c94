"""The command line a steward uses: exit codes, readable failures, and no Prefect / GX on those paths."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pledgeflow.cli.commands import app
from tests.conftest import REPO

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


def test_validate_lists_each_failure_with_file_row_rule_and_exits_1():
    result = invoke("validate", str(REPO / "raw/placements/2019_채용실적.csv"), "--root", str(REPO))
    assert result.exit_code == 1
    assert "read 129" in result.output and "encoding cp949" in result.output
    for row, rule in (("47", "parse_date"), ("36", "unknown_channel"), ("116", "brn_check_digit")):
        assert any(row in line and rule in line for line in result.output.splitlines()), (row, rule)
    assert "[hire_date]" in result.output  # message text is not eaten as rich markup


def test_validate_a_clean_delivery_exits_0():
    result = invoke("validate", str(REPO / "raw/training_cohorts/2018_교육과정_운영현황.xlsx"), "--root", str(REPO))
    assert result.exit_code == 0 and "No failures" in result.output


@pytest.mark.parametrize("args", [("validate", "nope.csv"), ("validate", str(REPO / "README.md"), "--dataset", "nope")])
def test_bad_usage_exits_2_with_a_message(args):
    result = invoke(*args, "--root", str(REPO))
    assert result.exit_code == 2 and result.output.strip()


def test_failures_before_anything_is_published_says_so(project):
    result = invoke("failures", "--root", str(project))
    assert result.exit_code == 2 and "Nothing published yet" in result.output


STEWARD_COMMANDS = [
    ["validate", str(REPO / "raw/placements/2019_채용실적.csv")],
    ["failures"],
    ["reconcile"],
    ["runs"],
    ["review", "list"],
    ["report"],
]


@pytest.mark.parametrize("command", STEWARD_COMMANDS, ids=lambda c: " ".join(c[:2]).replace(str(REPO), ""))
def test_steward_commands_do_not_import_prefect_or_great_expectations(command, project):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from pledgeflow.cli.commands import app\n"
        f"result = CliRunner().invoke(app, {command + ['--root', str(project)]!r})\n"
        "assert result.exception is None or isinstance(result.exception, SystemExit), result.exception\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'great_expectations'))\n"
        "assert not heavy, heavy[:5]\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_only_io_errors_are_retried():
    from prefect.states import Failed

    from pledgeflow.run.flow import retry_on_io

    assert retry_on_io(None, None, Failed(data=OSError("share busy"))) is True
    assert retry_on_io(None, None, Failed(data=ValueError("bad data"))) is False


def test_synth_writes_a_runnable_project_and_refuses_the_repo(tmp_path):
    result = invoke("synth", str(tmp_path / "bench"), "--rows", "300", "--districts", "2", "--root", str(REPO))
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "bench/raw/placements").rglob("*.*")) and (tmp_path / "bench/schemas/catalog.yaml").exists()
    assert invoke("synth", str(REPO), "--root", str(REPO)).exit_code == 2
    # a delivery in a district's folder under the dataset's folder is validated as that dataset, as the run reads it
    delivery = sorted((tmp_path / "bench/raw/placements").rglob("*.csv"))[0]
    assert delivery.parent.parent.name == "placements"
    checked = invoke("validate", str(delivery), "--root", str(tmp_path / "bench"))
    assert checked.exit_code in (0, 1) and f"{delivery.name}: read " in checked.output, checked.output


def test_python_dash_m_pledgeflow_is_the_same_command_line():
    completed = subprocess.run([sys.executable, "-m", "pledgeflow", "--help"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "catalog" in completed.stdout and "run" in completed.stdout
