"""Range failures that say their range: the allowed values, read from the pandera check's own statistics,
and dates outside a pledge's term that say which pledge and which term.

"허용 범위 밖의 값입니다" does not tell a steward what to type. The bounds live once, in the dataset's
YAML schema; this module reads them back from the compiled checks (`Check.statistics`), so a changed bound
changes the message and no column needs hand-written text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.contracts import ROW
from pledgeflow.korean import format_date

if TYPE_CHECKING:
    import pandera.polars as pa

    from pledgeflow.catalog import Catalog

RANGE_RULES = ("in_range", "greater_than_or_equal_to", "greater_than", "less_than_or_equal_to", "less_than", "str_length")


def _bound(value, inclusive: bool, ko_in: str, ko_ex: str, en_in: str, en_ex: str) -> tuple[str, str]:
    return (f"{value} {ko_in if inclusive else ko_ex}", f"{en_in if inclusive else en_ex} {value}")


def describe_range(rule: str, stats: dict) -> tuple[str, str] | None:
    """(Korean, English) text of the range a check allows, or None for a check that is not a range."""
    low, high = stats.get("min_value"), stats.get("max_value")
    if rule == "str_length":
        if stats.get("exact_value") is not None:
            return f"길이 {stats['exact_value']}자", f"length exactly {stats['exact_value']} characters"
        parts = [(f"{low}자 이상", f"at least {low}") if low is not None else None,
                 (f"{high}자 이하", f"at most {high}") if high is not None else None]
        kept = [p for p in parts if p]
        return "길이 " + " ".join(p[0] for p in kept), "length " + " and ".join(p[1] for p in kept) + " characters"
    bounds = {
        "in_range": [_bound(low, stats.get("include_min", True), "이상", "초과", "at least", "more than"),
                     _bound(high, stats.get("include_max", True), "이하", "미만", "at most", "less than")],
        "greater_than_or_equal_to": [_bound(low, True, "이상", "초과", "at least", "more than")],
        "greater_than": [_bound(low, False, "이상", "초과", "at least", "more than")],
        "less_than_or_equal_to": [_bound(high, True, "이하", "미만", "at most", "less than")],
        "less_than": [_bound(high, False, "이하", "미만", "at most", "less than")],
    }.get(rule)
    if bounds is None:
        return None
    return " ".join(b[0] for b in bounds), " and ".join(b[1] for b in bounds)


def range_texts(schema: pa.DataFrameSchema) -> pl.DataFrame:
    """column, rule, range_ko, range_en for every range check of the schema's columns."""
    rows = []
    for name, column in schema.columns.items():
        for check in column.checks:
            text = describe_range(check.name, check.statistics or {}) if check.name in RANGE_RULES else None
            if text:
                rows.append({"column": name, "rule": check.name, "range_ko": text[0], "range_en": text[1]})
    return pl.DataFrame(rows, schema={"column": pl.String, "rule": pl.String, "range_ko": pl.String, "range_en": pl.String})


def name_ranges(failures: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Append "(허용 범위: …)" / "(allowed: …)" to each range failure's messages; other rows unchanged."""
    ranges = range_texts(schema)
    if ranges.height == 0 or failures.height == 0:
        return failures
    details = ranges.select("column", "rule", ("허용 범위: " + pl.col("range_ko")).alias("detail_ko"),
                            ("allowed: " + pl.col("range_en")).alias("detail_en"))
    return append_details(failures, details, ["column", "rule"])


def append_details(failures: pl.DataFrame, details: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """Append " (detail_ko)" / " (detail_en)" to the messages of the failures `details` matches on `on`; others unchanged."""
    joined = failures.join(details, on=on, how="left")
    return joined.with_columns(
        pl.when(pl.col(f"detail_{lang}").is_not_null()).then(pl.format("{} ({})", f"message_{lang}", f"detail_{lang}"))
        .otherwise(pl.col(f"message_{lang}")).alias(f"message_{lang}") for lang in ("ko", "en")
    ).select(failures.columns)


def name_terms(failures: pl.DataFrame, typed: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Append the term a `date_in_term` failure was checked against: its own pledge's, found by its sub-project
    ("(공약 d01-2018-15 임기: 2018. 7. 1. ~ 2022. 6. 30.)"), or every term together when the sub-project is unknown.

    Terms differ from pledge to pledge, so the rule's message (schemas/rules.yaml) cannot name one."""
    outside = pl.col("rule") == "date_in_term"
    if "subproject_id" not in typed.columns or not failures.select(outside.any()).item():
        return failures
    rows = failures.filter(outside).select(ROW).unique()
    terms = catalog.terms_frame.select("subproject_id", "pledge_id", "term_start_date", "term_end_date")
    own = typed.join(rows, on=ROW, how="semi").select(ROW, "subproject_id").join(terms, on="subproject_id", how="left")
    start, end = pl.lit(catalog.term_start_date).str.to_date(), pl.lit(catalog.term_end_date).str.to_date()
    known = pl.col("pledge_id").is_not_null()
    first, last = pl.coalesce("term_start_date", start), pl.coalesce("term_end_date", end)
    texts = own.select(
        ROW, pl.lit("date_in_term").alias("rule"),
        pl.when(known).then(pl.format("공약 {} 임기: {} ~ {}", "pledge_id", format_date(first), format_date(last)))
        .otherwise(pl.format("모든 공약의 임기: {} ~ {}", format_date(first), format_date(last))).alias("detail_ko"),
        pl.when(known).then(pl.format("term of pledge {}: {} to {}", "pledge_id", first, last))
        .otherwise(pl.format("every pledge's term: {} to {}", first, last)).alias("detail_en"))
    return append_details(failures, texts, [ROW, "rule"])
