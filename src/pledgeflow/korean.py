"""Korean number, rate and date formats as polars expressions.

Everything here is vectorised: an expression in, an expression out. A cell
that is not empty and does not parse yields null from the `parse_*` function
and true from the matching `*_is_invalid` function, so callers can keep the
cell as a failure instead of losing it. Which forms each type accepts and
refuses, with examples: `schemas/FORMATS.md`.

Cells are normalised with Unicode NFKC inside the parse only (full-width digits
and punctuation such as "１２", "．", "－", "（３）", no-break and thin spaces);
text that is kept verbatim is never normalised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import polars as pl

# "-" (and its dash look-alikes) and an empty cell both mean "none" on Korean reports; Excel's
# accounting format prints a zero as " - ". Whether "-" is none or zero is the column's
# `none_means` (dataset descriptors), applied by `validation.parse_columns`.
NONE_MARKERS = ["-", "–", "—", "－", "‐", "−"]
# Count units written after a figure ("25명", "3개", "12회", "5건"); longest first.
UNITS = ("개사", "개소", "명", "개", "회", "건", "곳")
# Cards round half up (사사오입): 5 ÷ 16 = 31.25% is printed 31.3, where polars would round half to even (31.2).
HALF_UP = "half_away_from_zero"
_D = "[0-9]"  # ASCII digits only: `\d` is Unicode in polars' regex engine
_YEAR = "(?:19|20)[0-9]{2}"  # four-digit years 1900-2099: "0201. 3. 1." is a typo, not the year 201
# Well-formed integer digits: plain, or grouped by 3 with commas ("1,233") or spaces ("1 150", also
# no-break and thin spaces, which NFKC turns into spaces); Excel's whole numbers "12.0" too.
_GROUPED = rf"{_D}+|{_D}{{1,3}}(?:,{_D}{{3}})+|{_D}{{1,3}}(?: {_D}{{3}})+"
# Anything made only of digits and commas is readable as a number even when the grouping is wrong
# ("1,9235"): the report keeps such a figure verbatim and flags it, it is never silently fixed.
_LENIENT = rf"[0-9,]*{_D}|{_D}{{1,3}}(?: {_D}{{3}})+"
_RATE = r"^([+-]?[0-9]+(?:\.[0-9]+)?)\s*%$"

# Dates. The year-first forms: "2018. 11. 20.", "'18. 11. 2." (also ‘ ’ quotes), "2018.11.20",
# "2018-11-20", "2018/11/20", "2021년 5월 3일"; a bare two-digit year only with dots ("18. 11. 2.").
_YMD = (rf"(?:'?\s*(?P<y>{_YEAR})|'\s*(?P<yq>{_D}{{2}}))"
        rf"\s*(?:[./-]|년)\s*(?P<m>{_D}{{1,2}})\s*(?:[./-]|월)\s*(?P<d>{_D}{{1,2}})\s*[.일]?")
_YMD_SHORT = rf"(?P<ys>{_D}{{2}})\s*\.\s*(?P<ms>{_D}{{1,2}})\s*\.\s*(?P<ds>{_D}{{1,2}})\s*\.?"
# Korean offices' Excel exports in an English locale: month/day/year, "01/04/2021" is 4 January.
_MDY = rf"(?P<um>{_D}{{1,2}})\s*/\s*(?P<ud>{_D}{{1,2}})\s*/\s*(?P<uy>{_YEAR})"
_COMPACT = rf"(?P<cy>{_YEAR})(?P<cm>{_D}{{2}})(?P<cd>{_D}{{2}})"
_WEEKDAYS = "월화수목금토일"  # Monday first, as polars' dt.weekday() (1 = Monday)
_WEEKDAY = rf"(?:\s*\(\s*(?P<wp>[{_WEEKDAYS}])(?:요일)?\s*\)|\s*(?P<wb>[{_WEEKDAYS}])(?:요일)?)?"
# A time of day after the date (Excel datetimes read as text): "00:00:00", "T00:00:00", "오전 12:00:00",
# "오후 3:05:00". The cell is still that date, whatever the time.
_TIME = (rf"(?:(?:\s*T\s*|\s+)(?:(?:오전|오후|AM|PM)\s*(?:0?{_D}|1[0-2])|[01]?{_D}|2[0-3])"
         rf":[0-5]{_D}(?::[0-5]{_D}(?:\.{_D}+)?)?)?")
# Excel serial day numbers (days since 1899-12-30), a fraction being the time of day
_SERIAL = rf"(?P<serial>{_D}{{5}})(?:\.{_D}+)?"
_DATE = (rf"^(?:(?:{_YMD}|{_YMD_SHORT}|{_MDY}|{_COMPACT}){_WEEKDAY}{_TIME}|{_SERIAL})$")
# Serials accepted as dates: 1990-01-01 .. 2099-12-31; outside that, an integer typed into a date column
# by mistake ("12345") is refused rather than read as a day in 1933.
SERIAL_RANGE = (32874, 73050)
_EXCEL_EPOCH = 25569  # serial of 1970-01-01
# Two-digit years as Python's %y reads them: 00-68 -> 20xx, 69-99 -> 19xx.
_PIVOT = 68


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Trim (including no-break spaces) and turn empty strings into null."""
    trimmed = expr.cast(pl.String).str.replace_all("\u00a0", " ").str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def normalised(expr: pl.Expr) -> pl.Expr:
    """`clean_text`, then Unicode NFKC (full-width digits and punctuation, odd spaces): for parsing only."""
    return clean_text(expr).str.normalize("NFKC")


def is_none_marker(expr: pl.Expr) -> pl.Expr:
    """True where the cell means 'none' ("-", an empty cell)."""
    cleaned = clean_text(expr)
    return cleaned.is_null() | cleaned.is_in(NONE_MARKERS)


def is_dash(expr: pl.Expr) -> pl.Expr:
    """True where the cell is a dash ("-", Excel's accounting zero " - "), not merely empty."""
    return clean_text(expr).is_in(NONE_MARKERS).fill_null(False)


def parse_distinct(expr: pl.Expr, parse: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`parse(expr)` computed over the distinct cells of `expr` only, then mapped back onto every row.

    Dates, years, counts and labels repeat a lot (a year of hires has ~365 distinct dates), and their
    regexes cost far more than a hash lookup: 200,000 hire dates parse 5x faster this way. It pays where
    cells repeat (also employer names, event ids, notes that are mostly "-"); on columns of distinct
    values (person keys) it would only add the lookup.

    The distinct cells are parsed inside `list.eval`, in a context of their own length: applied to
    `expr.unique()` directly, polars 2.1 sizes a `when/then(None)` branch to the frame instead, and panics
    in some engines and combinations (`tests/test_korean.py` runs every engine).
    """
    distinct = expr.unique(maintain_order=True).implode()
    return expr.replace_strict(distinct.explode(), distinct.list.eval(parse(pl.element())).explode(), default=None)


def _int_pattern(lenient: bool, units: Sequence[str]) -> str:
    body = rf"(?:{_LENIENT if lenient else _GROUPED})(?:\.0+)?"
    unit = rf"(?:\s*(?:{'|'.join(re.escape(u) for u in sorted(units, key=len, reverse=True))}))?" if units else ""
    # "-3", "+3", "△3", "−3" (minus sign); accounting "(3)"; a unit inside or after the parentheses
    return (rf"^(?:(?P<sign>[-+△−])\s*(?P<a>{body}){unit}|\(\s*(?P<b>{body}){unit}\s*\){unit}|(?P<c>{body}){unit})$")


def parse_int(expr: pl.Expr, *, lenient_grouping: bool = False, units: Sequence[str] = UNITS) -> pl.Expr:
    """Korean integer text -> Int64; '-' and empty -> null.

    Accepts "1,233", "1 150" (space, no-break or thin space as thousands separator), full-width digits,
    a count unit after the figure (`units`: "25명", "3개"), negatives as "-3", "−3", "△3" or "(3)", and Excel's
    whole numbers "12.0". With `lenient_grouping`, digits with misplaced separators ("1,9235") are read as
    their digits; use that only where the figure is also flagged by `number_is_malformed` (the report).
    """
    groups = normalised(expr).str.extract_groups(_int_pattern(lenient_grouping, units))
    return groups.struct.with_fields(
        pl.coalesce(pl.field("a"), pl.field("b"), pl.field("c")).str.replace(r"\.0+$", "")
        .str.replace_all("[, ]", "").cast(pl.Int64, strict=False).alias("digits"),
    ).struct.with_fields(
        pl.when(pl.field("b").is_not_null() | pl.field("sign").is_in(["-", "△", "−"]))
        .then(-pl.field("digits")).otherwise(pl.field("digits")).alias("value"),
    ).struct.field("value")


def number_is_malformed(expr: pl.Expr) -> pl.Expr:
    """True where a non-empty, non-'-' cell is not a well-formed Korean integer."""
    return ~is_none_marker(expr) & parse_int(expr).is_null()


def parse_rate_pct(expr: pl.Expr) -> pl.Expr:
    """'83%' -> 83.0 (also full-width '８３％'); '-' and empty -> null."""
    return normalised(expr).str.extract(_RATE, 1).cast(pl.Float64, strict=False)


def rate_is_malformed(expr: pl.Expr) -> pl.Expr:
    return ~is_none_marker(expr) & ~normalised(expr).str.contains(_RATE).fill_null(False)


def format_date(day: pl.Expr) -> pl.Expr:
    """Date -> "2018. 7. 1.", as Korean forms print it."""
    return pl.format("{}. {}. {}.", day.dt.year(), day.dt.month(), day.dt.day())


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Korean date text -> Date; an impossible date (2019. 2. 30.), a weekday that is not the date's
    ("2019.11.4.(화)"), an out-of-range Excel serial or an unknown format -> null."""
    text = normalised(expr).str.replace_all("[‘’`´]", "'")
    short = pl.coalesce(pl.field("yq"), pl.field("ys"))
    century = pl.when(short.cast(pl.Int32, strict=False) <= _PIVOT).then(pl.lit("20")).otherwise(pl.lit("19"))
    year = pl.coalesce(pl.field("y"), century + short, pl.field("uy"), pl.field("cy"))
    month = pl.coalesce(pl.field("m"), pl.field("ms"), pl.field("um"), pl.field("cm"))
    day = pl.coalesce(pl.field("d"), pl.field("ds"), pl.field("ud"), pl.field("cd"))
    iso = pl.concat_str([year, month.str.zfill(2), day.str.zfill(2)], separator="-")
    serial = pl.field("serial").cast(pl.Int32, strict=False)
    from_serial = pl.when(serial.is_between(*SERIAL_RANGE)).then((serial - _EXCEL_EPOCH).cast(pl.Date))
    date = pl.coalesce(iso.str.to_date("%Y-%m-%d", strict=False), from_serial)
    weekday = pl.coalesce(pl.field("wp"), pl.field("wb")).replace_strict(
        {w: i for i, w in enumerate(_WEEKDAYS, start=1)}, default=None, return_dtype=pl.Int8)
    checked = pl.when(weekday.is_null() | (weekday == date.dt.weekday())).then(date)
    # built inside the struct, so the regex runs once: each `.struct.field()` of the struct would run it again
    return text.str.extract_groups(_DATE).struct.with_fields(checked.alias("date")).struct.field("date")


def date_is_invalid(expr: pl.Expr) -> pl.Expr:
    """True where a cell holds something that is not a valid date."""
    return ~is_none_marker(expr) & parse_date(expr).is_null()


def int_is_invalid(expr: pl.Expr) -> pl.Expr:
    """True where a non-empty cell is not a well-formed integer."""
    return ~is_none_marker(expr) & parse_int(expr).is_null()
