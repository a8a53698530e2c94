"""Tests for the review pack's HTML page: offline, filterable, every delivered value escaped."""

from __future__ import annotations

import html
import re

import polars as pl

from pledgeflow.steward.review_pack import write_review_pack
from pledgeflow.steward.review_html import escape_html
from tests.conftest import CURATED, delivered, failure, failures, placement


def test_escape_html_matches_html_escape_without_double_escaping():
    values = ['<a href="x">&amp;</a>', "it's & <b>", "평문", ""]
    out = pl.select(escape_html(pl.Series(values, dtype=pl.String))).to_series().to_list()
    assert out == [html.escape(v) for v in values]


def test_html_is_offline_filterable_and_escaped(tmp_path, catalog):
    table = failures(failure(11, "parse_date", "hire_date"), failure(12, "required", "person_id", state="persisting"))
    rows = delivered(placement(11, note="<script>alert(1)</script>"), placement(12))
    page = write_review_pack(tmp_path, table, rows, catalog, "r", contract=CURATED["validation_failures"])["html"].read_text(encoding="utf-8")
    for reference in ("http://", "https://", "//cdn", "<script src", "<link", "src=", "href=", "url(", "@import"):
        assert reference not in page
    assert page.count("<script") == 1  # our inline script only: the delivered one is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('type="search"') == len(catalog.descriptors)
    assert '<option value="required">required</option>' in page
    assert '<option value="persisting">지속 (persisting)</option>' in page
    assert '<tr data-rules="required" data-states="persisting">' in page
    assert "검색 (Search)" in page and "규칙 (Rule)" in page and "상태 (State)" in page


def test_a_dataset_past_the_page_limit_shows_its_first_records_and_says_where_the_rest_are(tmp_path, catalog):
    from pledgeflow.steward.review_pack import build_tables, prepare_failures
    from pledgeflow.steward.review_html import write_html

    table = failures(*(failure(row, "parse_date", "hire_date") for row in range(10, 15)))
    summary, per_dataset = build_tables(prepare_failures(table, CURATED["validation_failures"]), delivered(*(placement(r) for r in range(10, 15))), catalog, None)
    write_html(tmp_path / "p.html", summary, per_dataset, "r", limit=3)
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert page.count('<tr data-rules="parse_date"') == 3  # rows 10, 11, 12 of the five
    assert "this page holds the first 3 of 5 records" in page and "전체 목록은 review_pack.xlsx" in page
    assert '<b class="f-count">3</b> / 3' in page
    write_html(tmp_path / "all.html", summary, per_dataset, "r", limit=5)
    assert "this page holds" not in (tmp_path / "all.html").read_text(encoding="utf-8")


def test_records_with_a_new_failure_come_first_on_a_cut_page(tmp_path, catalog):
    from pledgeflow.steward.review_pack import build_tables, prepare_failures
    from pledgeflow.steward.review_html import write_html

    states = {10: "persisting", 11: "persisting", 12: "new", 13: "persisting", 14: "new"}
    table = failures(*(failure(row, "parse_date", "hire_date", state=state) for row, state in states.items()))
    summary, per_dataset = build_tables(prepare_failures(table, CURATED["validation_failures"]), delivered(*(placement(r) for r in states)), catalog, None)
    write_html(tmp_path / "p.html", summary, per_dataset, "r", limit=3)
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    shown = re.findall(r'<tr data-rules="parse_date" data-states="(\w+)">', page)
    assert shown == ["new", "new", "persisting"]


def test_record_rows_start_with_what_the_steward_acts_on_and_fold_the_keys(tmp_path, catalog):
    table = failures(failure(11, "parse_date", "hire_date"))
    page = write_review_pack(tmp_path, table, delivered(placement(11)), catalog, "r",
                             contract=CURATED["validation_failures"])["html"].read_text(encoding="utf-8")
    row = re.search(r'<tr data-rules="parse_date".*?</tr>', page, flags=re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    assert cells[:6] == ["placements/2019_채용실적.csv", "11", "parse_date", "[hire_date] 규칙 parse_date 위반",
                         "[hire_date] broke parse_date", "new"]
    assert "2019. 2. 30." in cells[6:-1]  # the delivered values follow
    assert cells[-1].startswith("<details><summary>") and f"record_id: {11:016x}" in cells[-1]
    assert all(cell not in (f"{11:016x}", "key11", "fp-11-parse_date") for cell in cells[:-1])  # folded away, not up front
