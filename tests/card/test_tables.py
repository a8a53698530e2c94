"""The card's own words as curated tables: pledges, card_attributes, card_activities."""

from __future__ import annotations

import datetime as dt

from pledgeflow.card.tables import build_card_tables
from tests.conftest import CURATED


def test_the_bundled_card_as_three_sorted_tables_of_their_contract(report, catalog):
    tables = build_card_tables(report, catalog, CURATED)
    for name, frame in tables.items():
        assert frame.schema == CURATED[name], name
    pledge = tables["pledges"].row(0, named=True)
    assert pledge | {"source_document": None} == {
        "pledge_id": "ydp-2018-15", "pledge_no": 15, "district_ko": "영등포구", "title_ko": "내 일(job)이 행복한 민·관협력 일자리 창출",
        "term_start_date": dt.date(2018, 7, 1), "term_end_date": dt.date(2022, 6, 30), "as_of_date": dt.date(2020, 12, 31),
        "implementation_stage_ko": "여론수렴, 완료(지속)", "source_document": None}
    attributes = tables["card_attributes"]
    assert attributes["option_order"].to_list() == list(range(1, 17))
    assert attributes.filter(attributes["selected"])["option_ko"].to_list()[-2:] == ["여론수렴", "완료(지속)"]
    activities = tables["card_activities"]
    guard = activities.filter(activities["activity_name_ko"] == "일반경비 신입과정")
    assert guard.select("period", "value_text").rows() == [("total", "185"), ("2018", "60"), ("2019", "125"), ("2020", "35")]
    assert activities["activity_order"].is_sorted() and activities["source_ref"].null_count() == 0


def test_a_card_with_no_stage_ticked_has_a_null_stage(report, catalog):
    import polars as pl
    from dataclasses import replace

    unticked = replace(report, attributes=report.attributes.with_columns(pl.lit(False).alias("selected")))
    assert build_card_tables(unticked, catalog, CURATED)["pledges"]["implementation_stage_ko"].to_list() == [None]
