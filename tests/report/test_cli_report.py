"""`pledgeflow report`: builds the pages of curated/current without Prefect or Great Expectations."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from pledgeflow.cli import app
from tests.conftest import copy_project
from tests.report.conftest import tiny_tables, write_version


def make_project(tmp_path: Path) -> Path:
    root = copy_project(tmp_path / "project")
    write_version(root / "curated" / "versions" / "v000007", tiny_tables())
    os.symlink("versions/v000007", root / "curated" / "current")
    return root


def test_report_builds_into_out_and_prints_the_pages(tmp_path):
    root = make_project(tmp_path)
    result = CliRunner().invoke(app, ["report", "--root", str(root), "--out", str(tmp_path / "out"), "--pledge", "p-1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "pledge-p-1.html").is_file()
    assert not (tmp_path / "out" / "pledge-p-2.html").exists()
    assert "pledge-p-1.html" in result.output


def test_report_defaults_to_the_state_folder_then_to_the_versions_own_report(tmp_path):
    root = make_project(tmp_path)
    result = CliRunner().invoke(app, ["report", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "state" / "reports" / "v000007" / "index.html").is_file()
    (root / "curated" / "versions" / "v000007" / "report").mkdir()
    (root / "curated" / "versions" / "v000007" / "report" / "index.html").write_text("<!DOCTYPE html>", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "--root", str(root)])
    assert result.exit_code == 0 and result.output.strip() == str(root / "curated" / "current" / "report" / "index.html")


def test_report_of_an_unknown_pledge_or_nothing_published_exits_2(tmp_path):
    root = make_project(tmp_path)
    assert CliRunner().invoke(app, ["report", "--root", str(root), "--pledge", "p-9"]).exit_code == 2
    (root / "curated" / "current").unlink()
    assert CliRunner().invoke(app, ["report", "--root", str(root)]).exit_code == 2
