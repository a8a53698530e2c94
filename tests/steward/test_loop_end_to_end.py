"""The data steward's loop, end to end: run, decide through the CLI, run again, rerun unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pledgeflow.cli.commands import app
from tests.conftest import REPO

pytestmark = pytest.mark.slow
PLANTED = pl.read_csv(REPO / "tests/data/planted_defects.csv")
EXCLUDED = ("placements/2018_하반기_채용실적.xlsx", 5)  # a valid placement (no planted defect)


def planted(rule: str) -> tuple[str, int]:
    row = PLANTED.filter(pl.col("dataset") == "placements", pl.col("rule") == rule).row(0, named=True)
    return row["source_file"], row["source_row"]


def run(root: Path) -> dict:
    from pledgeflow.run.flow import nightly

    return nightly(root=str(root))


def review(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["review", *args, "--by", "김민영", "--root", str(root)])
    assert result.exit_code == 0, result.output
    return result.output


def current(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "curated/current" / f"{table}.parquet")


def states_at(failures: pl.DataFrame, location: tuple[str, int]) -> set[str]:
    return set(failures.filter(pl.col("source_file") == location[0], pl.col("source_row") == location[1])["state"])


def test_decisions_recorded_through_the_cli_are_applied_by_the_next_run(project, prefect_server):
    run(project)
    first_failures = current(project, "validation_failures")
    assert set(first_failures["state"]) == {"new"}
    first_actual = current(project, "indicators")["actual"].sum()

    bad_date, bad_brn, bad_channel = planted("parse_date"), planted("brn_check_digit"), planted("unknown_channel")
    review(project, "correct", "--file", bad_date[0], "--row", str(bad_date[1]), "--column", "hire_date",
           "--value", "2019. 2. 28.", "--reason", "원본 서류 확인: 2월 28일 채용")
    review(project, "waive", "--file", bad_brn[0], "--row", str(bad_brn[1]), "--reason", "폐업 사업자, 국세청 확인")
    review(project, "exclude", "--file", EXCLUDED[0], "--row", str(EXCLUDED[1]), "--reason", "타 사업 실적으로 중복 보고")
    review(project, "waive", "--file", bad_channel[0], "--row", str(bad_channel[1]), "--reason", "지인소개도 인정")
    # the district re-delivers the file with that record changed: its waiver no longer matches what was decided on
    redelivered = project / "raw" / bad_channel[0]
    text = redelivered.read_bytes().decode("cp949").replace("지인소개", "지인 소개")
    redelivered.write_bytes(text.encode("cp949"))

    summary = run(project)
    failures = current(project, "validation_failures")
    assert states_at(failures, bad_date) == {"corrected"}
    assert states_at(failures, bad_brn) == {"waived"}
    assert states_at(failures, bad_channel) == {"new"}  # changed content: a new failure, and the waiver is stale
    decisions = current(project, "decisions").sort("decision_id")
    assert decisions["outcome"].to_list() == ["applied", "applied", "applied", "stale_changed"]
    assert summary["decisions_applied"] == 3 and summary["decisions_stale"] == 1
    assert "stale" in summary["warnings"]

    indicators = current(project, "indicators")
    assert indicators["actual"].sum() == first_actual + 1 + 1 - 1
    assert indicators.select(pl.col("corrected_records", "waived_records", "decision_excluded_records").sum()).row(0) == (1, 1, 1)
    counts = pl.read_parquet(project / "state/runs.parquet")
    assert counts["rows_read"].to_list()[0] == counts["rows_read"].to_list()[1]

    run(project)  # nothing changed: what no decision settled persists
    rerun = current(project, "validation_failures")
    assert set(rerun.filter(~pl.col("state").is_in(["corrected", "waived", "excluded"]))["state"]) == {"persisting"}
    assert states_at(rerun, bad_date) == {"corrected"} and states_at(rerun, bad_brn) == {"waived"}


def test_a_critical_expectation_blocks_publish_and_names_itself(project, prefect_server):
    run(project)
    before = (project / "curated/current/indicators.parquet").read_bytes()
    suite = project / "gx/expectations/indicators.json"
    # a district tightens the rate's range and makes it critical: the (unchanged) data now breaks it
    spec = json.loads(suite.read_text(encoding="utf-8"))
    for expectation in spec["expectations"]:
        if expectation["kwargs"].get("column") == "achievement_rate_pct" and "max_value" in expectation["kwargs"]:
            expectation["kwargs"]["max_value"] = 50
            expectation["meta"]["severity"] = "critical"
    suite.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    from pledgeflow.run.flow import nightly

    state = nightly(root=str(project), return_state=True)
    error = state.result(raise_on_failure=False)
    assert state.is_failed() and getattr(error, "exit_code", None) == 4
    assert "achievement_rate_pct" in str(error) and "expect_column_values_to_be_between" in str(error)
    assert (project / "curated/current/indicators.parquet").read_bytes() == before
    assert pl.read_parquet(project / "state/runs.parquet")["status"].to_list()[-1] == "blocked"


def test_excluding_the_first_copy_of_a_duplicate_lets_the_second_count(project, prefect_server):
    run(project)
    before = current(project, "indicators")["actual"].sum()
    copy = planted("duplicate_record")  # its first copy is row 13 of the 2019 file
    assert states_at(current(project, "validation_failures"), copy) == {"new"}
    review(project, "exclude", "--file", "placements/2019_채용실적.csv", "--row", "13", "--reason", "재제출본으로 대체")

    run(project)
    failures = current(project, "validation_failures")
    assert states_at(failures, copy) == set()  # no longer a duplicate of anything
    indicators = current(project, "indicators")
    assert indicators["actual"].sum() == before and indicators["decision_excluded_records"].sum() == 1
