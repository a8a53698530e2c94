"""Fixtures of the pledge report's tests: a tiny curated version written by hand (unit tests), and the
bundled pledge 15 published by the pipeline's nodes without Prefect (browser tests)."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pledgeflow.contracts import conform
from tests.conftest import CURATED, REPO, copy_project, publish_project

RULE = REPO / "schemas" / "report" / "status_rule.yaml"
PERIODS = [("2018", 1, date(2018, 7, 1), date(2018, 12, 31)), ("2019", 2, date(2019, 1, 1), date(2019, 12, 31)),
           ("2020", 3, date(2020, 1, 1), date(2020, 12, 31))]


def indicator_rows(pledge: str, sub: str, name: str, targets: list, actuals: list) -> list[dict]:
    total = sum(t or 0 for t in targets)
    rows, running = [], 0
    for (period, order, start, end), target, actual in zip(PERIODS, targets, actuals):
        running += actual
        rows.append({"pledge_id": pledge, "subproject_id": sub, "subproject_name_ko": name, "indicator_id": "jobs",
                     "indicator_name_ko": "일자리 창출 인원", "unit": "명", "period": period, "period_order": order,
                     "period_start_date": start, "period_end_date": end, "target": target, "actual": actual,
                     "reported_actual": actual, "cumulative_actual": running, "total_target": total,
                     "achievement_rate_pct": round(100 * running / total, 1), "excluded_records": 1 if period == "2019" else 0,
                     "status": "met"})
    return rows


def tiny_tables() -> dict[str, pl.DataFrame]:
    """Two pledges, as of 2019-12-31: p-1 ahead of its targets (card ticks 완료), p-2 behind."""
    budget = [("total", "계", "total", "계", "total", 30, "30"), ("total", "계", "total", "계", "2018", 10, "10"),
              ("total", "계", "total", "계", "2019", 25, "25"),  # printed 25, parts add to 20
              ("total", "계", "district", "구비", "total", 30, "30"), ("total", "계", "district", "구비", "2018", 10, "10"),
              ("total", "계", "district", "구비", "2019", 20, "20"), ("a", "가 사업", "total", "계", "2018", 10, "10"),
              ("a", "가 사업", "total", "계", "2019", 20, "20")]
    tables = {
        "pledges": pl.DataFrame([
            {"pledge_id": "p-1", "pledge_no": 1, "district_ko": "시험구", "title_ko": "첫 공약", "term_start_date": date(2018, 7, 1),
             "term_end_date": date(2020, 12, 31), "as_of_date": date(2019, 12, 31), "implementation_stage_ko": "완료(지속)"},
            {"pledge_id": "p-2", "pledge_no": 2, "district_ko": "시험구", "title_ko": "둘째 공약", "term_start_date": date(2018, 7, 1),
             "term_end_date": date(2020, 12, 31), "as_of_date": date(2019, 12, 31), "implementation_stage_ko": "추진중"}]),
        "indicators": pl.DataFrame(indicator_rows("p-1", "a", "가 사업", [10, 20, 30], [10, 25, 0])
                                   + indicator_rows("p-2", "b", "나 사업", [None, 40, 40], [5, 10, 0])),
        "indicator_holdbacks": pl.DataFrame([{"pledge_id": "p-1", "subproject_id": "a", "indicator_id": "jobs",
                                              "period": "2019", "rule": "required", "held_back_records": 1}]),
        "budget": pl.DataFrame([dict(zip(["subproject_id", "subproject_name_ko", "funding_source", "funding_source_ko",
                                          "period", "amount_million_krw", "amount_text"], b)) | {"pledge_id": "p-1"} for b in budget]),
        "reconciliation": pl.DataFrame([
            {"check_id": "c1", "kind": "report_arithmetic", "rule": "course_years_sum", "subject": "activity/교육/trained",
             "period": "total", "expected": 220.0, "observed": 185.0, "difference": -35.0, "observed_text": "185",
             "status": "mismatch", "message_ko": "합계 불일치", "message_en": "total differs"},
            {"check_id": "c2", "kind": "records_vs_report", "rule": "period_actual", "subject": "indicators/b/jobs",
             "period": "2019", "expected": 10.0, "observed": 12.0, "difference": 2.0, "observed_text": "12",
             "status": "mismatch", "message_ko": "불일치", "message_en": "differs"},
            {"check_id": "c3", "kind": "records_vs_report", "rule": "rate_from_records", "subject": "indicators/a/jobs",
             "period": "total", "expected": 58.3, "observed": 58.0, "difference": 0.0, "observed_text": "58%",
             "status": "match", "message_ko": "일치", "message_en": "match"}]),
        "card_attributes": pl.DataFrame([
            {"pledge_id": "p-1", "option_order": 1, "attribute_ko": "이행단계", "option_ko": "추진중", "selected": False},
            {"pledge_id": "p-1", "option_order": 2, "attribute_ko": "이행단계", "option_ko": "완료(지속)", "selected": True,
             "selected_text": "○"}]),
        "card_activities": pl.DataFrame([
            {"pledge_id": "p-1", "activity_order": 1, "subproject_id": "a", "activity_kind_ko": "교육과정",
             "activity_name_ko": "교육", "measure_ko": "교육인원", "period": "total", "period_text": "계", "value": 185,
             "value_text": "185", "unit_ko": "명", "malformed": False, "source_ref": "raw/reported/activities.csv:2"}]),
        "runs": pl.DataFrame([{"run_number": 7, "run_id": "run-000007", "status": "completed", "version": "v000007",
                               "started_at": datetime(2026, 1, 2, 17, 0, tzinfo=timezone.utc),
                               "finished_at": datetime(2026, 1, 2, 17, 1, tzinfo=timezone.utc)}]),
    }
    return {name: conform(frame, CURATED[name]) for name, frame in tables.items()}


def write_version(folder: Path, tables: dict[str, pl.DataFrame], version: str = "v000007") -> Path:
    """Parquet files, a DuckDB file with the same tables and a manifest, as publish lays a version out."""
    folder.mkdir(parents=True)
    with duckdb.connect(str(folder / "pledgeflow.duckdb")) as connection:
        for name, frame in tables.items():
            frame.write_parquet(folder / f"{name}.parquet")
            connection.register("frame", frame.to_arrow())
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            connection.unregister("frame")
    (folder / "manifest.json").write_text(json.dumps({"extra": {"version": version}}), encoding="utf-8")
    (folder / "review").mkdir()
    (folder / "review" / "review_pack.html").write_text("<!DOCTYPE html><title>review</title>", encoding="utf-8")
    return folder


@pytest.fixture
def tiny_version(tmp_path: Path) -> Path:
    return write_version(tmp_path / "versions" / "v000007", tiny_tables())


@pytest.fixture(scope="session")
def pledge15_version(tmp_path_factory) -> Path:
    """The bundled deliveries and card published by the pipeline's nodes (no Prefect): curated/current."""
    return publish_project(copy_project(tmp_path_factory.mktemp("pledge15") / "project"))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/artifacts/report/ (git-ignored): screenshots and PDFs a person can look at after a run."""
    folder = REPO / "tests" / "artifacts" / "report"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
