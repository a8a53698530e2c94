"""Reconciliation of the records with the card: indicators, courses, fairs and hires; the run's whole table."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pledgeflow.aggregate import count_indicators

from pledgeflow.card import self_checks as report_checks
from pledgeflow.contracts import conform
from pledgeflow.card.reconcile import reconcile_all, reconcile_records, reconcile_settled
from tests.conftest import CURATED, copy_project, settle_project
from tests.card.test_self_checks import row, small_report

STATUSES = {"match", "mismatch", "not_reported", "malformed"}


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """The bundled sample deliveries settled as the nightly run settles them (valid frames per dataset), on a copy."""
    project, settled, report = settle_project(copy_project(tmp_path_factory.mktemp("project")))
    return project, settled, report


def indicators(catalog, actual: dict[tuple[str, str], int]) -> pl.DataFrame:
    """An indicators frame (CURATED["indicators"]) with the given record counts, 0 elsewhere."""
    cells = pl.DataFrame({"subproject_id": ["corporate_linkage", "midcareer"]}).join(
        catalog.periods_frame.rename({"start_date": "period_start_date", "end_date": "period_end_date"}), how="cross")
    counts = pl.DataFrame([{"subproject_id": s, "period": p, "actual": n} for (s, p), n in actual.items()])
    frame = cells.join(counts, on=["subproject_id", "period"], how="left").with_columns(
        pl.col("actual").fill_null(0), pl.lit("ydp-2018-15").alias("pledge_id"), pl.lit("jobs_created").alias("indicator_id")
    ).sort("subproject_id", "period_order").with_columns(pl.col("actual").cum_sum().over("subproject_id").alias("cumulative_actual"))
    return conform(frame, CURATED["indicators"])


CARD_ACTUALS = {("corporate_linkage", "2018"): 10, ("corporate_linkage", "2019"): 59, ("corporate_linkage", "2020"): 43,
                ("midcareer", "2018"): 20, ("midcareer", "2019"): 65, ("midcareer", "2020"): 15}
NO_COHORTS = pl.DataFrame(schema={"cohort_id": pl.String, "course_name_ko": pl.String, "subproject_id": pl.String,
                                  "start_date": pl.Date, "end_date": pl.Date, "enrolled_count": pl.Int64, "completed_count": pl.Int64})
NO_FAIRS = pl.DataFrame(schema={"fair_id": pl.String, "fair_name_ko": pl.String, "subproject_id": pl.String,
                                "fair_date": pl.Date, "firm_count": pl.Int64, "participant_count": pl.Int64})


def cohorts(*rows: tuple[str, str, date, int]) -> pl.DataFrame:
    frame = pl.DataFrame([{"cohort_id": c, "course_name_ko": n, "subproject_id": "midcareer", "start_date": d,
                           "end_date": d, "enrolled_count": k, "completed_count": k} for c, n, d, k in rows])
    return frame.cast(NO_COHORTS.schema)


# ---- records vs report ----

def test_period_actuals_cumulative_and_rate_from_records(report, catalog):
    actual = {**CARD_ACTUALS, ("midcareer", "2019"): 70, ("midcareer", "2021"): 5}
    checks = reconcile_records(indicators(catalog, actual), NO_COHORTS, NO_FAIRS, report, catalog, CURATED["reconciliation"])
    prefix = "records_vs_report/period_actual/indicators"
    assert row(checks, f"{prefix}/corporate_linkage/jobs_created/2019")["status"] == "match"
    bad = row(checks, f"{prefix}/midcareer/jobs_created/2019")
    assert (bad["status"], bad["expected"], bad["observed"], bad["difference"]) == ("mismatch", 70.0, 65.0, -5.0)
    later = row(checks, f"{prefix}/midcareer/jobs_created/2021")
    assert (later["status"], later["expected"], later["observed"]) == ("not_reported", 5.0, None)
    # The card's 실적 total is as of 2020-12: the 2021 records do not count towards it.
    cumulative = row(checks, "records_vs_report/cumulative_actual/indicators/midcareer/jobs_created/total")
    assert (cumulative["expected"], cumulative["observed"], cumulative["status"]) == (105.0, 100.0, "mismatch")
    assert row(checks, "records_vs_report/cumulative_actual/indicators/corporate_linkage/jobs_created/total")["status"] == "match"
    rate = row(checks, "records_vs_report/rate_from_records/indicators/midcareer/jobs_created/total")
    assert (rate["expected"], rate["observed"], rate["status"]) == (91.0, 87.0, "mismatch")  # 105/115 = 91.3 -> 91


def test_course_counts_from_cohorts(report, catalog):
    records = cohorts(("C1", "일반경비 신입과정 1기", date(2018, 9, 3), 60), ("C2", "일반경비 신입과정", date(2019, 3, 4), 120),
                      ("C3", "요양보호사 자격증 취득과정", date(2019, 5, 6), 50), ("C4", "바리스타 과정", date(2019, 5, 6), 12),
                      ("C5", "일반경비 신입과정", date(2021, 3, 2), 30))
    checks = reconcile_records(indicators(catalog, CARD_ACTUALS), records, NO_FAIRS, report, catalog, CURATED["reconciliation"])
    guard = "records_vs_report/course_completed/activity/일반경비 신입과정/trained"
    assert row(checks, f"{guard}/2018")["status"] == "match"
    y2019 = row(checks, f"{guard}/2019")
    assert (y2019["status"], y2019["expected"], y2019["observed"]) == ("mismatch", 120.0, 125.0)
    y2020 = row(checks, f"{guard}/2020")
    assert (y2020["status"], y2020["expected"], y2020["observed"]) == ("not_reported", None, 35.0)
    # The cohort of 2021 is after the card's as-of date: it is not compared with the card.
    assert row(checks, f"{guard}/total")["expected"] == 180.0
    care = row(checks, "records_vs_report/course_completed/activity/요양보호사 자격증 취득과정 교육/trained/2019")
    assert care["status"] == "match"
    extra = row(checks, "records_vs_report/course_completed/cohorts/바리스타 과정/2019")
    assert (extra["status"], extra["expected"], extra["observed"]) == ("not_reported", 12.0, None)


def test_job_fairs_matched_by_date(report, catalog):
    fairs = pl.DataFrame([
        {"fair_id": "F1", "fair_name_ko": "중장년 희망 취업박람회", "subproject_id": "midcareer", "fair_date": date(2018, 11, 20),
         "firm_count": 27, "participant_count": 430},
        {"fair_id": "F9", "fair_name_ko": "청년 박람회", "subproject_id": "midcareer", "fair_date": date(2019, 6, 1),
         "firm_count": 5, "participant_count": 50},
    ]).cast(NO_FAIRS.schema)
    checks = reconcile_records(indicators(catalog, CARD_ACTUALS), NO_COHORTS, fairs, report, catalog, CURATED["reconciliation"])
    assert row(checks, "records_vs_report/fair_found/fair/2018-11-20/2018")["status"] == "match"
    assert row(checks, "records_vs_report/fair_firms/fair/2018-11-20/2018")["status"] == "match"
    people = row(checks, "records_vs_report/fair_participants/fair/2018-11-20/2018")
    assert (people["status"], people["expected"], people["observed"]) == ("mismatch", 430.0, 428.0)
    missing = row(checks, "records_vs_report/fair_found/fair/2019-05-15/2019")
    assert (missing["status"], missing["observed_text"]) == ("not_reported", "2019. 5. 15.")
    assert row(checks, "records_vs_report/fair_found/fair/2019-06-01/2019")["status"] == "not_reported"


# ---- hires: the card's 채용·취업인원 against placements by channel ----

HIRE_ACTIVITIES = (
    "세부사업,구분,활동명,항목,기간,값,단위,기록상 명칭\n"
    "기업과 연계한 일자리 창출,기업간담회,간담회 후 채용,채용인원,계,3,명,\n"
    "기업과 연계한 일자리 창출,업무협약,가나 협약,채용인원,계,5,명,\n"
    "기업과 연계한 일자리 창출,업무협약,가나 협약,채용인원,‘19년,2,명,\n"
    "기업과 연계한 일자리 창출,교육과정,금융 과정 지원,양성인원,계,10,명,금융 인력양성\n"
    "기업과 연계한 일자리 창출,교육과정,금융 과정 지원,취업인원,계,2,명,금융 인력양성\n"
    "기업과 연계한 일자리 창출,기업탐방,핀테크 탐방,참여인원,계,7,명,\n"
    "중장년 일자리 창출,Job아라,잡아라 운영,채용인원,계,6,명,\n"
)
HIRE_COHORTS = pl.DataFrame([
    {"cohort_id": "TC-1", "course_name_ko": "금융 인력양성 1기", "subproject_id": "corporate_linkage", "start_date": date(2019, 3, 4),
     "end_date": date(2019, 5, 31), "enrolled_count": 12, "completed_count": 10},
    {"cohort_id": "TC-2", "course_name_ko": "바리스타 과정", "subproject_id": "corporate_linkage", "start_date": date(2019, 3, 4),
     "end_date": date(2019, 5, 31), "enrolled_count": 9, "completed_count": 9},
]).cast(NO_COHORTS.schema)


def placements(*rows: tuple[str, str, str | None, date]) -> pl.DataFrame:
    """Valid placements: (subproject_id, channel_id, event_id, hire_date)."""
    frame = pl.DataFrame([{"subproject_id": s, "channel_id": c, "event_id": e, "hire_date": d, "employer_name_ko": "가나(주)"}
                          for s, c, e, d in rows])
    return frame.cast({"subproject_id": pl.String, "channel_id": pl.String, "event_id": pl.String, "hire_date": pl.Date})


HIRES = placements(
    *[("corporate_linkage", "company_meeting", None, date(2019, 5, d)) for d in (1, 2, 3)],
    ("corporate_linkage", "company_meeting", None, date(2021, 2, 1)),   # after the card's as-of date (2020-12-31)
    ("midcareer", "company_meeting", None, date(2019, 6, 1)),           # another sub-project's hire
    ("corporate_linkage", "agreement_partner", None, date(2018, 11, 20)),
    ("corporate_linkage", "agreement_partner", None, date(2019, 3, 1)),
    ("corporate_linkage", "agreement_partner", None, date(2019, 4, 1)),
    ("corporate_linkage", "agreement_partner", None, date(2020, 3, 1)),
    ("corporate_linkage", "training_course", "TC-1", date(2019, 7, 1)),
    ("corporate_linkage", "training_course", "TC-1", date(2019, 8, 1)),
    ("corporate_linkage", "training_course", "TC-2", date(2019, 8, 1)),  # a cohort of another course
)


@pytest.fixture
def hire_checks(tmp_path, catalog):
    hire_report = small_report(tmp_path, catalog, activities=HIRE_ACTIVITIES)
    return reconcile_records(indicators(catalog, CARD_ACTUALS), HIRE_COHORTS, NO_FAIRS, hire_report, catalog, CURATED["reconciliation"], placements=HIRES)


def test_hire_figure_matches_placements_of_its_channel_subproject_and_cut_off(hire_checks):
    meeting = row(hire_checks, "records_vs_report/hired_from_placements/activity/간담회 후 채용/hired/total")
    assert (meeting["status"], meeting["expected"], meeting["observed"]) == ("match", 3.0, 3.0)
    assert meeting["source_ref"] == "raw/reported/activities.csv:2" and "company_meeting" in meeting["message_en"]


def test_hire_figure_disagreeing_with_placements_keeps_both_numbers(hire_checks):
    total = row(hire_checks, "records_vs_report/hired_from_placements/activity/가나 협약/hired/total")
    assert (total["status"], total["expected"], total["observed"], total["difference"]) == ("mismatch", 4.0, 5.0, 1.0)
    assert "records 4, card 5" in total["message_en"]
    # A figure keyed for one period counts that period's hires only.
    assert row(hire_checks, "records_vs_report/hired_from_placements/activity/가나 협약/hired/2019")["status"] == "match"


def test_course_hire_figure_counts_placements_citing_that_courses_cohorts(hire_checks):
    course = row(hire_checks, "records_vs_report/hired_from_placements/activity/금융 과정 지원/hired/total")
    assert (course["status"], course["expected"], course["observed"]) == ("match", 2.0, 2.0)


def test_hire_figure_without_records_stays_not_reported(hire_checks):
    job_ara = row(hire_checks, "records_vs_report/hired_from_placements/activity/잡아라 운영/hired/total")
    assert (job_ara["status"], job_ara["expected"], job_ara["observed"]) == ("not_reported", 0.0, 6.0)
    assert "no record backs" in job_ara["message_en"]
    # A kind that is no placement channel (기업탐방) has nothing to compare with: listed, not dropped.
    visit = row(hire_checks, "records_vs_report/figure_has_records/activity/핀테크 탐방/participants/total")
    assert (visit["status"], visit["observed"]) == ("not_reported", 7.0)
    assert not hire_checks["check_id"].str.contains("figure_has_records/activity/.*/hired").any()


def test_without_placements_hire_figures_are_listed_as_unbacked(tmp_path, catalog):
    hire_report = small_report(tmp_path, catalog, activities=HIRE_ACTIVITIES)
    checks = reconcile_records(indicators(catalog, CARD_ACTUALS), HIRE_COHORTS, NO_FAIRS, hire_report, catalog, CURATED["reconciliation"])
    assert not checks["rule"].is_in(["hired_from_placements"]).any()
    unbacked = row(checks, "records_vs_report/figure_has_records/activity/간담회 후 채용/hired/total")
    assert (unbacked["status"], unbacked["observed"]) == ("not_reported", 3.0)


# ---- the real register with the bundled deliveries ----

def test_bundled_placements_back_the_cards_hire_figures(bundled, catalog):
    project, settled, card = bundled
    valid = settled.valid
    checks = reconcile_all(count_indicators(settled, card, project), valid["training_cohorts"], valid["job_fairs"], card,
                           catalog, CURATED["reconciliation"], placements=valid["placements"])
    prefix = "records_vs_report/hired_from_placements/activity"
    for name, hires in (("기업체 만남 후 김안과 병원 유관기업체 등 일자리 채용", 18.0), ("영등포구-엠지신용정보(주) 협약 체결", 8.0),
                        ("자산운용업 운용사 협력운영 지원", 21.0)):
        found = row(checks, f"{prefix}/{name}/hired/total")
        assert (found["status"], found["expected"], found["observed"]) == ("match", hires, hires), found["message_en"]
    # What no dataset records stays listed: meetings held, firms met, agreement dates, the fintech visit.
    unbacked = checks.filter(pl.col("rule") == "figure_has_records")
    assert sorted(unbacked["subject"].str.extract(r"/([a-z_]+)$")) == ["date", "date", "date", "date", "events", "firms", "participants"]
    assert set(unbacked["status"]) == {"not_reported"}


def test_reconcile_all_is_deterministic_and_keeps_the_contract(report, catalog):
    args = (indicators(catalog, CARD_ACTUALS), HIRE_COHORTS, NO_FAIRS, report, catalog, CURATED["reconciliation"])
    first, second = reconcile_all(*args, placements=HIRES), reconcile_all(*args, placements=HIRES)
    assert first.equals(second) and first.schema == pl.Schema(CURATED["reconciliation"])
    assert first["check_id"].is_unique().all() and first["check_id"].to_list() == sorted(first["check_id"].to_list())
    assert set(first["status"]) <= STATUSES and first["message_ko"].null_count() == first["message_en"].null_count() == 0
    assert set(first["kind"]) == {"report_arithmetic", "report_format", "report_consistency", "records_vs_report"}


def test_every_rule_says_what_it_measures_and_counts_are_integers(bundled):
    project, settled, card = bundled
    table = reconcile_settled(count_indicators(settled, card, project), settled, card, project)
    assert table.schema["expected_count"] == pl.Int64 and table.schema["observed_count"] == pl.Int64
    unclassified = set(table.filter(pl.col("value_kind") == report_checks.OTHER_KIND)["rule"])
    assert unclassified <= {"number_well_formed", "subproject_known"}  # a figure as read, or no figure
    counts = table.filter(pl.col("value_kind") == "count")
    assert counts.height > 20 and counts.filter(pl.col("expected").is_not_null())["expected_count"].null_count() == 0
    assert (counts["expected_count"].cast(pl.Float64) == counts["expected"]).all()
    assert (counts["difference_count"] == counts["observed_count"] - counts["expected_count"]).all()
    others = table.filter(pl.col("value_kind") != "count")
    assert others.select(pl.col("expected_count", "observed_count", "difference_count").null_count().sum()).row(0) == (others.height,) * 3
    assert set(table.filter(pl.col("rule").str.starts_with("rate_"))["value_kind"]) == {"rate_pct"}


def test_card_figures_of_a_subproject_no_indicator_counts_are_named_checks(tmp_path):
    """The card prints 중장년 results, the catalog's indicator counts 기업연계 only: each such figure is still a check with
    its own id (the audit refuses a null one) that says no indicator counts it and where to declare one."""
    root = copy_project(tmp_path / "project")
    catalog_file = root / "schemas" / "catalog.yaml"
    narrowed = catalog_file.read_text(encoding="utf-8").replace("subprojects: [corporate_linkage, midcareer]", "subprojects: [corporate_linkage]")
    catalog_file.write_text(narrowed, encoding="utf-8")
    project, settled, card = settle_project(root)
    table = reconcile_settled(count_indicators(settled, card, project), settled, card, project)
    assert table["check_id"].null_count() == 0 and table["subject"].null_count() == 0 and table["check_id"].is_unique().all()
    uncounted = table.filter(pl.col("subject").str.contains("midcareer/no_indicator"))
    assert uncounted.height >= 3 and set(uncounted["rule"]) >= {"period_actual", "cumulative_actual"}
    assert uncounted["message_en"].str.contains("no indicator of the catalog counts this sub-project").all()
    assert uncounted["message_ko"].str.contains("catalog.yaml").all()
    counted = table.filter(pl.col("subject") == "indicators/corporate_linkage/jobs_created")
    assert counted.height > 0 and not counted["message_en"].str.contains("no indicator").any()
