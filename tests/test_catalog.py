"""The catalog and the dataset descriptors: what the YAML says is what the code sees."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pledgeflow.catalog import normalise_label, normalise_label_expr


def test_every_spelling_on_the_card_resolves_to_one_subproject(catalog):
    for spelling in ("기업과 연계한 일자리 창출", "기업과 연계 일자리 창출", "날자! 중장년, 솟아라! 일자리",
                     "날자! 중장년, 숫아라! 일자리", "중장년  일자리 창출"):
        assert catalog.subproject_aliases[normalise_label(spelling)] in {"corporate_linkage", "midcareer"}
    assert normalise_label("청년 일자리 창출") not in catalog.subproject_aliases


def test_the_label_expression_normalises_like_the_function():
    labels = ["연계 과정ㆍ박람회 번호", "Job아라", " 사업자 등록번호 ", "과정・번호"]
    assert pl.select(normalise_label_expr(pl.Series(labels))).to_series().to_list() == [normalise_label(x) for x in labels]


def test_periods_cover_the_term_in_order_without_gaps(catalog):
    periods = catalog.periods_frame
    assert periods["period"].to_list() == ["2018", "2019", "2020", "2021", "2022.6."]
    assert periods["period_order"].to_list() == [1, 2, 3, 4, 5]
    assert periods["start_date"][0] == dt.date(2018, 7, 1) and periods["end_date"][-1] == dt.date(2022, 6, 30)
    gaps = periods.select((pl.col("start_date").shift(-1) - pl.col("end_date")).dt.total_days().drop_nulls())
    assert set(gaps.to_series()) == {1}


def test_descriptors_carry_aliases_thresholds_and_personal_roles(catalog):
    placements = catalog.descriptors["placements"]
    assert placements.header_aliases[normalise_label("구직자 관리번호")] == "person_key"
    assert placements.header_aliases[normalise_label("취업일")] == "hire_date"
    assert placements.column("person_key").personal == "pseudonymise"
    assert placements.max_quarantined_pct == 10 and placements.critical_rules == ()
    assert set(catalog.descriptors) == {"placements", "training_cohorts", "job_fairs"}
