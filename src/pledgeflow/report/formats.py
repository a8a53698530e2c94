"""Numbers and dates the Korean way: thousands separators ("1,572"), rates with one decimal ("83.0%"),
dates as "2020. 12. 31.", and the card's "-" for a figure that is not there."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

NONE_MARK = "-"
SEOUL = ZoneInfo("Asia/Seoul")


def format_count(value: int | float | None) -> str:
    """1572 -> "1,572"; None -> "-"."""
    if value is None:
        return NONE_MARK
    return f"{int(round(value)):,}" if float(value).is_integer() else f"{value:,.1f}"


def format_pct(value: float | None) -> str:
    """83.0 -> "83.0%"; None -> "-"."""
    return NONE_MARK if value is None else f"{value:,.1f}%"


def format_date(value: date | datetime | None) -> str:
    """2020-12-31 -> "2020. 12. 31."; a UTC datetime is shown in Seoul time with "KST"."""
    if value is None:
        return NONE_MARK
    if isinstance(value, datetime):
        local = value.astimezone(SEOUL) if value.tzinfo else value
        return f"{local.year}. {local.month}. {local.day}. {local:%H:%M} KST"
    return f"{value.year}. {value.month}. {value.day}."


def format_period(period: str | None) -> str:
    """A catalog period as the card heads its columns: "2018" -> "2018년", "2022.6." stays, total -> 계."""
    if period is None:
        return NONE_MARK
    if period == "total":
        return "계"
    return f"{period}년" if period.isdigit() else period
