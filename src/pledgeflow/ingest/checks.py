"""Custom pandera checks, registered by name so the YAML schemas can use them.

`register_checks()` must run before any `DataFrameSchema.from_yaml` that names
one of these checks (pandera resolves them by name at load time). Each check
is a vectorised polars expression over `PolarsData`.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandera.extensions as extensions
import polars as pl
from pandera.api.polars.types import PolarsData

from pledgeflow.privacy import contains_personal_number

# 사업자등록번호 check digit: weights for the first nine digits (National Tax Service rule).
BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
CATALOG_MARKERS = ("known_subproject", "in_pledge_term")  # checks whose values come from the catalog
_registered = False
_register_lock = threading.Lock()  # deliveries are validated on parallel threads


def brn_is_valid(expr: pl.Expr) -> pl.Expr:
    """True where a 10-digit business registration number carries the right check digit."""
    digits = [expr.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(10)]
    weighted = pl.sum_horizontal([d * w for d, w in zip(digits, BRN_WEIGHTS)])
    total = weighted + (digits[8] * 5) // 10
    check = (10 - total % 10) % 10
    # ASCII digits only: "\d" also matches full-width digits (１２４…), which then fail the cast and give a
    # null that pandera counts as a pass.
    return expr.str.contains(r"^[0-9]{10}$") & (check == digits[9])


def _brn_check_digit(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(brn_is_valid(pl.col(data.key)))


def _date_in_term(data: PolarsData, *, start: str, end: str) -> pl.LazyFrame:
    bounds = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return data.lazyframe.select(pl.col(data.key).is_between(*bounds))


def _date_in_pledge_term(data: PolarsData, *, start: str, end: str, by: str, terms: dict) -> pl.LazyFrame:
    # each record against the term of the pledge its sub-project (`by`) belongs to; a record whose
    # sub-project is unknown (another rule's business) against the span of every term
    lower = {k: dt.date.fromisoformat(v[0]) for k, v in terms.items()}
    upper = {k: dt.date.fromisoformat(v[1]) for k, v in terms.items()}
    lo = pl.col(by).replace_strict(lower, default=dt.date.fromisoformat(start), return_dtype=pl.Date)
    hi = pl.col(by).replace_strict(upper, default=dt.date.fromisoformat(end), return_dtype=pl.Date)
    return data.lazyframe.select(pl.col(data.key).is_between(lo, hi))


def _catalog_marker(data: PolarsData) -> pl.LazyFrame:
    # `known_subproject` / `in_pledge_term` in a YAML schema are compiled from the catalog by
    # `pledgeflow.project.compile_catalog_checks`; a schema used without its catalog must not pass silently
    raise RuntimeError("schema check needs the catalog: load the schema through Project.raw_schema")


def _no_personal_number(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(~contains_personal_number(pl.col(data.key)))


def _completed_le_enrolled(data: PolarsData) -> pl.LazyFrame:
    # a null on either side is another rule's business (required / parse)
    return data.lazyframe.select((pl.col("completed_count") <= pl.col("enrolled_count")).fill_null(True))


def _start_le_end(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("start_date") <= pl.col("end_date")).fill_null(True))


def register_checks() -> None:
    """Register pledgeflow's checks with pandera once per process."""
    global _registered
    with _register_lock:
        if not _registered:
            _register_all()
            _registered = True


def _register_all() -> None:
    extensions.register_check_method()(_named(_brn_check_digit, "brn_check_digit"))
    extensions.register_check_method(statistics=["start", "end"])(_named(_date_in_term, "date_in_term"))
    extensions.register_check_method(statistics=["start", "end", "by", "terms"])(_named(_date_in_pledge_term, "date_in_pledge_term"))
    for marker in CATALOG_MARKERS:
        extensions.register_check_method()(_named(_catalog_marker_named(marker), marker))
    extensions.register_check_method()(_named(_no_personal_number, "no_personal_number"))
    extensions.register_check_method()(_named(_completed_le_enrolled, "completed_le_enrolled"))
    extensions.register_check_method()(_named(_start_le_end, "start_le_end"))


def _catalog_marker_named(name: str):
    def marker(data: PolarsData) -> pl.LazyFrame:
        return _catalog_marker(data)
    return marker


def _named(func, name: str):
    func.__name__ = name
    return func
