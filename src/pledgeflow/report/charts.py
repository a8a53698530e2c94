"""Charts declared as Vega-Lite (altair) and rendered to inline SVG at build time (vl-convert).

No JavaScript reaches the page: the SVG is static, its text drawn by the reader's fonts (the
font-family list below renders Hangul on Windows and Linux). Each SVG gets a `<title>` and `<desc>`
for screen readers, and loses its XML namespace declarations (not needed inline in HTML), so the
page holds no URL at all. vl-convert renders the same spec to the same bytes, so pages stay deterministic.
"""

from __future__ import annotations

import re

import altair as alt
import vl_convert

FONT = "'Noto Sans CJK KR', '맑은 고딕', 'Malgun Gothic', sans-serif"
SERIES_COLOURS = ["#4c6a92", "#d9822b", "#6b8e23", "#8c564b"]  # labelled in the legend and the table too
CONFIG = {"font": FONT, "view": {"stroke": None}, "axis": {"labelFontSize": 11, "titleFontSize": 11},
          "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"}}


def render_svg(chart: alt.TopLevelMixin, chart_id: str, title: str, description: str) -> str:
    """The chart as inline SVG with an accessible name and description, free of URLs."""
    spec = chart.to_dict()
    spec["config"] = {**CONFIG, **spec.get("config", {})}
    svg = vl_convert.vegalite_to_svg(spec)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg, count=2)
    svg = re.sub(r'\s+xlink:href="[^"]*"', "", svg)
    # coordinates to 2 decimals: a smaller page, and no 10-digit runs that read like a phone number to a leak scan
    svg = re.sub(r"(\d\.\d{2})\d+", r"\1", svg)
    head = (f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}" '
            'style="max-width:100%;height:auto" ')
    body = f'<title id="{chart_id}-title">{escape_text(title)}</title><desc id="{chart_id}-desc">{escape_text(description)}</desc>'
    svg = svg.replace("<svg ", head, 1)
    return svg.replace(">", ">" + body, 1)


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def draw_target_actual(rows: list[dict], chart_id: str, title: str, unit: str, as_of=None) -> str:
    """Per period: target vs actual (bars, side by side) and cumulative target vs actual (lines).

    Periods that have not started by `as_of` show their target only: no actual is drawn for them.
    """
    series = {"target": "목표 target", "actual": "실적 actual (기록 records)"}
    per_period, cumulative = [], []
    run_target = run_actual = 0
    for row in rows:
        period = row["period_label"]
        started = as_of is None or row["period_start_date"] <= as_of
        run_target += row["target"] or 0
        run_actual += row["actual"] or 0
        if row["target"] is not None:  # the card prints "-": no bar, not a zero
            per_period.append({"기간": period, "구분": series["target"], "값": row["target"]})
        cumulative.append({"기간": period, "구분": "누적 목표 cumulative target", "값": run_target})
        if started:
            per_period.append({"기간": period, "구분": series["actual"], "값": row["actual"] or 0})
            cumulative.append({"기간": period, "구분": "누적 실적 cumulative actual", "값": run_actual})
    sort = [r["period_label"] for r in rows]
    colour = alt.Color("구분:N", title=None, scale=alt.Scale(range=SERIES_COLOURS[:2]))
    bars = alt.Chart(alt.Data(values=per_period), title=alt.Title(f"기간별 per period ({unit})", fontSize=12)).mark_bar().encode(
        x=alt.X("기간:N", sort=sort, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("구분:N"), y=alt.Y("값:Q", title=None), color=colour,
    ).properties(width=260, height=170)
    labels = bars.mark_text(dy=-5, fontSize=10).encode(text="값:Q", color=alt.value("#222"))
    lines = alt.Chart(alt.Data(values=cumulative), title=alt.Title(f"누적 cumulative ({unit})", fontSize=12)).mark_line(point=True).encode(
        x=alt.X("기간:N", sort=sort, title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("값:Q", title=None),
        color=alt.Color("구분:N", title=None, scale=alt.Scale(range=SERIES_COLOURS[2:4])),
        strokeDash=alt.StrokeDash("구분:N", title=None),
    ).properties(width=260, height=170)
    chart = alt.hconcat(bars + labels, lines).resolve_scale(color="independent", strokeDash="independent")
    desc = "; ".join(f"{r['period_label']}: 목표 {r['target'] if r['target'] is not None else '-'}, "
                     f"실적 {r['actual'] if as_of is None or r['period_start_date'] <= as_of else '-'}" for r in rows)
    return render_svg(chart, chart_id, title, f"목표와 기록상 실적 (target vs actual from records), {unit}: {desc}")


def draw_budget(rows: list[dict], chart_id: str, title: str) -> str:
    """Budget by period, stacked by funding source (구비 / 시비 / 국비), million KRW."""
    values = [{"기간": r["period_label"], "재원": r["funding_source_ko"], "백만원": r["amount_million_krw"] or 0,
               "order": r["source_order"]} for r in rows]
    sort = list(dict.fromkeys(r["period_label"] for r in rows))
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("기간:N", sort=sort, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("sum(백만원):Q", title=None),
        color=alt.Color("재원:N", title="재원 funding source", sort=["구비", "시비", "국비"],
                        scale=alt.Scale(range=SERIES_COLOURS[:3])),
        order=alt.Order("order:Q"),
    ).properties(width=420, height=170, title=alt.Title("백만원 million KRW", fontSize=12))
    desc = "; ".join(f"{r['period_label']} {r['funding_source_ko']} {r['amount_million_krw'] or 0}" for r in rows)
    return render_svg(chart, chart_id, title, f"기간별 재원별 소요예산 (budget by period and source, 백만원): {desc}")
