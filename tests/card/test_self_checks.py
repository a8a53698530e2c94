"""The card's self-checks: its arithmetic, its print and its consistency, on small registers and the real one."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from tests.conftest import CURATED, make_project

from pledgeflow.card.consistency import check_report_consistency
from pledgeflow.card.self_checks import check_report_arithmetic, check_report_format
from pledgeflow.card.register import load_report

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"


def small_report(tmp_path: Path, catalog, **files: str):
    """The real register with some tables replaced by small inline CSVs."""
    folder = tmp_path / "raw" / "reported"
    shutil.copytree(REPO / "raw" / "reported", folder)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8-sig")
    return load_report(make_project(), folder)


def row(frame: pl.DataFrame, check_id: str) -> dict:
    found = frame.filter(pl.col("check_id") == check_id)
    assert found.height == 1, f"{check_id} not found once in {frame['check_id'].to_list()}"
    return found.row(0, named=True)


# ---- report arithmetic ----

def test_budget_total_against_its_sources(tmp_path, catalog):
    budget = ("세부사업,재원,기간,금액(백만원)\n계,계,2019년,700\n계,구비,2019년,466\n계,시비,2019년,16\n계,국비,2019년,188\n"
              "계,계,2020년,532\n계,구비,2020년,397\n계,시비,2020년,97\n계,국비,2020년,38\n")
    checks = check_report_arithmetic(small_report(tmp_path, catalog, budget=budget), catalog, CURATED["reconciliation"])
    bad = row(checks, "report_arithmetic/budget_sources_sum/budget/total/total/2019")
    assert (bad["status"], bad["expected"], bad["observed"], bad["difference"]) == ("mismatch", 670.0, 700.0, 30.0)
    assert bad["source_ref"] == "raw/reported/budget.csv:2" and "466+16+188 = 670" in bad["message_en"]
    assert row(checks, "report_arithmetic/budget_sources_sum/budget/total/total/2020")["status"] == "match"


def test_rate_compared_at_the_printed_precision(tmp_path, catalog):
    results = ("세부사업,단위,항목,기간,값\n기업과 연계 일자리 창출,명,실적,계,112\n기업과 연계 일자리 창출,%,이행률,계,82.9%\n"
               "중장년 일자리 창출,명,실적,계,100\n중장년 일자리 창출,%,이행률,계,87.0%\n")
    checks = check_report_arithmetic(small_report(tmp_path, catalog, results=results), catalog, CURATED["reconciliation"])
    corp = row(checks, "report_arithmetic/rate_actual_over_target/results/corporate_linkage/total")
    assert (corp["status"], corp["expected"], corp["observed"]) == ("mismatch", 83.0, 82.9)
    assert "1 decimals" in corp["message_en"] and "82.96" in corp["message_en"]
    mid = row(checks, "report_arithmetic/rate_actual_over_target/results/midcareer/total")
    assert (mid["status"], mid["expected"]) == ("match", 87.0)


def test_course_total_against_its_yearly_counts(tmp_path, catalog):
    activities = ("세부사업,구분,활동명,항목,기간,값,단위\n중장년 일자리 창출,교육과정,가 과정,교육인원,계,30,명\n"
                  "중장년 일자리 창출,교육과정,가 과정,교육인원,‘19년,10,명\n중장년 일자리 창출,교육과정,가 과정,교육인원,‘20년,20,명\n"
                  "중장년 일자리 창출,교육과정,나 과정,교육인원,계,30,명\n중장년 일자리 창출,교육과정,나 과정,교육인원,‘19년,20,명\n")
    checks = check_report_arithmetic(small_report(tmp_path, catalog, activities=activities), catalog, CURATED["reconciliation"])
    assert row(checks, "report_arithmetic/course_years_sum/activity/가 과정/trained/total")["status"] == "match"
    bad = row(checks, "report_arithmetic/course_years_sum/activity/나 과정/trained/total")
    assert (bad["status"], bad["expected"], bad["observed_text"]) == ("mismatch", 20.0, "30")


# ---- report format ----

def test_malformed_figures_are_kept_verbatim(tmp_path, catalog):
    census = "구분,산업,값\n사업체수(개),합계,\"1,234\"\n사업체수(개),제조업,\"12,34\"\n사업체수(개),기타,-\n"
    checks = check_report_format(small_report(tmp_path, catalog, census=census), CURATED["reconciliation"])
    assert checks.height == 1
    bad = checks.row(0, named=True)
    assert (bad["status"], bad["observed_text"], bad["observed"], bad["kind"]) == ("malformed", "12,34", 1234.0, "report_format")
    assert bad["source_ref"] == "raw/reported/census.csv:3" and "'12,34'" in bad["message_ko"]


# ---- report consistency ----

def test_single_choice_attributes_and_unreadable_marks(tmp_path, catalog):
    attributes = "항목,선택지,선택\n임기구분,임기내,\n임기구분,임기외,\n사업시기,단기,○\n사업시기,중기,?\n"
    checks = check_report_consistency(small_report(tmp_path, catalog, attributes=attributes), catalog, CURATED["reconciliation"])
    none = row(checks, "report_consistency/attribute_single_choice/attributes/임기구분/total")
    assert (none["status"], none["expected"], none["observed"]) == ("mismatch", 1.0, 0.0)
    assert row(checks, "report_consistency/attribute_single_choice/attributes/사업시기/total")["status"] == "match"
    mark = row(checks, "report_consistency/attribute_mark_readable/attributes/사업시기/중기/total")
    assert (mark["status"], mark["observed_text"]) == ("malformed", "?")


def test_unknown_spellings_and_results_without_target(tmp_path, catalog):
    targets = "세부사업,단위,기간,목표\n청년 일자리 창출,명,계,10\n중장년 일자리 창출,명,2019년,30\n중장년 일자리 창출,명,2020년,-\n"
    results = "세부사업,단위,항목,기간,값\n중장년 일자리 창출,명,실적,2019년,65\n중장년 일자리 창출,명,실적,2020년,15\n"
    checks = check_report_consistency(small_report(tmp_path, catalog, targets=targets, results=results), catalog, CURATED["reconciliation"])
    unknown = row(checks, "report_consistency/subproject_known/targets/청년 일자리 창출/total")
    assert unknown["status"] == "mismatch" and "catalog" in unknown["message_en"]
    assert row(checks, "report_consistency/subproject_known/targets/중장년 일자리 창출/total")["status"] == "match"
    assert row(checks, "report_consistency/result_has_target/results/midcareer/2019")["status"] == "match"
    orphan = row(checks, "report_consistency/result_has_target/results/midcareer/2020")
    assert (orphan["status"], orphan["observed"], orphan["expected"]) == ("not_reported", 15.0, None)


# ---- the real register ----

def test_real_card_disagreements_are_found_with_both_numbers(report, catalog):
    checks = pl.concat([check_report_arithmetic(report, catalog, CURATED["reconciliation"]), check_report_format(report, CURATED["reconciliation"]), check_report_consistency(report, catalog, CURATED["reconciliation"])])
    guard = row(checks, "report_arithmetic/course_years_sum/activity/일반경비 신입과정/trained/total")
    assert (guard["status"], guard["observed"], guard["expected"]) == ("mismatch", 185.0, 220.0)
    care = row(checks, "report_arithmetic/course_years_sum/activity/요양보호사 자격증 취득과정 교육/trained/total")
    assert (care["status"], care["observed"], care["expected"]) == ("mismatch", 75.0, 100.0)
    census = row(checks, "report_format/number_well_formed/census/establishments/기타/2017")
    assert (census["status"], census["observed_text"], census["observed"]) == ("malformed", "1,9235", 19235.0)
    stage = row(checks, "report_consistency/attribute_single_choice/attributes/이행단계/total")
    assert (stage["status"], stage["observed"], stage["observed_text"]) == ("mismatch", 2.0, "여론수렴, 완료(지속)")
    mismatches = checks.filter(pl.col("status") == "mismatch")["check_id"].to_list()
    assert len(mismatches) == 3, mismatches


def test_real_card_correct_totals_match(report, catalog):
    checks = check_report_arithmetic(report, catalog, CURATED["reconciliation"])
    grand = row(checks, "report_arithmetic/budget_sources_sum/budget/total/total/total")
    assert (grand["status"], grand["observed_text"], grand["expected"]) == ("match", "1,572", 1572.0)
    for check_id in ("budget_subprojects_sum/budget/total/total/total", "budget_periods_sum/budget/midcareer/total/total",
                     "census_industries_sum/census/establishments/2017", "target_periods_sum/targets/midcareer/total",
                     "result_periods_sum/results/corporate_linkage/total", "rate_actual_over_target/results/corporate_linkage/total",
                     "rate_actual_over_target/results/midcareer/total"):
        assert row(checks, f"report_arithmetic/{check_id}")["status"] == "match"
