"""ChartRenderer: each spec rendered once and kept by its hash; the kept SVG gives the same page bytes."""

from __future__ import annotations

from datetime import date

import pytest

from pledgeflow.report import build_report, charts
from pledgeflow.report.charts import ChartRenderer, convert_specs, draw_budget, draw_target_actual
from tests.report.conftest import RULE

ROWS = [{"period_label": p, "target": t, "actual": a, "cumulative_actual": c, "period_start_date": date(y, 1, 1)}
        for p, t, a, c, y in [("2019", 10, 8, 8, 2019), ("2020", 20, 25, 33, 2020)]]


@pytest.fixture
def calls(monkeypatch) -> list[dict]:
    """Every spec handed to vl-convert."""
    seen, convert = [], charts.vl_convert.vegalite_to_svg
    monkeypatch.setattr(charts.vl_convert, "vegalite_to_svg", lambda spec: seen.append(spec) or convert(spec))
    return seen


def test_a_kept_chart_is_not_drawn_again_and_reads_the_same(tmp_path, calls):
    first = str(draw_target_actual(ChartRenderer(tmp_path), ROWS, "c-1", "제목", "명"))
    again = str(draw_target_actual(ChartRenderer(tmp_path), ROWS, "c-1", "제목", "명"))
    assert len(calls) == 1 and again == first
    assert first == str(draw_target_actual(ChartRenderer(None), ROWS, "c-1", "제목", "명"))  # kept == drawn afresh
    assert len(list(tmp_path.glob("*.svg"))) == 1


def test_the_same_spec_under_another_id_is_drawn_once_but_labelled_as_its_own(tmp_path, calls):
    renderer = ChartRenderer(tmp_path)
    one = str(draw_target_actual(renderer, ROWS, "c-1", "가", "명"))
    two = str(draw_target_actual(renderer, ROWS, "c-2", "나", "명"))
    assert len(calls) == 1
    assert 'id="c-2"' in two and ">나</title>" in two and 'id="c-1"' not in two and one != two


def test_changed_figures_are_drawn_again(tmp_path, calls):
    str(draw_target_actual(ChartRenderer(tmp_path), ROWS, "c-1", "제목", "명"))
    changed = [ROWS[0], ROWS[1] | {"actual": 26}]
    svg = str(draw_target_actual(ChartRenderer(tmp_path), changed, "c-1", "제목", "명"))
    assert len(calls) == 2 and "26" in svg


def test_prune_keeps_only_what_the_last_full_build_used(tmp_path, calls):
    old = ChartRenderer(tmp_path)
    str(draw_target_actual(old, ROWS, "c-1", "제목", "명"))
    budget = [{"period_label": "2019", "funding_source_ko": "구비", "amount_million_krw": 5, "source_order": 1}]
    new = ChartRenderer(tmp_path)
    str(draw_budget(new, budget, "b-1", "예산"))
    assert len(list(tmp_path.glob("*.svg"))) == 2
    assert new.prune() == 1
    (kept,) = tmp_path.glob("*.svg")
    assert kept.stem in new.used


def test_a_report_built_from_kept_charts_is_byte_identical(tiny_version, tmp_path, calls):
    cache = tmp_path / "charts"
    fresh = build_report(tiny_version, tmp_path / "one", status_rule=RULE, chart_cache=cache)
    drawn = len(calls)
    kept = build_report(tiny_version, tmp_path / "two", status_rule=RULE, chart_cache=cache)
    assert drawn > 0 and len(calls) == drawn  # the second build drew nothing
    for a, b in zip([fresh.index, *fresh.pledges.values()], [kept.index, *kept.pledges.values()], strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_many_charts_are_drawn_in_worker_processes_with_the_same_bytes():
    specs = [{"data": {"values": [{"a": str(i), "b": i}]}, "mark": "bar",
              "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}}}
             for i in range(charts.MIN_PARALLEL)]
    assert convert_specs(specs, workers=2) == convert_specs(specs, workers=1)


class Keeping:
    """A renderer that keeps the altair chart it is given (no drawing)."""

    def render(self, chart, chart_id, title, description):
        self.chart = chart
        return chart


@pytest.mark.parametrize("draw", [
    lambda r: draw_target_actual(r, ROWS, "c1", "일자리", "명", as_of=date(2019, 6, 30)),
    lambda r: draw_target_actual(r, ROWS[:1] + [{**ROWS[1], "target": None}], "c2", "일자리", "명"),
    lambda r: draw_budget(r, [{"period_label": "2019", "funding_source_ko": "구비", "amount_million_krw": 5, "source_order": 1},
                              {"period_label": "2019", "funding_source_ko": "시비", "amount_million_krw": None, "source_order": 2}],
                          "b1", "예산"),
])
def test_every_chart_builder_gives_a_valid_vega_lite_spec(draw):
    renderer = Keeping()
    draw(renderer)
    # the renderer skips altair's validation for speed: this is where an invalid spec is caught
    assert renderer.chart.to_dict(validate=True) == renderer.chart.to_dict(validate=False)


def cumulative_lines(rows) -> dict[str, list]:
    """The cumulative panel's points of `draw_target_actual`, by series."""
    renderer = Keeping()
    draw_target_actual(renderer, rows, "c", "일자리", "명")
    spec = renderer.chart.to_dict(validate=False)
    points = spec["hconcat"][1]["data"]["values"]
    return {name: [p["값"] for p in points if p["구분"] == name] for name in dict.fromkeys(p["구분"] for p in points)}


def test_the_cumulative_panel_draws_the_tables_running_totals():
    # per-period targets add up; the actual line is the table's cumulative_actual (a distinct count's is not a sum)
    lines = cumulative_lines([ROWS[0], ROWS[1] | {"cumulative_actual": 30}])
    assert lines == {"누적 목표 cumulative target": [10, 30], "누적 실적 cumulative actual": [8, 30]}
    # cumulative targets (목표 누적) are totals to date already: drawn as printed, not summed
    lines = cumulative_lines([row | {"target_semantics": "cumulative"} for row in ROWS])
    assert lines["누적 목표 cumulative target"] == [10, 20]


def test_long_labels_are_printed_whole_not_cut_short(tmp_path):
    # Vega cuts labels past a limit with "…" (and measures every label to know): the report sets no limit
    period = "2019년 상반기 (1월부터 6월까지, 일자리 목표 공시 첫 번째 기간)"
    source = "국비 (고용노동부 지역고용 활성화 지원사업 보조금, 매칭 포함)"
    rows = [ROWS[0] | {"period_label": period}, ROWS[1]]
    budget = [{"period_label": period, "funding_source_ko": source, "amount_million_krw": 5, "source_order": 1}]
    svgs = [str(draw_target_actual(ChartRenderer(None), rows, "c1", "일자리", "명")),
            str(draw_budget(ChartRenderer(None), budget, "b1", "예산"))]
    assert all(period in svg and "…" not in svg for svg in svgs)
    assert source in svgs[1]
