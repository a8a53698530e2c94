"""Tests for indicator aggregation: period boundaries, running sums, rates, exclusions, status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

import pytest

from pledgeflow.aggregate.indicators import build_indicators
from pledgeflow.aggregate.measures import count_records
from pledgeflow.catalog import assign_periods, load_catalog
from tests.conftest import CURATED


SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CATALOG = load_catalog(SCHEMAS)
PLEDGE = "ydp-2018-15"
INDICATOR = "jobs_created"
d = dt.date


def placements(*groups: tuple[str, dt.date | None, int]) -> pl.DataFrame:
    """(subproject_id, hire_date, how many) -> that many placement rows."""
    rows = [{"subproject_id": sp, "hire_date": day} for sp, day, n in groups for _ in range(n)]
    return pl.DataFrame(rows, schema={"subproject_id": pl.String, "hire_date": pl.Date})


def targets(subproject: str, per_period: dict[str, int | None], total: int) -> pl.DataFrame:
    return pl.DataFrame(
        [{"pledge_id": PLEDGE, "subproject_id": subproject, "indicator_id": INDICATOR, "period": p, "target": t,
          "total_target": total} for p, t in per_period.items()],
        schema={"pledge_id": pl.String, "subproject_id": pl.String, "indicator_id": pl.String, "period": pl.String,
                "target": pl.Int64, "total_target": pl.Int64},
    )


def results(subproject: str, per_period: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"pledge_id": PLEDGE, "subproject_id": subproject, "indicator_id": INDICATOR, "period": p, "reported_actual": v}
         for p, v in per_period.items()],
        schema={"pledge_id": pl.String, "subproject_id": pl.String, "indicator_id": pl.String, "period": pl.String,
                "reported_actual": pl.Int64},
    )


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (d(2018, 6, 30), None),
        (d(2018, 7, 1), "2018"),
        (d(2018, 12, 31), "2018"),
        (d(2019, 1, 1), "2019"),
        (d(2021, 12, 31), "2021"),
        (d(2022, 1, 1), "2022.6."),
        (d(2022, 6, 30), "2022.6."),
        (d(2022, 7, 1), None),
        (None, None),
    ],
)
def test_assign_periods_boundaries(day, period):
    frame = pl.DataFrame({"hire_date": [day]}, schema={"hire_date": pl.Date})
    assert assign_periods(frame, "hire_date", CATALOG)["period"].to_list() == [period]


def test_assign_periods_keeps_every_row_and_its_columns():
    frame = pl.DataFrame({"id": [1, 2, 3, 4], "fair_date": [d(2022, 7, 1), None, d(2019, 5, 2), d(2018, 7, 1)]})
    out = assign_periods(frame, "fair_date", CATALOG)
    assert out.columns == ["id", "fair_date", "period"]
    assert dict(out.select("id", "period").iter_rows()) == {1: None, 2: None, 3: "2019", 4: "2018"}


def test_count_records_counts_by_subproject_and_period_for_each_catalog_indicator():
    rows = placements(("midcareer", d(2019, 1, 1), 2), ("midcareer", d(2019, 12, 31), 1), ("corporate_linkage", d(2020, 5, 5), 4),
                      ("midcareer", d(2017, 1, 1), 5), (None, d(2019, 5, 5), 7))
    counted = count_records({"placements": rows}, CATALOG, "actual")
    assert set(counted.select("subproject_id", "period", "actual").iter_rows()) == {("midcareer", "2019", 3), ("corporate_linkage", "2020", 4)}
    assert set(counted["indicator_id"]) == {INDICATOR} and set(counted["pledge_id"]) == {PLEDGE}


def test_count_records_of_nothing_is_an_empty_typed_frame():
    counted = count_records({"placements": placements()}, CATALOG, "actual")
    assert counted.is_empty() and counted.schema["actual"] == pl.Int64


def build(valid_rows: pl.DataFrame, held_rows: pl.DataFrame | None = None, target_frame=None, result_frame=None) -> pl.DataFrame:
    return build_indicators(
        {"placements": valid_rows},
        {"placements": held_rows if held_rows is not None else placements()},
        target_frame if target_frame is not None else targets("midcareer", {"2018": 45, "2019": 70}, 135),
        result_frame if result_frame is not None else results("midcareer", {"2018": 48}),
        CATALOG,
        CURATED["indicators"],
    )


def cell(table: pl.DataFrame, subproject: str, period: str) -> dict:
    return table.filter((pl.col("subproject_id") == subproject) & (pl.col("period") == period)).row(0, named=True)


VALID = placements(("midcareer", d(2018, 8, 1), 50), ("midcareer", d(2019, 5, 1), 62), ("corporate_linkage", d(2020, 3, 3), 3))


def test_indicators_follow_the_curated_contract_with_one_row_per_cell():
    table = build(VALID)
    assert dict(table.schema) == CURATED["indicators"]
    cells = CATALOG.indicators_frame.height * CATALOG.periods_frame.height
    assert table.height == cells
    assert table.select("subproject_id", "period").n_unique() == cells
    assert table.equals(table.sort("pledge_id", "subproject_id", "indicator_id", "period_order"))


def test_actual_and_cumulative_actual_are_running_sums_per_subproject():
    table = build(VALID)
    mid = table.filter(pl.col("subproject_id") == "midcareer")
    assert mid["period"].to_list() == ["2018", "2019", "2020", "2021", "2022.6."]
    assert mid["actual"].to_list() == [50, 62, 0, 0, 0]
    assert mid["cumulative_actual"].to_list() == [50, 112, 112, 112, 112]
    corp = table.filter(pl.col("subproject_id") == "corporate_linkage")
    assert corp["cumulative_actual"].to_list() == [0, 0, 3, 3, 3]  # the other sub-project does not leak in


def test_targets_total_target_and_achievement_rate():
    table = build(VALID)
    assert cell(table, "midcareer", "2018")["target"] == 45
    assert cell(table, "midcareer", "2020")["target"] is None
    assert set(table.filter(pl.col("subproject_id") == "midcareer")["total_target"]) == {135}
    assert cell(table, "midcareer", "2018")["achievement_rate_pct"] == 37.0  # 50 / 135 = 37.04
    assert cell(table, "midcareer", "2019")["achievement_rate_pct"] == 83.0  # 112 / 135 = 82.96
    assert cell(table, "corporate_linkage", "2020")["achievement_rate_pct"] is None  # no total target


def test_rates_round_half_up_as_cards_print_them():
    # 5 / 16 = 31.25%: a card prints 31.3 (사사오입); rounding half to even would give 31.2 and a false mismatch
    table = build(placements(("midcareer", d(2018, 8, 1), 5)), target_frame=targets("midcareer", {"2018": 16}, 16))
    assert cell(table, "midcareer", "2018")["achievement_rate_pct"] == 31.3


def test_reported_actual_comes_from_the_report_only():
    table = build(VALID)
    assert cell(table, "midcareer", "2018")["reported_actual"] == 48
    assert cell(table, "midcareer", "2019")["reported_actual"] is None
    assert cell(table, "midcareer", "2018")["actual"] == 50


def test_excluded_records_count_quarantined_rows_in_their_cell():
    held = placements(("midcareer", d(2019, 3, 3), 2), ("corporate_linkage", d(2018, 9, 9), 1), ("midcareer", None, 4))
    table = build(VALID, held)
    assert cell(table, "midcareer", "2019")["excluded_records"] == 2
    assert cell(table, "corporate_linkage", "2018")["excluded_records"] == 1
    assert table["excluded_records"].sum() == 3  # a held row with no date has no cell
    assert cell(table, "midcareer", "2019")["actual"] == 62  # quarantined rows never count as actual


def test_status_values():
    valid = placements(("midcareer", d(2018, 8, 1), 45), ("midcareer", d(2019, 5, 1), 69), ("midcareer", d(2020, 2, 1), 1))
    table = build(valid, target_frame=targets("midcareer", {"2018": 45, "2019": 70, "2020": None, "2021": 10}, 135))
    status = dict(table.filter(pl.col("subproject_id") == "midcareer").select("period", "status").iter_rows())
    # 2018: actual == target is met; 2019: one short; 2020: no target; 2021 starts after the newest record
    assert status == {"2018": "met", "2019": "below_target", "2020": "no_target", "2021": "not_started", "2022.6.": "not_started"}


def test_with_no_valid_records_every_period_is_not_started():
    table = build(placements())
    assert set(table["status"]) == {"not_started"}
    assert set(table["actual"]) == {0} and set(table["cumulative_actual"]) == {0}


DISTINCT_INDICATORS = """
      - indicator_id: employers
        name_ko: 채용 참여기업 수
        unit: 개
        source_dataset: placements
        date_column: hire_date
        subprojects: [midcareer]
        measure: {kind: distinct, column: employer_brn}
      - indicator_id: hires_per_employer
        name_ko: 기업당 채용인원
        unit: '%'
        source_dataset: placements
        date_column: hire_date
        subprojects: [midcareer]
        measure: {kind: ratio, numerator: {kind: count}, denominator: {kind: distinct, column: employer_brn}}
"""


def catalog_with(tmp_path: Path, indicators: str):
    """The bundled catalog with more indicators for pledge 15."""
    import shutil

    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    path = tmp_path / "schemas" / "catalog.yaml"
    anchor = "        subprojects: [corporate_linkage, midcareer]\n"
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + indicators.lstrip("\n")), encoding="utf-8")
    return load_catalog(tmp_path / "schemas")


def test_a_distinct_count_to_date_counts_each_value_once_across_periods(tmp_path):
    """Employer B hires in 2019 and in 2020: one employer each year, but three employers to date, not four."""
    catalog = catalog_with(tmp_path, DISTINCT_INDICATORS)
    rows = pl.DataFrame({"subproject_id": "midcareer", "hire_date": [d(2019, 3, 1), d(2019, 4, 1), d(2019, 5, 1), d(2020, 2, 1), d(2020, 3, 1), d(2021, 1, 5)],
                         "employer_brn": ["A", "A", "B", "B", "C", None]})
    empty = pl.DataFrame(schema={"pledge_id": pl.String, "subproject_id": pl.String, "indicator_id": pl.String, "period": pl.String,
                                 "target": pl.Int64, "total_target": pl.Int64, "reported_actual": pl.Int64})
    table = build_indicators({"placements": rows}, {"placements": rows.clear()}, empty, empty, catalog, CURATED["indicators"])
    mid = table.filter(pl.col("subproject_id") == "midcareer")
    employers = mid.filter(pl.col("indicator_id") == "employers")
    assert employers["actual"].to_list() == [0, 2, 2, 0, 0]
    assert employers["cumulative_actual"].to_list() == [0, 2, 3, 3, 3]
    # a ratio over a distinct count: hires per employer, per period and to date (6 hires, 3 employers)
    ratio = mid.filter(pl.col("indicator_id") == "hires_per_employer")
    assert ratio["denominator"].to_list() == [0, 2, 2, 0, 0] and ratio["cumulative_denominator"].to_list() == [0, 2, 3, 3, 3]
    assert ratio["actual_pct"].to_list() == [None, 150.0, 100.0, None, None]
    assert ratio["cumulative_pct"].to_list() == [None, 150.0, 166.7, 200.0, 200.0]
    # additive measures keep their running sums
    assert mid.filter(pl.col("indicator_id") == INDICATOR)["cumulative_actual"].to_list() == [0, 3, 5, 6, 6]
