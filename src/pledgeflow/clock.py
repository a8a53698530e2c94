"""Seoul time, defined once: run dates, waiver expiry and every timestamp shown to a person.

Korea keeps no daylight saving time, so Asia/Seoul is UTC+9 all year. Wall-clock values live only in
run metadata (the `runs` table, manifests); data tables never hold one.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import polars as pl

SEOUL_TZ = "Asia/Seoul"
SEOUL = ZoneInfo(SEOUL_TZ)


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC (what run metadata stores)."""
    return datetime.now(timezone.utc)


def now_seoul() -> datetime:
    return datetime.now(SEOUL)


def seoul_date(moment: datetime) -> date:
    """The calendar date in Seoul of an aware datetime (a run at 01:00 KST belongs to that Seoul day)."""
    return moment.astimezone(SEOUL).date()


def in_seoul(expr: pl.Expr) -> pl.Expr:
    """A UTC datetime column shown in Seoul time."""
    return expr.dt.convert_time_zone(SEOUL_TZ)


def naive_as_seoul(expr: pl.Expr) -> pl.Expr:
    """A naive datetime column typed in Seoul (a steward's Excel) as UTC."""
    return expr.dt.replace_time_zone(SEOUL_TZ).dt.convert_time_zone("UTC")
