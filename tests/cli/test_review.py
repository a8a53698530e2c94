"""Tests for `pledgeflow review …`: decisions recorded against the current published failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pledgeflow.cli.review import review_app
from pledgeflow.steward.ledger import load_decisions
from pledgeflow.contracts import conform

from tests.conftest import CURATED, copy_project, make_project

FILE = "placements/2019_채용실적.csv"
RID = "90996f0f152856da"
runner = CliRunner()


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A project whose current version holds one hand-made failure (row 47, hire_date)."""
    root = copy_project(tmp_path / "project")
    failures = conform(pl.DataFrame({
        "dataset": ["placements"], "source_file": [FILE], "source_row": [47], "record_key": ["p_x|?"], "record_id": [RID],
        "column": ["hire_date"], "rule": ["parse_date"], "value": ["2019. 2. 30."], "severity": ["error"],
        "message_ko": ["날짜"], "message_en": ["date"], "fingerprint": ["fp00000000000047"], "first_seen_run": [1],
        "state": ["new"],
    }), CURATED["validation_failures"])
    version = root / "curated" / "versions" / "v000001"
    version.mkdir(parents=True)
    failures.write_parquet(version / "validation_failures.parquet")
    (root / "curated" / "current").symlink_to(Path("versions") / "v000001", target_is_directory=True)
    return root


def review(root: Path, *args: str):
    return runner.invoke(review_app, [*args, "--root", str(root)])


def ledger(root: Path) -> pl.DataFrame:
    return load_decisions(root / "raw" / "decisions", make_project(root))


def test_correct_by_file_and_row_appends_to_the_ledger(published):
    result = review(published, "correct", "--file", f"raw/{FILE}", "--row", "47", "--column", "채용일",
                    "--value", "2019. 3. 2.", "--by", "김민영", "--reason", "원본 대장 확인")
    assert result.exit_code == 0, result.output
    assert "D-000001" in result.output
    assert "reconciliation with the printed card may change" in result.output  # why the next reconcile differs
    row = ledger(published).row(0, named=True)
    assert (row["action"], row["dataset"], row["source_file"], row["source_row"], row["record_id"], row["column"],
            row["new_value"], row["decided_by"], row["problem_rule"]) == (
        "correct", "placements", FILE, 47, RID, "hire_date", "2019. 3. 2.", "김민영", None)


def test_waive_by_fingerprint_with_expiry(published):
    result = review(published, "waive", "--fingerprint", "fp00000000000047", "--by", "김", "--reason", "확인",
                    "--expires", "2099-12-31")
    assert result.exit_code == 0, result.output
    assert ledger(published).select("action", "record_id", "expires_date").row(0)[:2] == ("waive", RID)
    assert str(ledger(published)["expires_date"][0]) == "2099-12-31"


@pytest.mark.parametrize("args", [
    ["correct", "--file", FILE, "--row", "47", "--column", "fair_date", "--value", "x"],   # not a placements column
    ["correct", "--file", FILE, "--row", "47", "--column", "person_id", "--value", "x"],   # pseudonymised
    ["waive", "--fingerprint", "nope"],                                                    # unknown failure
    ["waive", "--file", FILE, "--row", "5"],                                               # valid: nothing to waive
    ["exclude", "--file", FILE],                                                           # neither row nor fingerprint
    ["exclude", "--file", FILE, "--row", "9999"],                                          # not a data row
    ["waive", "--file", FILE, "--row", "47", "--expires", "2001-01-01"],                   # expiry in the past
])
def test_refusals_exit_2_and_leave_the_ledger_alone(published, args):
    before = (published / "raw" / "decisions" / "decisions.csv").read_bytes()
    result = review(published, *args, "--by", "김", "--reason", "확인")
    assert result.exit_code == 2, result.output
    assert (published / "raw" / "decisions" / "decisions.csv").read_bytes() == before


def test_exclude_a_valid_record_reads_its_delivery_for_the_record_id(published):
    result = review(published, "exclude", "--file", FILE, "--row", "5", "--by", "김", "--reason", "사업 대상 아님")
    assert result.exit_code == 0, result.output
    row = ledger(published).row(0, named=True)
    assert row["source_row"] == 5 and len(row["record_id"]) == 16 and row["record_id"] != RID


def test_nothing_published_is_refused(tmp_path):
    root = copy_project(tmp_path / "project")
    result = review(root, "exclude", "--file", FILE, "--row", "5", "--by", "김", "--reason", "x")
    assert result.exit_code == 2 and "run" in result.output


def test_list_shows_decisions_and_ledger_problems(published):
    review(published, "exclude", "--file", FILE, "--row", "47", "--by", "김", "--reason", "중복 제출")
    with (published / "raw" / "decisions" / "decisions.csv").open("a", encoding="utf-8") as handle:
        handle.write("D-000009,어제,김,fix,placements,,,0123456789abcdef,,,사유,\r\n")
    result = runner.invoke(review_app, ["list", "--root", str(published)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "D-000001" in result.output and "중복 제출" in result.output
    assert "invalid" in result.output and "[조치] 허용된 값이 아닙니다" in result.output


def test_review_commands_import_neither_prefect_nor_great_expectations(published):
    code = ("import sys, pledgeflow.cli.review; "
            "assert 'prefect' not in sys.modules and 'great_expectations' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
    # and running the commands (which import more, lazily) does not pull them in either
    command = ("import sys; from typer.testing import CliRunner; from pledgeflow.cli.review import review_app; "
               f"root = {str(published)!r}; run = CliRunner().invoke; "
               "assert run(review_app, ['exclude', '--file', 'placements/2019_채용실적.csv', '--row', '5', '--by', 'k', "
               "'--reason', 'r', '--root', root]).exit_code == 0; "
               "assert run(review_app, ['list', '--root', root]).exit_code == 0; "
               "assert 'prefect' not in sys.modules and 'great_expectations' not in sys.modules")
    subprocess.run([sys.executable, "-c", command], check=True, env=os.environ.copy())
