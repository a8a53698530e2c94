"""A second pledge from configuration alone (tests/second_pledge.py): no code, no dataset schema edited.

It differs from pledge 15 on every axis (government, term, half-year grid, measure kinds, filters, date columns,
target and rate semantics, its own register folder) and its card has one figure the records contradict.
"""

from __future__ import annotations

import polars as pl
import pytest

from pledgeflow.aggregate import count_indicators
from pledgeflow.aggregate.dimensions import build_dimension_tables
from pledgeflow.aggregate.unassigned import find_unassigned
from pledgeflow.card import reconcile_settled
from tests.conftest import CURATED, copy_project, settle_project
from tests.second_pledge import PLEDGE, add_second_pledge

PLEDGE_15 = "ydp-2018-15"


def run_stages(root):
    project, settled, report = settle_project(root)
    indicators = count_indicators(settled, report, project)
    return project, settled, indicators, reconcile_settled(indicators, settled, report, project)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    plain = run_stages(copy_project(tmp_path_factory.mktemp("plain")))
    added = run_stages(add_second_pledge(copy_project(tmp_path_factory.mktemp("two"))))
    return plain, added


def cell(indicators: pl.DataFrame, indicator: str, period: str) -> dict:
    rows = indicators.filter((pl.col("pledge_id") == PLEDGE) & (pl.col("indicator_id") == indicator) & (pl.col("period") == period))
    assert rows.height == 1, (indicator, period)
    return rows.row(0, named=True)


def test_pledge_15_is_unchanged_by_a_second_pledge(both):
    (_, _, ind_a, rec_a), (_, _, ind_b, rec_b) = both
    assert ind_b.filter(pl.col("pledge_id") == PLEDGE_15).equals(ind_a)
    assert rec_b.filter(pl.col("pledge_id") == PLEDGE_15).equals(rec_a)


def test_the_second_pledge_has_its_own_half_year_grid(both):
    _, (project, _, indicators, _) = both
    periods = indicators.filter(pl.col("pledge_id") == PLEDGE).select("period", "period_order").unique().sort("period_order")
    assert periods["period"].to_list() == [f"{y} {h}" for y in (2022, 2023, 2024, 2025, 2026) for h in ("상반기", "하반기")][1:-1]
    assert set(indicators.filter(pl.col("pledge_id") == PLEDGE_15)["period"]) == {"2018", "2019", "2020", "2021", "2022.6."}


def test_a_sum_measure_adds_a_numeric_column_by_its_date_column(both):
    _, (_, _, indicators, _) = both
    # HB-TC-02 (20) and HB-TC-03 (27) start in 2023 H1; HB-TC-04 starts before the pledge's term and is quarantined
    assert [cell(indicators, "completed", p)["actual"] for p in ("2022 하반기", "2023 상반기", "2023 하반기")] == [18, 47, 0]


def test_a_ratio_measure_divides_two_declared_sums_and_rates_the_period(both):
    _, (_, _, indicators, _) = both
    # by end date: HB-TC-03 ends in 2023 H2; completion_rate's rate is the period's ratio over its target (80)
    h1, h2 = cell(indicators, "completion_rate", "2023 상반기"), cell(indicators, "completion_rate", "2023 하반기")
    assert (h1["actual"], h1["denominator"], h1["actual_pct"]) == (20, 25, 80.0)
    assert (h2["actual_pct"], h2["achievement_rate_pct"], h2["status"]) == (90.0, 112.5, "met")
    assert h2["cumulative_pct"] == round(65 / 75 * 100, 1)


def test_a_filtered_count_keeps_the_channel_and_the_age_band_with_cumulative_targets(both):
    _, (_, _, indicators, _) = both
    # HB-J-0003 (born 1990) is outside the mid-career band; HB-J-0004 came through a company meeting
    h1, h2 = cell(indicators, "fair_hires", "2023 상반기"), cell(indicators, "fair_hires", "2023 하반기")
    assert (h1["actual"], h2["actual"], h2["cumulative_actual"]) == (2, 0, 2)
    # cumulative target: 2 to date against 10 -> below target, rate = cumulative / the period's target
    assert (h2["status"], h2["achievement_rate_pct"]) == ("below_target", 20.0)


def test_a_distinct_count_counts_each_employer_once_per_period_and_once_to_date(both):
    _, (_, _, indicators, _) = both
    halves = [cell(indicators, "fair_employers", p) for p in ("2023 상반기", "2023 하반기")]
    assert [h["actual"] for h in halves] == [2, 1]
    # the second half's one employer (보라매경비) hired in the first half too: two employers to date, not three
    assert [h["cumulative_actual"] for h in halves] == [2, 2]


def test_a_record_is_checked_against_its_own_pledges_term(both):
    _, (_, settled, _, _) = both
    failed = settled.failures.filter(pl.col("source_file").str.contains("한빛구"))
    # 2022-05-02 lies inside pledge 15's term but before the second pledge's
    assert failed.select("source_row", "column", "rule").rows() == [(5, "start_date", "date_in_term")]
    # the message names the term it was checked against: its own pledge's, not pledge 15's
    assert failed["message_ko"][0].endswith("(공약 hb-2022-7 임기: 2022. 7. 1. ~ 2026. 6. 30.)")
    assert failed["message_en"][0].endswith("(term of pledge hb-2022-7: 2022-07-01 to 2026-06-30)")


def test_reconciliation_finds_the_one_figure_the_records_contradict(both):
    _, (_, _, _, reconciliation) = both
    card = reconciliation.filter(pl.col("pledge_id") == PLEDGE)
    off = card.filter(pl.col("status") == "mismatch")
    assert off.select("subject", "period", "expected", "observed").rows() == [("indicators/hb_senior_fair/fair_hires", "2023 상반기", 2.0, 3.0)]
    assert card.filter((pl.col("kind") == "records_vs_report") & (pl.col("subject").str.contains("completion_rate"))).height == 8
    # the cumulative targets' 계 (10) is the last period's target, not the sum of the periods (5 + 10): no finding
    sums = card.filter(pl.col("rule") == "target_periods_sum")["subject"].to_list()
    assert "targets/hb_senior_fair/fair_hires" not in sums and "targets/hb_youth_digital/completed" in sums


def test_unassigned_records_say_why_no_indicator_counts_them(both):
    _, (project, settled, _, _) = both
    table = find_unassigned(settled.valid, project.catalog, CURATED["unassigned_records"])
    mine = table.filter(pl.col("pledge_id") == PLEDGE).select("dataset", "source_row", "reason").rows()
    assert mine == [("job_fairs", 2, "no_pledge_indicator"), ("training_cohorts", 6, "subproject_not_counted")]


def test_the_dimension_tables_describe_every_indicator_and_period(both):
    _, (project, _, _, _) = both
    tables = build_dimension_tables(project.catalog, CURATED)
    defs = tables["pledge_indicators"].filter(pl.col("pledge_id") == PLEDGE)
    assert defs.height == 4 and set(defs["measure_kind"]) == {"count", "sum", "distinct", "ratio"}
    hires = defs.filter(pl.col("indicator_id") == "fair_hires").row(0, named=True)
    assert hires["filters_text"] == "age_band = mid_career_age; channel_id in [job_fair]"
    assert (hires["district_ko"], hires["government_id"], hires["period_grid"]) == ("한빛구", "hanbit", "half-years-2022")
    assert tables["pledge_periods"].filter(pl.col("pledge_id") == PLEDGE).height == 8


EMPLOYMENT_RATE = """              - indicator_id: employment_rate
                name_ko: 취업률
                unit: "%"
                source_dataset: placements
                date_column: hire_date
                subprojects: [hb_senior_fair]
                measure:
                  kind: ratio
                  numerator: {kind: count}
                  denominator: {kind: sum, column: completed_count, source_dataset: training_cohorts, date_column: end_date}
"""


def test_a_ratio_may_divide_one_datasets_measure_by_anothers(tmp_path):
    """취업률 = placed ÷ completed: placements by hire date over the cohorts' completions by end date."""
    root = add_second_pledge(copy_project(tmp_path / "p"))
    catalog = root / "schemas" / "catalog.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + EMPLOYMENT_RATE, encoding="utf-8")
    project, settled, indicators, _ = run_stages(root)
    # 2023 H1: HB-J-0001..0003 hired, HB-TC-05 (15 completed) ended on 2023-02-28; 2023 H2: HB-J-0004, no cohort
    h1, h2 = cell(indicators, "employment_rate", "2023 상반기"), cell(indicators, "employment_rate", "2023 하반기")
    assert (h1["actual"], h1["denominator"], h1["actual_pct"]) == (3, 15, 20.0)
    assert (h2["actual"], h2["denominator"], h2["actual_pct"], h2["cumulative_pct"]) == (1, 0, None, round(4 / 15 * 100, 1))
    # the cohort the ratio's denominator counts is no longer unassigned
    table = find_unassigned(settled.valid, project.catalog, CURATED["unassigned_records"])
    assert table.filter(pl.col("pledge_id") == PLEDGE).select("dataset", "source_row").rows() == [("job_fairs", 2)]


def test_a_card_row_naming_no_indicator_of_the_catalog_is_a_finding(tmp_path):
    """A 지표 the catalog does not know would leave its row counted nowhere: reconciliation says so, with the row."""
    root = add_second_pledge(copy_project(tmp_path / "p"))
    results = root / "raw" / "reported" / "hb-2022-7" / "results.csv"
    text = results.read_text(encoding="utf-8")
    results.write_text(text.replace("채용 참여기업 수,개,실적,2023년 하반기", "채용업체 수,개,실적,2023년 하반기"), encoding="utf-8")
    *_, reconciliation = run_stages(root)
    found = reconciliation.filter((pl.col("pledge_id") == PLEDGE) & (pl.col("rule") == "indicator_known"))
    assert found.select("status", "observed_text").rows() == [("mismatch", "채용업체 수")]
    assert "results.csv" in found["source_ref"][0] and "counts nowhere" in found["message_en"][0]
    assert reconciliation["check_id"].null_count() == 0 and reconciliation["check_id"].is_unique().all()


def test_a_ratio_card_may_print_its_percent_with_decimals_and_a_sign(tmp_path):
    """수료율 printed '90.0%', '80%' or '86.7%' is read as a percent, not flagged as a malformed count."""
    root = add_second_pledge(copy_project(tmp_path / "p"))
    results = root / "raw" / "reported" / "hb-2022-7" / "results.csv"
    text = results.read_text(encoding="utf-8")
    for period, printed in (("2022년 하반기,90", "2022년 하반기,90.0%"), ("2023년 상반기,80", "2023년 상반기,80%"),
                            ("2023년 하반기,90", "2023년 하반기,86.7%")):
        text = text.replace(f"수료율,%,실적,{period}", f"수료율,%,실적,{printed}")
    results.write_text(text, encoding="utf-8")
    *_, reconciliation = run_stages(root)
    rate = reconciliation.filter(pl.col("subject") == "indicators/hb_youth_digital/completion_rate")
    printed = (pl.col("rule") == "period_actual") & pl.col("observed").is_not_null()
    per_period = rate.filter(printed).sort("period").select("period", "status", "expected", "observed")
    assert per_period.rows() == [("2022 하반기", "match", 90.0, 90.0), ("2023 상반기", "match", 80.0, 80.0),
                                 ("2023 하반기", "mismatch", 90.0, 86.7)]
    malformed = reconciliation.filter((pl.col("pledge_id") == PLEDGE) & (pl.col("status") == "malformed"))
    assert malformed.is_empty(), malformed.select("subject", "message_en").rows()
