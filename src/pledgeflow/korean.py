"""Korean number, rate and date formats as polars expressions.

Everything here is vectorised: an expression in, an expression out. A cell
that is not empty and does not parse yields null from the `parse_*` function
and true from the matching `*_is_invalid` function, so callers can keep the
cell as a failure instead of losing it.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

# "-" (and its dash look-alikes) and an empty cell both mean "none" on Korean reports.
NONE_MARKERS = ["-", "–", "—", "－", "‐"]
# Well-formed integers: plain digits, or digits grouped by 3 with commas ("1,233").
_WELL_FORMED_INT = r"^[+-]?(\d+|\d{1,3}(,\d{3})+)$"
# Anything made only of digits and commas is readable as a number even when the grouping is wrong
# ("1,9235"): the report keeps such a figure verbatim and flags it, it is never silently fixed.
_DIGITS_AND_COMMAS = r"^[+-]?[\d,]*\d$"
# Dates: "2018. 11. 20.", "'18. 11. 2.", "2018.11.20", "2018-11-20", "2018/11/20", "2018-11-20 00:00:00"
_DATE = r"^'?\s*(\d{4}|\d{2})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{1,2})\s*\.?(?:\s+00:00(?::00(?:\.0+)?)?)?$"
_RATE = r"^([+-]?\d+(?:\.\d+)?)\s*%$"


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Trim (including no-break spaces) and turn empty strings into null."""
    trimmed = expr.cast(pl.String).str.replace_all("\u00a0", " ").str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def is_none_marker(expr: pl.Expr) -> pl.Expr:
    """True where the cell means 'none' ("-", an empty cell)."""
    cleaned = clean_text(expr)
    return cleaned.is_null() | cleaned.is_in(NONE_MARKERS)


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


def parse_int(expr: pl.Expr, *, lenient_grouping: bool = False) -> pl.Expr:
    """Korean integer text -> Int64; '-' and empty -> null.

    With `lenient_grouping`, digits with misplaced separators ("1,9235") are read as their digits;
    use that only where the figure is also flagged by `number_is_malformed` (the report).
    Excel sometimes hands integers over as "12.0": accepted when the fraction is zero.
    """
    cleaned = clean_text(expr).str.replace(r"^(\d+)\.0+$", "${1}")
    pattern = _DIGITS_AND_COMMAS if lenient_grouping else _WELL_FORMED_INT
    return (
        pl.when(cleaned.str.contains(pattern) & ~cleaned.is_in(NONE_MARKERS))
        .then(cleaned.str.replace_all(",", "").cast(pl.Int64, strict=False))
        .otherwise(None)
    )


def number_is_malformed(expr: pl.Expr) -> pl.Expr:
    """True where a non-empty, non-'-' cell is not a well-formed Korean integer."""
    cleaned = clean_text(expr).str.replace(r"^(\d+)\.0+$", "${1}")
    return ~is_none_marker(expr) & ~cleaned.str.contains(_WELL_FORMED_INT)


def parse_rate_pct(expr: pl.Expr) -> pl.Expr:
    """'83%' -> 83.0; '-' and empty -> null."""
    return clean_text(expr).str.extract(_RATE, 1).cast(pl.Float64, strict=False)


def rate_is_malformed(expr: pl.Expr) -> pl.Expr:
    return ~is_none_marker(expr) & ~clean_text(expr).str.contains(_RATE)


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Korean date text -> Date; an impossible date (2019. 2. 30.) or unknown format -> null."""
    cleaned = clean_text(expr)
    year = pl.field("1")
    # built inside the struct, so the regex runs once: each `.struct.field()` of the struct would run it again
    iso = cleaned.str.extract_groups(_DATE).struct.with_fields(pl.concat_str(
        [pl.when(year.str.len_bytes() == 2).then(pl.lit("20") + year).otherwise(year),
         pl.field("2").str.zfill(2), pl.field("3").str.zfill(2)], separator="-").alias("iso")).struct.field("iso")
    return pl.coalesce(iso.str.to_date("%Y-%m-%d", strict=False), cleaned.str.to_date("%Y%m%d", strict=False))


def date_is_invalid(expr: pl.Expr) -> pl.Expr:
    """True where a cell holds something that is not a valid date."""
    return ~is_none_marker(expr) & parse_date(expr).is_null()


def int_is_invalid(expr: pl.Expr) -> pl.Expr:
    """True where a non-empty cell is not a well-formed integer."""
    return ~is_none_marker(expr) & parse_int(expr).is_null()
