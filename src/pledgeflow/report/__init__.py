"""The pledge report: each pledge card regenerated from the records, as static offline HTML.

`build_report(version_dir, out_dir)` reads one published curated version (its DuckDB file, or its
parquet files) through the SQL in `queries/`, and writes `index.html` (the district overview) and one
page per pledge (`pledge-<id>.html`), optionally PDFs. Pages hold no JavaScript they need, no URL and
no wall-clock: the same version gives byte-identical pages. Nothing here imports the pipeline,
Prefect or Great Expectations; it reads what dashboards read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pledgeflow.report.charts import ChartRenderer
from pledgeflow.report.data import VersionError, open_version, read_version_info
from pledgeflow.report.formats import format_date
from pledgeflow.report.pages import collect_overview, collect_pledge, collect_printed, page_slug
from pledgeflow.report.render import render_page
from pledgeflow.report.status import find_rule_file, load_status_rule

__all__ = ["ReportPages", "VersionError", "build_report"]


@dataclass(frozen=True)
class ReportPages:
    """What `build_report` wrote: the overview, one page per pledge id, and PDFs when asked for."""

    index: Path
    pledges: dict[str, Path] = field(default_factory=dict)
    pdfs: dict[str, Path] = field(default_factory=dict)


def build_report(version_dir: Path, out_dir: Path, pledge: str | None = None, pdf: bool = False,
                 status_rule: Path | None = None, chart_cache: Path | None = None,
                 chart_workers: int | None = None) -> ReportPages:
    """Write the report of the curated version at `version_dir` into `out_dir`.

    `pledge` limits the pledge pages to that pledge id (the overview always lists every pledge);
    `pdf` also prints each pledge page to PDF with headless Chromium. `status_rule` defaults to
    `schemas/report/status_rule.yaml` of the project that holds `version_dir`. `chart_cache` keeps the
    rendered charts between builds (a full build drops the ones it no longer shows); `chart_workers` caps the
    processes that draw them (default: up to 4, one per core).
    """
    version_dir, out_dir = Path(version_dir), Path(out_dir)
    rule_path = status_rule or find_rule_file(version_dir)
    if rule_path is None:
        raise FileNotFoundError("schemas/report/status_rule.yaml not found above the version folder: pass status_rule=")
    rule = load_status_rule(Path(rule_path))
    connection = open_version(version_dir)
    try:
        info = read_version_info(version_dir, connection)
        overview, unassigned = collect_overview(connection, rule)
        if pledge is not None and pledge not in {p["pledge_id"] for p in overview}:
            raise VersionError(f"pledge {pledge!r} is not in version {info.version}")
        chosen = [p for p in overview if pledge in (None, p["pledge_id"])]
        renderer = ChartRenderer(chart_cache, workers=chart_workers)
        printed = collect_printed(connection)
        details = [collect_pledge(connection, entry, printed, renderer) for entry in chosen]
    finally:
        connection.close()
    renderer.draw_pending()  # every new chart at once, before any page is written
    out_dir.mkdir(parents=True, exist_ok=True)
    common = describe_version(info, overview, out_dir, rule)
    for entry in overview:
        entry["href"] = f"pledge-{page_slug(entry['pledge_id'])}.html"
    index = write_page(out_dir / "index.html", render_page("index.html.j2", pledges=overview, unassigned=unassigned, **common))
    pages = {d["pledge_id"]: write_page(out_dir / f"pledge-{d['slug']}.html",
                                        render_page("pledge.html.j2", p=d, **common | {"as_of": format_date(d["as_of_date"])}))
             for d in details}
    if pledge is None:
        renderer.prune()
    pdfs = {}
    if pdf:
        from pledgeflow.report.pdf import print_pdf

        pdfs = {pid: print_pdf(path, path.with_suffix(".pdf")) for pid, path in pages.items()}
    return ReportPages(index=index, pledges=pages, pdfs=pdfs)


def describe_version(info, overview: list[dict], out_dir: Path, rule) -> dict:
    """Context every page shares: version, run, as-of, district, rule and the review pack's relative link."""
    as_of_dates = [p["as_of_date"] for p in overview if p["as_of_date"] is not None]
    districts = sorted({p["district_ko"] for p in overview})
    run = info.run or {}
    review_href = (Path(os.path.relpath(info.review_pack.resolve(), out_dir.resolve())).as_posix()
                   if info.review_pack else None)
    return {
        "info": info, "rule": rule, "review_href": review_href,
        "as_of": format_date(max(as_of_dates)) if as_of_dates else "-",
        "district": ", ".join(districts) or "-",
        # the run's wall-clock times stay out of the page: the same tables give the same bytes on any day
        "run_status": run.get("status", "-"),
    }


def write_page(path: Path, html: str) -> Path:
    """Write `html` as UTF-8 with Unix newlines (the same bytes on every platform)."""
    path.write_bytes(html.encode("utf-8"))
    return path
