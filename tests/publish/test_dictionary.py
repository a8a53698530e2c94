"""The data dictionary: every curated table and column, described from its contract, the same bytes every time."""

from __future__ import annotations

from pathlib import Path

from pledgeflow.publish.dictionary import dictionary_html, dictionary_markdown, load_dictionary
from tests.conftest import CURATED

CONTRACTS = Path(__file__).resolve().parents[2] / "schemas" / "curated"


def test_every_table_and_column_is_described():
    docs = load_dictionary(CONTRACTS)
    assert set(docs) == set(CURATED)
    for name, doc in docs.items():
        assert doc.description, name
        assert [c.name for c in doc.columns] == list(CURATED[name])
        assert all(c.description for c in doc.columns), name


def test_record_id_is_documented_where_it_appears():
    docs = load_dictionary(CONTRACTS)
    holders = {name for name, doc in docs.items() for c in doc.columns if c.name == "record_id"}
    assert holders >= {"validation_failures", "decisions"}
    for name in holders:
        (column,) = [c for c in docs[name].columns if c.name == "record_id"]
        assert "HMAC-SHA256" in column.description and "not on source_file" in column.description


def test_markdown_and_html_list_columns_with_types_and_allowed_values():
    docs = load_dictionary(CONTRACTS)
    text, page = dictionary_markdown(docs), dictionary_html(docs)
    assert "| row_kind | String | no |" in text and "leaf, subtotal, total" in text
    assert "## reconciliation" in text and "| expected_count | Int64 | yes |" in text
    assert "<script" not in page and "http" not in page.replace('charset="utf-8"', "")  # opens offline
    assert '<h2 id="budget">budget</h2>' in page
    assert dictionary_markdown(load_dictionary(CONTRACTS)) == text
