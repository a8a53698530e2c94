"""Tests for the Korean number, rate and date expressions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pledgeflow import korean


def apply(expr_fn, values: list[str | None], **kwargs) -> list:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(expr_fn(pl.col("v"), **kwargs).alias("out"))["out"].to_list()


def test_clean_text_trims_no_break_spaces_and_empties_to_null():
    assert apply(korean.clean_text, ["\u00a0 12 \u00a0", "   ", "", None, "a b"]) == ["12", None, None, None, "a b"]


def test_none_markers():
    assert apply(korean.is_none_marker, ["-", " - ", "－", "", None, "0", "-1"]) == [
        True, True, True, True, True, False, False,
    ]  # fmt: skip


def test_parse_int_korean_formats():
    values = ["1,233", "1,233,456", "12", " 42 ", "12.0", "-", "", None, "0", "-5", "1,9235", "12.5", "abc", "1 233", "1 23"]
    assert apply(korean.parse_int, values) == [
        1233, 1233456, 12, 42, 12, None, None, None, 0, -5, None, None, None, 1233, None,
    ]  # fmt: skip


def test_parse_int_lenient_grouping_reads_misplaced_separators():
    assert apply(korean.parse_int, ["1,9235", "12,34", "1,233", "-", "abc"], lenient_grouping=True) == [
        19235, 1234, 1233, None, None,
    ]  # fmt: skip


def test_number_is_malformed_flags_only_badly_written_figures():
    assert apply(korean.number_is_malformed, ["1,233", "-", "", None, "1,9235", "12.0", "12.5", "abc"]) == [
        False, False, False, False, True, False, True, True,
    ]  # fmt: skip


def test_int_is_invalid_matches_parse_int():
    values = ["1,233", "-", "", "1,9235", "x"]
    assert apply(korean.int_is_invalid, values) == [False, False, False, True, True]


def test_parse_rate_pct():
    assert apply(korean.parse_rate_pct, ["83%", "83.5 %", " 100% ", "-", "", "83", "1,000%"]) == [
        83.0, 83.5, 100.0, None, None, None, None,
    ]  # fmt: skip


def test_rate_is_malformed():
    assert apply(korean.rate_is_malformed, ["83%", "-", "", None, "83", "abc%"]) == [
        False, False, False, False, True, True,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018. 11. 20.", dt.date(2018, 11, 20)),
        ("'18. 11. 2.", dt.date(2018, 11, 2)),
        ("2018.11.20", dt.date(2018, 11, 20)),
        ("2018-11-20", dt.date(2018, 11, 20)),
        ("2018/11/20", dt.date(2018, 11, 20)),
        ("2018-11-20 00:00:00", dt.date(2018, 11, 20)),  # an Excel date cell read as text
        ("20181120", dt.date(2018, 11, 20)),
        (" 2019. 1. 5 ", dt.date(2019, 1, 5)),
        ("2018년 11월 20일", dt.date(2018, 11, 20)),
        ("2018-11-20 13:05:00", dt.date(2018, 11, 20)),  # a time of day does not change the date
        ("2019-09-02 오후 3:05:00", dt.date(2019, 9, 2)),
        ("‘21. 8. 2.", dt.date(2021, 8, 2)),
        ("2019.11.4.(월)", dt.date(2019, 11, 4)),
        ("01/04/2021", dt.date(2021, 1, 4)),  # month/day/year
        ("43424.0", dt.date(2018, 11, 20)),  # an Excel serial
    ],
)
def test_parse_date_korean_formats(text, expected):
    assert apply(korean.parse_date, [text]) == [expected]
    assert apply(korean.date_is_invalid, [text]) == [False]


@pytest.mark.parametrize("text", ["2019. 2. 30.", "2019. 13. 5.", "2022.6.", "2018년 11월 31일", "2018-11-20 25:05:00",
                                  "2019.11.4.(화)", "13/04/2021", "18/11/20", "12345"])
def test_impossible_or_unknown_dates_are_null_and_flagged(text):
    assert apply(korean.parse_date, [text]) == [None]
    assert apply(korean.date_is_invalid, [text]) == [True]


def test_empty_dates_are_null_but_not_flagged():
    assert apply(korean.parse_date, ["-", "", None]) == [None, None, None]
    assert apply(korean.date_is_invalid, ["-", "", None]) == [False, False, False]


@pytest.mark.parametrize("engine", ["eager", "auto", "in-memory", "streaming"])
def test_parse_distinct_gives_what_parsing_every_cell_gives(engine):
    # repeated, blank, "-", malformed and impossible cells, two distinct-parsed columns in one query: the
    # combination that panicked in some engines before the parse moved into list.eval
    dates = ["2019. 3. 1.", "'19. 3. 1.", "-", None, "2019. 2. 30.", "", "2019. 3. 1.", "x", "20190301"] * 50
    years = ["1970", "1,970", "-", None, "19x", "", "1970", " 1981 ", "12.0"] * 50
    frame = pl.DataFrame({"d": dates, "y": years}, schema={"d": pl.String, "y": pl.String})
    exprs = [
        korean.parse_distinct(pl.col("d"), korean.parse_date).alias("d_distinct"),
        korean.parse_date(pl.col("d")).alias("d_each"),
        korean.parse_distinct(pl.col("y"), korean.parse_int).alias("y_distinct"),
        korean.parse_int(pl.col("y")).alias("y_each"),
        korean.parse_distinct(pl.col("y"), korean.clean_text).alias("y_text"),
    ]
    out = frame.select(exprs) if engine == "eager" else frame.lazy().select(exprs).collect(engine=engine)
    assert out["d_distinct"].dtype == pl.Date and out["y_distinct"].dtype == pl.Int64
    assert out["d_distinct"].to_list() == out["d_each"].to_list()
    assert out["y_distinct"].to_list() == out["y_each"].to_list()
    assert out["y_text"].to_list() == frame.select(korean.clean_text(pl.col("y"))).to_series().to_list()
    assert out["d_distinct"].null_count() == 5 * 50 and out["y_distinct"].null_count() == 4 * 50


def test_parse_distinct_maps_labels_through_a_lookup():
    frame = pl.LazyFrame({"v": ["가 나", "가나", None, "다", "가 나"]})
    lookup = {"가나": "g1"}
    resolved = frame.select(korean.parse_distinct(pl.col("v"), lambda cell: cell.str.replace_all(" ", "").replace_strict(
        lookup, default=None, return_dtype=pl.String))).collect()
    assert resolved["v"].to_list() == ["g1", "g1", None, None, "g1"]
