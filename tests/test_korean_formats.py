"""Every Korean form the parsers accept or refuse: a corpus of awkward cells, and property-based round trips.

`tests/data/korean_corpus.csv` holds one awkward cell per row (cell, type, expected): expected is the value,
NONE (empty or "-": null, not flagged) or FAIL (null and flagged). `schemas/FORMATS.md` documents the forms.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pledgeflow import korean
from pledgeflow.catalog import load_catalog
from pledgeflow.ingest.validate import _parse_cell, validate_frame
from tests.conftest import make_project

ROOT = Path(__file__).resolve().parents[1]
CORPUS = list(csv.DictReader((ROOT / "tests" / "data" / "korean_corpus.csv").open(encoding="utf-8", newline="")))
PARSE = {
    "date": (korean.parse_date, korean.date_is_invalid),
    "int": (korean.parse_int, korean.int_is_invalid),
    "int_lenient": (lambda e: korean.parse_int(e, lenient_grouping=True), korean.number_is_malformed),
    "rate": (korean.parse_rate_pct, korean.rate_is_malformed),
}
HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(kind: str, cells: list[str | None]) -> tuple[list, list]:
    parse, invalid = PARSE[kind]
    frame = pl.DataFrame({"v": cells}, schema={"v": pl.String})
    out = frame.select(parse(pl.col("v")).alias("value"), invalid(pl.col("v")).alias("invalid"))
    return out["value"].to_list(), out["invalid"].to_list()


def expected_value(kind: str, text: str):
    if kind == "date":
        return dt.date.fromisoformat(text)
    return float(text) if kind == "rate" else int(text)


@pytest.mark.parametrize("row", CORPUS, ids=[f"{r['type']}:{r['cell']!r}" for r in CORPUS])
def test_corpus(row):
    kind = row["type"]
    (value,), (invalid,) = run(kind, [row["cell"]])
    if row["expected"] == "FAIL":
        assert (value, invalid) == (None, True)
    elif row["expected"] == "NONE":
        assert (value, invalid) == (None, False)
    elif kind == "int_lenient":  # read, but still flagged as malformed where the grouping is wrong
        assert value == expected_value(kind, row["expected"])
        assert invalid == (not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*|[0-9]+", row["cell"]))
    else:
        assert (value, invalid) == (expected_value(kind, row["expected"]), False)


@pytest.mark.parametrize("engine", ["eager", "auto", "in-memory", "streaming"])
def test_corpus_through_parse_distinct_in_every_engine(engine):
    # the corpus, repeated, through the distinct-cell parse (as validation runs it), next to the per-cell parse
    dates = [r["cell"] for r in CORPUS if r["type"] == "date"] * 3
    ints = [r["cell"] for r in CORPUS if r["type"] == "int"] * 3
    frame = pl.DataFrame({"d": dates, "i": (ints * 2)[: len(dates)]}, schema={"d": pl.String, "i": pl.String})
    exprs = [
        korean.parse_distinct(pl.col("d"), korean.parse_date).alias("d_distinct"),
        korean.parse_date(pl.col("d")).alias("d_each"),
        korean.parse_distinct(pl.col("i"), korean.parse_int).alias("i_distinct"),
        korean.parse_int(pl.col("i")).alias("i_each"),
        # as validation parses a count column whose "-" means zero: value and flag in one struct
        korean.parse_distinct(pl.col("i"), partial(_parse_cell, parse=korean.parse_int, none_means="zero")).alias("z_distinct"),
        _parse_cell(pl.col("i"), korean.parse_int, none_means="zero").alias("z_each"),
    ]
    out = frame.select(exprs) if engine == "eager" else frame.lazy().select(exprs).collect(engine=engine)
    assert out["d_distinct"].to_list() == out["d_each"].to_list()
    assert out["i_distinct"].to_list() == out["i_each"].to_list()
    assert out["z_distinct"].to_list() == out["z_each"].to_list()
    assert {"value": 0, "invalid": False} in out["z_distinct"].to_list()
    assert out["d_distinct"].null_count() < len(dates) and out["i_distinct"].null_count() < len(dates)


# --- property-based round trips -------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789.-/(),:", "０１２３４５６７８９．－／（），：")
SPACES = st.sampled_from(["", " ", "  "])
PADDING = st.sampled_from(["", " ", "\u00a0", "  "])
WEEKDAYS = "월화수목금토일"


@st.composite
def rendered_dates(draw) -> tuple[dt.date, str]:
    """A date 1990-2099 written in one of the accepted forms, with random spacing where it is allowed."""
    day = draw(st.dates(dt.date(1990, 1, 1), dt.date(2099, 12, 31)))
    y, m, d = day.year, day.month, day.day
    mm, dd = (f"{m:02d}", f"{d:02d}") if draw(st.booleans()) else (str(m), str(d))
    s1, s2, s3 = draw(SPACES), draw(SPACES), draw(SPACES)
    style = draw(st.sampled_from(["dotted", "short", "bare_short", "dash", "slash", "korean", "ampm", "weekday",
                                  "iso_t", "midnight", "time", "mdy", "compact", "serial"]))
    if style in ("short", "bare_short") and not 1969 <= y <= 2068:  # two-digit years: 69-99 -> 19xx, 00-68 -> 20xx
        style = "dotted"
    end = draw(st.sampled_from(["", "."]))
    if style == "dotted":
        text = f"{y}.{s1}{mm}.{s2}{dd}{end}"
    elif style == "short":
        quote = draw(st.sampled_from(["'", "‘", "’"]))
        text = f"{quote}{y % 100:02d}.{s1}{mm}.{s2}{dd}{end}"
    elif style == "bare_short":
        text = f"{y % 100:02d}.{s1}{mm}.{s2}{dd}{end}"
    elif style == "dash":
        text = f"{y}-{mm}-{dd}"
    elif style == "slash":
        text = f"{y}/{mm}/{dd}"
    elif style == "korean":
        text = f"{y}년{s1}{m}월{s2}{d}일"
    elif style == "ampm":
        hour = draw(st.integers(1, 12))
        text = f"{y}-{m:02d}-{d:02d} {draw(st.sampled_from(['오전', '오후']))} {hour}:{draw(st.integers(0, 59)):02d}:00"
    elif style == "weekday":
        weekday = WEEKDAYS[day.weekday()] + draw(st.sampled_from(["", "요일"]))
        text = f"{y}.{s1}{m}.{s2}{d}{end}{s3}" + (f"({weekday})" if draw(st.booleans()) else f" {weekday}")
    elif style == "iso_t":
        text = f"{y}-{m:02d}-{d:02d}T00:00:00"
    elif style == "midnight":
        text = f"{y}-{m:02d}-{d:02d} 00:00:00"
    elif style == "time":
        text = f"{y}-{m:02d}-{d:02d} {draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
    elif style == "mdy":
        text = f"{mm}/{dd}/{y}"
    elif style == "compact":
        text = f"{y}{m:02d}{d:02d}"
    else:
        text = str((day - dt.date(1899, 12, 30)).days) + draw(st.sampled_from(["", ".0", ".25"]))
    if draw(st.integers(0, 4)) == 0:
        text = text.translate(FULL_WIDTH)
    return day, draw(PADDING) + text + draw(PADDING)


@pytest.mark.slow
@HYPOTHESIS
@given(st.lists(rendered_dates(), min_size=1, max_size=20))
def test_every_accepted_date_form_round_trips(cases):
    values, invalid = run("date", [text for _, text in cases])
    assert values == [day for day, _ in cases]
    assert not any(invalid)


@st.composite
def rendered_ints(draw) -> tuple[int, str]:
    """An integer written with separators, a unit, full-width digits and a negative notation."""
    n = draw(st.integers(-10**12, 10**12))
    digits = str(abs(n))
    sep = draw(st.sampled_from(["", ",", " ", "\u00a0", "\u2009", "\u202f"]))
    if sep:
        head = len(digits) % 3 or 3
        digits = sep.join([digits[:head], *(digits[i:i + 3] for i in range(head, len(digits), 3))])
    if draw(st.booleans()):
        digits += draw(st.sampled_from([".0", ".00"]))
    unit = draw(st.sampled_from(["", "", *korean.UNITS]))
    if unit and draw(st.booleans()):
        unit = " " + unit
    if n < 0 or draw(st.integers(0, 9)) == 0:  # a positive figure sometimes with an explicit +
        notation = draw(st.sampled_from(["-", "△", "()", "−", "－", "△ "])) if n < 0 else "+"
        text = f"({digits}{unit})" if notation == "()" else f"{notation}{digits}{unit}"
    else:
        text = digits + unit
    if draw(st.integers(0, 4)) == 0:
        text = text.translate(FULL_WIDTH)
    return n, draw(PADDING) + text + draw(PADDING)


@pytest.mark.slow
@HYPOTHESIS
@given(st.lists(rendered_ints(), min_size=1, max_size=20))
def test_every_accepted_number_form_round_trips(cases):
    values, invalid = run("int", [text for _, text in cases])
    assert values == [n for n, _ in cases]
    assert not any(invalid)
    lenient, _ = run("int_lenient", [text for _, text in cases])
    assert lenient == values


# --- garbage: refused and flagged, or read as exactly what the cell says ---------------------------------

ALPHABET = "0123456789 .,-/()'‘’△−:T년월일명개회건오전후화요０１．－" + "\u00a0"


def mutated(text: str, data) -> str:
    """A valid rendering with one character deleted, doubled or replaced."""
    if not text:
        return text
    i = data.draw(st.integers(0, len(text) - 1))
    how = data.draw(st.sampled_from(["delete", "double", "replace"]))
    if how == "delete":
        return text[:i] + text[i + 1:]
    if how == "double":
        return text[:i] + text[i] + text[i:]
    return text[:i] + data.draw(st.sampled_from(ALPHABET)) + text[i + 1:]


def digit_runs(text: str) -> list[str]:
    return re.findall(r"[0-9]+", unicodedata.normalize("NFKC", text))


def date_is_what_the_cell_says(text: str, day: dt.date) -> bool:
    """An independent reading: the cell's digit runs must spell this day in one of the accepted orders."""
    runs = [int(r) for r in digit_runs(text)]
    raw = digit_runs(text)
    year_ok = len(runs) >= 3 and (runs[0] == day.year or (len(raw[0]) == 2 and runs[0] == day.year % 100))
    return any([
        year_ok and runs[1:3] == [day.month, day.day],
        len(runs) >= 3 and runs[:3] == [day.month, day.day, day.year],
        bool(raw) and raw[0] == day.strftime("%Y%m%d"),
        bool(runs) and runs[0] == (day - dt.date(1899, 12, 30)).days,
    ])


@pytest.mark.slow
@HYPOTHESIS
@given(st.data())
def test_garbage_dates_are_flagged_or_read_as_written(data):
    texts = data.draw(st.lists(st.one_of(st.text(ALPHABET, max_size=24), rendered_dates().map(lambda c: mutated(c[1], data))),
                               min_size=1, max_size=20))
    values, invalid = run("date", texts)
    for text, value, bad in zip(texts, values, invalid, strict=True):
        if value is None:
            blank = not text.strip() or text.strip() in korean.NONE_MARKERS
            assert bad is (not blank), text
        else:
            assert not bad and date_is_what_the_cell_says(text, value), (text, value)


@pytest.mark.slow
@HYPOTHESIS
@given(st.data())
def test_garbage_numbers_are_flagged_or_read_as_written(data):
    texts = data.draw(st.lists(st.one_of(st.text(ALPHABET, max_size=16), rendered_ints().map(lambda c: mutated(c[1], data))),
                               min_size=1, max_size=20))
    values, invalid = run("int", texts)
    for text, value, bad in zip(texts, values, invalid, strict=True):
        if value is None:
            blank = not text.strip() or text.strip() in korean.NONE_MARKERS
            assert bad is (not blank), text
            continue
        normal = unicodedata.normalize("NFKC", text)
        whole = re.sub(r"\.0+(?=[^0-9]*$)", "", normal)  # Excel's "12.0"
        assert not bad and abs(value) == int("".join(re.findall(r"[0-9]", whole))), (text, value)
        assert (value < 0) <= any(c in normal for c in "-△(−"), (text, value)


# --- what "-" means, per column ---------------------------------------------------------------------------

SCHEMAS = ROOT / "schemas"
CATALOG = load_catalog(SCHEMAS)


def cohort_frame(**cells: str | None) -> pl.DataFrame:
    row = {"cohort_id": "C-2019-01", "course_name_ko": "용접 기능사", "subproject_name_ko": "기업과 연계한 일자리 창출",
           "provider_name_ko": None, "sponsor_name_ko": None, "start_date": "2019. 3. 1.", "end_date": "2019. 6. 30.",
           "enrolled_count": "20", "completed_count": "18", "note_ko": None} | cells
    names = [c.name for c in CATALOG.descriptors["training_cohorts"].columns]
    return pl.DataFrame([row], schema={n: pl.String for n in names}).with_columns(
        pl.lit("d.csv").alias("source_file"), pl.lit(2, dtype=pl.Int64).alias("source_row"))


def test_count_columns_declare_that_a_dash_is_zero():
    counts = {(d, c.name) for d, desc in CATALOG.descriptors.items() for c in desc.columns if c.none_means == "zero"}
    assert counts == {("training_cohorts", "enrolled_count"), ("training_cohorts", "completed_count"),
                      ("job_fairs", "firm_count"), ("job_fairs", "participant_count")}
    assert CATALOG.descriptors["placements"].column("birth_year").none_means == "none"


@pytest.mark.parametrize("dash", ["-", " - ", "－"])
def test_a_dash_in_a_count_column_is_zero_not_missing(dash):
    result = validate_frame(cohort_frame(completed_count=dash), CATALOG.descriptors["training_cohorts"], make_project(key="k"))
    assert result.failures.is_empty()
    assert result.valid["completed_count"].to_list() == [0]


def test_an_empty_count_cell_is_still_missing():
    result = validate_frame(cohort_frame(completed_count=""), CATALOG.descriptors["training_cohorts"], make_project(key="k"))
    assert set(result.failures.select("column", "rule").iter_rows()) == {("completed_count", "required")}


def test_korean_count_forms_validate():
    result = validate_frame(cohort_frame(enrolled_count="１,２３３명", completed_count="1 150명", start_date="2019.3.4.(월)",
                                         end_date="2019-06-28 오후 3:05:00"),
                            CATALOG.descriptors["training_cohorts"], make_project(key="k"))
    assert result.failures.is_empty()
    assert result.valid.select("enrolled_count", "completed_count", "start_date", "end_date").row(0) == (
        1233, 1150, dt.date(2019, 3, 4), dt.date(2019, 6, 28))


def test_none_means_zero_is_for_int_columns_only(tmp_path):
    from pledgeflow.catalog import load_descriptor

    text = (SCHEMAS / "datasets" / "training_cohorts.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("    type: date\n", "    type: date\n    none_means: zero\n", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="none_means"):
        load_descriptor(bad)


def test_a_ledger_timestamp_keeps_its_time_or_is_refused():
    # parse_date reads "2021-03-02 오후 3:05:00" as that date; a decision's timestamp must not lose its time that way
    from pledgeflow.steward.ledger import parse_timestamp

    stamps = pl.DataFrame({"v": ["2021-03-02 14:05:00", "2021. 3. 2.", "2021-03-02 오후 3:05:00", "2021. 3. 2. 00:00:00",
                               "2021-03-02 오전 12:00:00"]}).select(
        parse_timestamp(pl.col("v")).dt.convert_time_zone("Asia/Seoul").dt.replace_time_zone(None).alias("v"))["v"].to_list()
    assert stamps == [dt.datetime(2021, 3, 2, 14, 5), dt.datetime(2021, 3, 2), None, dt.datetime(2021, 3, 2),
                      dt.datetime(2021, 3, 2)]
