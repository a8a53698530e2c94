"""Charts declared as Vega-Lite (altair) and rendered to inline SVG at build time (vl-convert).

No JavaScript reaches the page: the SVG is static, its text drawn by the reader's fonts (the
font-family list below renders Hangul on Windows and Linux). Each SVG gets a `<title>` and `<desc>`
for screen readers, and loses its XML namespace declarations (not needed inline in HTML), so the
page holds no URL at all. vl-convert renders the same spec to the same bytes, so pages stay deterministic.

Rendering costs 0.1-0.3 s of CPU per chart and holds the GIL, so a `ChartRenderer` collects a build's specs,
draws the new ones together (in worker processes when there are many) and keeps each SVG in a folder keyed by
the spec's hash (and vl-convert's version): a nightly run re-draws only the charts whose figures changed.
"""

from __future__ import annotations

import hashlib
import html
import json
import multiprocessing
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import vl_convert

FONT = "'Noto Sans CJK KR', '맑은 고딕', 'Malgun Gothic', sans-serif"
SERIES_COLOURS = ["#4c6a92", "#d9822b", "#6b8e23", "#8c564b"]  # labelled in the legend and the table too
MIN_PARALLEL = 8  # below this, starting worker processes (about 1 s each) costs more than it saves
HELPER_START_CHARTS = 3  # what this process draws while a helper starts (about 1 s, at 0.1-0.3 s a chart)
# No label limit: with one (Vega's default is 180 px), Vega measures every axis and legend label against it, and
# vl-convert's text measuring is a third of a chart's cost. A label is then printed whole, never cut to "…":
# period labels, funding sources and series names are short, and a reader needs them whole.
CONFIG = {"font": FONT, "view": {"stroke": None}, "axis": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 0},
          "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom", "labelLimit": 0, "titleLimit": 0}}


@dataclass(frozen=True)
class Chart:
    """A chart of a page: drawn (with every other chart of the build) the first time a template prints it."""

    renderer: ChartRenderer = field(repr=False, compare=False)
    key: str
    chart_id: str
    title: str
    description: str

    def __html__(self) -> str:
        return label_svg(self.renderer.svg_of(self.key), self.chart_id, self.title, self.description)

    __str__ = __html__


class ChartRenderer:
    """Vega-Lite spec -> SVG through vl-convert. Specs are collected while pages are assembled and drawn
    together (in parallel processes when there are many), each kept under `cache_dir` (when given) by hash."""

    def __init__(self, cache_dir: Path | None = None, workers: int | None = None) -> None:
        self.cache_dir = cache_dir
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        self.used: set[str] = set()
        self.pending: dict[str, dict] = {}
        self.drawn: dict[str, str] = {}

    def render(self, chart: alt.TopLevelMixin, chart_id: str, title: str, description: str) -> Chart:
        """The chart, to be printed as inline SVG with an accessible name and description, free of URLs."""
        # altair's schema validation halves the cost of a spec and cannot fail on these fixed chart builders (the tests
        # validate every builder's spec); the spec is the same either way
        spec = chart.to_dict(validate=False)
        spec["config"] = {**CONFIG, **spec.get("config", {})}
        text = json.dumps(spec, sort_keys=True, ensure_ascii=False) + vl_convert.__version__
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.used.add(key)
        if key not in self.drawn and not self.load_kept(key):
            self.pending[key] = spec
        return Chart(self, key, chart_id, title, description)

    def load_kept(self, key: str) -> bool:
        path = self.cache_dir / f"{key}.svg" if self.cache_dir is not None else None
        if path is None or not path.is_file():
            return False
        self.drawn[key] = path.read_text(encoding="utf-8")
        return True

    def svg_of(self, key: str) -> str:
        if key not in self.drawn:
            self.draw_pending()
        return self.drawn[key]

    def draw_pending(self) -> int:
        """Draw every chart not drawn or kept yet; returns how many were drawn."""
        keys = sorted(self.pending)
        for key, svg in zip(keys, convert_specs([self.pending[k] for k in keys], self.workers), strict=True):
            self.drawn[key] = svg
            self.keep(key, svg)
        self.pending.clear()
        return len(keys)

    def keep(self, key: str, svg: str) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_dir / f".{key}.{os.getpid()}.tmp"  # a reader never sees half an SVG
        tmp.write_text(svg, encoding="utf-8")
        os.replace(tmp, self.cache_dir / f"{key}.svg")

    def prune(self) -> int:
        """Remove the kept SVGs this renderer did not use (call after building every page); returns how many."""
        if self.cache_dir is None or not self.cache_dir.is_dir():
            return 0
        stale = [p for p in self.cache_dir.iterdir() if p.suffix == ".svg" and p.stem not in self.used]
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)


def convert_specs(specs: list[dict], workers: int) -> list[str]:
    """vl-convert over `specs`, in order. It holds the GIL and draws one chart in 0.1-0.3 s, so many charts are
    shared among `workers` drawing processes (not possible inside a daemonic process, such as a Dask worker).

    This process is one of them: it draws the first share while `workers - 1` helpers draw the rest, one process
    (and its memory) fewer to start. Helpers start in about a second, so this process takes a little more.
    """
    if workers < 2 or len(specs) < MIN_PARALLEL or multiprocessing.current_process().daemon:
        return [convert_spec(spec) for spec in specs]
    helpers = min(workers, len(specs)) - 1
    mine = min(len(specs) - helpers, len(specs) // (helpers + 1) + HELPER_START_CHARTS)
    with multiprocessing.get_context("spawn").Pool(helpers) as pool:
        theirs = pool.map_async(convert_spec, specs[mine:], chunksize=1)
        return [convert_spec(spec) for spec in specs[:mine]] + theirs.get()


def convert_spec(spec: dict) -> str:
    """One chart (a module-level function: worker processes receive it by name)."""
    return vl_convert.vegalite_to_svg(spec)


def label_svg(svg: str, chart_id: str, title: str, description: str) -> str:
    """vl-convert's SVG made fit for inline HTML: no namespaces or links, short coordinates, a title and description."""
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg, count=2)
    svg = re.sub(r'\s+xlink:href="[^"]*"', "", svg)
    # coordinates to 2 decimals: a smaller page, and no 10-digit runs that read like a phone number to a leak scan
    svg = re.sub(r"(\d\.\d{2})\d+", r"\1", svg)
    head = (f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}" '
            'style="max-width:100%;height:auto" ')
    body = f'<title id="{chart_id}-title">{html.escape(title, quote=False)}</title><desc id="{chart_id}-desc">{html.escape(description, quote=False)}</desc>'
    svg = svg.replace("<svg ", head, 1)
    return svg.replace(">", ">" + body, 1)


def draw_target_actual(renderer: ChartRenderer, rows: list[dict], chart_id: str, title: str, unit: str,
                       as_of=None) -> Chart:
    """Per period: target vs actual (bars, side by side) and cumulative target vs actual (lines).

    Periods that have not started by `as_of` show their target only: no actual is drawn for them.
    """
    series = {"target": "목표 target", "actual": "실적 actual (기록 records)"}
    per_period, cumulative = [], []
    run_target = 0
    for row in rows:
        period = row["period_label"]
        started = as_of is None or row["period_start_date"] <= as_of
        # a cumulative target (목표 누적) is the total to date already; a per-period one adds up
        if row.get("target_semantics") == "cumulative":
            run_target = row["target"] if row["target"] is not None else run_target
        else:
            run_target += row["target"] or 0
        # the table's running total: a distinct count counts each value once to date, so it is not a sum of the bars
        run_actual = row["cumulative_actual"] or 0
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
    return renderer.render(chart, chart_id, title, f"목표와 기록상 실적 (target vs actual from records), {unit}: {desc}")


def draw_budget(renderer: ChartRenderer, rows: list[dict], chart_id: str, title: str) -> Chart:
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
    return renderer.render(chart, chart_id, title, f"기간별 재원별 소요예산 (budget by period and source, 백만원): {desc}")
