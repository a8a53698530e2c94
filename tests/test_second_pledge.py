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


def test_a_distinct_count_counts_each_employer_once_per_period(both):
    _, (_, _, indicators, _) = both
    assert [cell(indicators, "fair_employers", p)["actual"] for p in ("2023 상반기", "2023 하반기")] == [2, 1]


def test_a_record_is_checked_against_its_own_pledges_term(both):
    _, (_, settled, _, _) = both
    failed = settled.failures.filter(pl.col("source_file").str.contains("한빛구"))
    # 2022-05-02 lies inside pledge 15's term but before the second pledge's
    assert failed.select("source_row", "column", "rule").rows() == [(5, "start_date", "date_in_term")]


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
