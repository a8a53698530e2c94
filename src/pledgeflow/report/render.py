"""HTML from the templates in `templates/` (Jinja2, autoescaped), with the page helpers they use."""

from __future__ import annotations

from functools import cache

import jinja2

from pledgeflow.report.formats import format_count, format_date, format_pct, format_period

STATUS_KO = {"mismatch": "불일치", "malformed": "형식 오류", "not_reported": "대조 불가", "match": "일치"}


@cache
def make_environment() -> jinja2.Environment:
    """The template environment: package templates, autoescape on, Korean number formats as globals."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("pledgeflow.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(count=format_count, pct=format_pct, date=format_date, period=format_period,
                       status_ko=lambda s: STATUS_KO.get(s, s), bar_width=width_of_bar)
    return env


def width_of_bar(pct: float | None) -> str:
    """Width of an achievement bar in percent of its box, capped at 100."""
    return f"{min(max(pct or 0.0, 0.0), 100.0):.1f}"


def render_page(template: str, **context) -> str:
    """One page as HTML text."""
    return make_environment().get_template(template).render(**context)
