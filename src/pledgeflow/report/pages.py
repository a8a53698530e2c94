"""What each page shows, assembled from the named queries: plain dicts handed to the templates.

`collect_overview` gathers every pledge for `index.html`; `collect_pledge` gathers one card:
attributes, targets and actuals per period, 이행률, budget with its sums checked, activities,
the differences panel (reconciliation findings) and what quarantine holds back.
"""

from __future__ import annotations

import duckdb

from pledgeflow.report.charts import ChartRenderer, draw_budget, draw_target_actual
from pledgeflow.report.data import run_query
from pledgeflow.report.formats import format_period
from pledgeflow.report.status import Progress, StatusRule, Verdict, classify_progress

SOURCE_ORDER = {"district": 1, "city": 2, "national": 3}


def split_stages(stage_text: str | None) -> tuple[str, ...]:
    """"여론수렴, 완료(지속)" -> ("여론수렴", "완료(지속)")."""
    return tuple(s.strip() for s in (stage_text or "").split(", ") if s.strip())


def sum_progress(rows: list[dict], stages: tuple[str, ...]) -> Progress:
    """One `Progress` over several indicator rows of `progress.sql` (a pledge's sub-projects)."""
    open_periods = sorted({p for r in rows for p in r["open_period_labels"].split(", ") if p})
    return Progress(
        total_target=sum(r["total_target"] or 0 for r in rows), actual_to_date=sum(r["actual_to_date"] for r in rows),
        target_due=sum(r["target_due"] for r in rows), periods_started=max((r["periods_started"] for r in rows), default=0),
        open_periods=tuple(open_periods), stages=stages,
    )


def judge_pledge(rows: list[dict], stage_text: str | None, rule: StatusRule) -> tuple[Progress, Verdict, list[dict]]:
    """The pledge's progress and verdict, and each sub-project's (the card's stage judged at pledge level only)."""
    stages = split_stages(stage_text)
    progress = sum_progress(rows, stages)
    subprojects = [r | {"verdict": classify_progress(sum_progress([r], ()), rule)} for r in rows]
    return progress, classify_progress(progress, rule), subprojects


def collect_overview(connection: duckdb.DuckDBPyConnection, rule: StatusRule) -> tuple[list[dict], int]:
    """One entry per pledge for the district overview, and the number of findings that name no pledge."""
    progress = run_query(connection, "progress")
    budget = {r["pledge_id"]: r for r in run_query(connection, "budget_planned")}
    findings = run_query(connection, "findings")
    holdbacks = run_query(connection, "holdbacks")
    entries = []
    for pledge in run_query(connection, "pledges"):
        pid = pledge["pledge_id"]
        mine = [r for r in progress if r["pledge_id"] == pid]
        totals, verdict, subprojects = judge_pledge(mine, pledge["implementation_stage_ko"], rule)
        own_findings = [f for f in findings if f["pledge_id"] == pid]
        own_holdbacks = [h for h in holdbacks if h["pledge_id"] == pid]
        entries.append(pledge | {
            "progress": totals, "verdict": verdict, "subprojects": subprojects,
            "budget": budget.get(pid), "findings": own_findings, "holdbacks": own_holdbacks,  # the pledge page's too
            "open_findings": len(own_findings), "held_back": sum(h["held_back_records"] for h in own_holdbacks),
        })
    return entries, sum(1 for f in findings if f["pledge_id"] is None)


def collect_periods(indicators: list[dict]) -> dict[str, list[dict]]:
    """Indicator rows grouped by sub-project (and indicator), each with its card period label."""
    groups: dict[str, list[dict]] = {}
    for row in indicators:
        key = f"{row['subproject_id']}/{row['indicator_id']}"
        groups.setdefault(key, []).append(row | {"period_label": format_period(row["period"])})
    return groups


def collect_budget(connection: duckdb.DuckDBPyConnection, pledge_id: str, chart_id: str, renderer: ChartRenderer) -> dict:
    """The budget table as the card prints it (rows x periods), its sum checks and its chart."""
    rows = run_query(connection, "budget", pledge=pledge_id)
    periods = list(dict.fromkeys(r["period"] for r in rows if r["period"] != "total"))
    table: dict[tuple, dict] = {}
    for r in rows:
        line = table.setdefault((r["subproject_id"], r["funding_source"]), {
            "subproject": "계" if r["subproject_id"] == "total" else r["subproject_name_ko"],
            "source": "-" if r["subproject_id"] != "total" and r["funding_source"] == "total" else r["funding_source_ko"],
            "cells": {}})
        line["cells"][r["period"]] = r["amount_text"]
    checks = run_query(connection, "budget_checks", pledge=pledge_id)
    sources = [r | {"period_label": format_period(r["period"]), "source_order": SOURCE_ORDER[r["funding_source"]]}
               for r in rows if r["subproject_id"] == "total" and r["funding_source"] in SOURCE_ORDER
               and r["period"] != "total"]
    sources.sort(key=lambda r: (periods.index(r["period"]), r["source_order"]))
    chart = draw_budget(renderer, sources, chart_id, "재원별·기간별 소요예산 Budget by funding source and period") if sources else ""
    return {"periods": periods, "period_labels": [format_period(p) for p in periods], "lines": list(table.values()),
            "checks": checks, "failed_checks": [c for c in checks if not c["adds_up"]], "chart": chart}


def collect_pledge(connection: duckdb.DuckDBPyConnection, overview: dict, printed: dict[str, dict],
                   renderer: ChartRenderer) -> dict:
    """Everything one pledge page shows; `overview` is its entry of `collect_overview` (with its findings and
    holdbacks), `printed` the card's printed totals by "sub-project/indicator" (`collect_printed`)."""
    pid = overview["pledge_id"]
    slug = page_slug(pid)
    groups = collect_periods(run_query(connection, "indicators", pledge=pid))
    subprojects = []
    for entry in overview["subprojects"]:
        rows = groups.get(f"{entry['subproject_id']}/{entry['indicator_id']}", [])
        key = f"{slug}-{entry['subproject_id']}-{entry['indicator_id']}"
        chart = draw_target_actual(renderer, rows, f"chart-{key}", f"{entry['subproject_name_ko']}: 목표 대비 실적 (target vs actual)",
                                   entry["unit"] or "", overview["as_of_date"])
        subprojects.append(entry | {"rows": rows, "chart": chart,
                                    "printed": printed.get(f"{entry['subproject_id']}/{entry['indicator_id']}")})
    return overview | {
        "slug": slug,
        "attributes": group_attributes(run_query(connection, "attributes", pledge=pid)),
        "subproject_pages": subprojects,
        "budget_view": collect_budget(connection, pid, f"chart-{slug}-budget", renderer),
        "activities": run_query(connection, "activities", pledge=pid),
    }


def collect_printed(connection: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """The cards' printed totals by "sub-project/indicator", read once for every page."""
    return {f"{r['subproject_id']}/{r['indicator_id']}": r for r in run_query(connection, "printed_totals")}


def group_attributes(rows: list[dict]) -> list[dict]:
    """Attribute -> its options in card order, with a flag when a single-choice attribute has ≠ 1 ticked."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["attribute_ko"], []).append(row)
    return [{"attribute": name, "options": options, "ticked": sum(1 for o in options if o["selected"]),
             "flag": sum(1 for o in options if o["selected"]) != 1} for name, options in grouped.items()]


def page_slug(pledge_id: str) -> str:
    """A file-name-safe form of a pledge id: "ydp-2018-15" stays, anything else becomes "_"."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in pledge_id)
