"""What the wheel installs: the `pledgeflow` package with its report's queries and templates, and nothing else
(no top-level `flows` package: the flow lives in `pledgeflow.run.flow`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def uv_command() -> list[str]:
    return [found] if (found := shutil.which("uv")) else [sys.executable, "-m", "uv"]


def test_the_wheel_holds_one_top_level_package_with_its_data_files(tmp_path):
    built = subprocess.run([*uv_command(), "build", "--wheel", "--out-dir", str(tmp_path)], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"pledgeflow", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "pledgeflow/run/flow.py" in names
    assert any(n.startswith("pledgeflow/report/queries/") and n.endswith(".sql") for n in names)
    assert any(n.startswith("pledgeflow/report/templates/") for n in names)
