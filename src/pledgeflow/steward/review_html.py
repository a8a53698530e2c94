"""The review pack's offline HTML page: summary tables, then per dataset a filterable table of failing records
(the first `HTML_RECORD_LIMIT` of them, new failures first; the workbook holds every record up to Excel's row limit).

District networks have no internet access, so the page is self-contained: inline CSS and JS and a
Content-Security-Policy that forbids any network request. Every value is HTML-escaped (a vectorised
`escape_html`) and shown as delivered (HTML is not executed: no formula guard); the tables arrive masked from
`pledgeflow.steward.review_pack`. Each record row carries its rules and states for the search, rule and state
filters; what the steward acts on comes first and the hash-like keys (`KEY_COLUMNS`) fold into one `<details>` cell.

`pledgeflow.steward.review_pack` imports this module, so what both writers share lives here: `Table`, the state
labels `STATES` and the `LIST_SEPARATOR` of the rules/states/fingerprints lists.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import polars as pl

STATES = {"new": "신규", "persisting": "지속", "waived": "예외 인정", "corrected": "정정", "resolved": "해소", "excluded": "제외"}
LIST_SEPARATOR = "; "  # PAGE_JS splits the lists on this same separator
KEY_COLUMNS = ("record_id", "record_key", "fingerprints")  # for decisions and look-ups, not for reading: folded away
# 150,000 failing records made a 116 MB page that browsers struggle to open, let alone filter; 10,000 keep it
# under 10 MB. The page shows the first records of each dataset; the workbook and validation_failures hold them all.
HTML_RECORD_LIMIT = 10_000
HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


@dataclass(frozen=True)
class Table:
    """One exported table: an export-ready frame and a (Korean, English) header per column."""

    title_ko: str
    title_en: str
    frame: pl.DataFrame
    headers: tuple[tuple[str, str], ...]


def escape_html(expr: pl.Expr) -> pl.Expr:
    """html.escape as a polars expression: one pass replacing all five at once, so nothing is escaped twice."""
    return expr.str.replace_many(HTML_ESCAPES)


def html_rows(frame: pl.DataFrame, with_filters: bool) -> pl.Expr:
    """<tr> per row, every value escaped; record rows carry their rules and states for the filters, and
    their keys in one closed <details> cell at the end."""
    numeric = {c for c, dtype in frame.schema.items() if dtype.is_numeric()}
    keys = [c for c in KEY_COLUMNS if c in frame.columns] if with_filters else []
    cells = [pl.format('<td class="n">{}</td>' if c in numeric else "<td>{}</td>",
                       escape_html(pl.col(c).cast(pl.String).fill_null(""))) for c in frame.columns if c not in keys]
    if keys:
        listed = [pl.format(f"{c}: {{}}", escape_html(pl.col(c).cast(pl.String).fill_null("-"))) for c in keys]
        cells.append(pl.format("<td><details><summary>키 keys</summary>{}</details></td>", pl.concat_str(listed, separator="\n")))
    opener = (pl.format('<tr data-rules="{}" data-states="{}">', escape_html(pl.col("rules").fill_null("")),
                        escape_html(pl.col("states").fill_null(""))) if with_filters else pl.lit("<tr>"))
    return pl.concat_str([opener, *cells, pl.lit("</tr>")])


def write_table(out: BinaryIO, table: Table, with_filters: bool = False) -> None:
    """The table's HTML, its rows one per line straight from polars (a 150,000-row table is ~100 MB of HTML:
    it never becomes one Python string)."""
    keys = {c for c in KEY_COLUMNS if c in table.frame.columns} if with_filters else set()
    shown = [head for c, head in zip(table.frame.columns, table.headers) if c not in keys]
    heads = "".join(f"<th>{html.escape(ko)}<br><small>{html.escape(en)}</small></th>" for ko, en in shown)
    heads += "<th>키<br><small>keys</small></th>" if keys else ""
    out.write(f'<div class="wrap"><table><thead><tr>{heads}</tr></thead><tbody>\n'.encode())
    if table.frame.height:
        table.frame.select(html_rows(table.frame, with_filters)).write_csv(out, include_header=False, quote_style="never")
    else:
        out.write(b"\n")
    out.write(b"</tbody></table></div>")


def html_options(frame: pl.DataFrame, column: str, labels: dict[str, str] | None = None) -> str:
    """<option>s for the distinct entries of a '; '-joined list column, shown as 'Korean (value)' when known."""
    if not frame.height:
        return ""
    values = frame.select(pl.col(column).str.split(LIST_SEPARATOR).explode().drop_nulls().unique().sort())
    korean = pl.col(column).replace_strict(labels or {}, default=None, return_dtype=pl.String)
    shown = pl.when(korean.is_null()).then(pl.col(column)).otherwise(pl.format("{} ({})", korean, pl.col(column)))
    options = pl.format('<option value="{}">{}</option>', escape_html(pl.col(column)), escape_html(shown))
    return values.select(options.str.join("")).item() or ""


def write_dataset(out: BinaryIO, table: Table, limit: int = HTML_RECORD_LIMIT) -> None:
    """A dataset's failing records with search, rule and state filters: the first `limit` of them, those with a
    new failure first (then in file order), and a note saying where the rest are."""
    is_old = ~pl.col("states").fill_null("").str.split(LIST_SEPARATOR).list.contains("new")
    shown = replace(table, frame=table.frame.sort(is_old, maintain_order=True).head(limit))
    total = table.frame.height
    out.write((
        f'<section class="dataset"><h2>{html.escape(table.title_ko)} ({html.escape(table.title_en)})</h2>'
        + (f'<p class="cut">이 페이지에는 {total:,}건 중 처음 {limit:,}건만 있습니다. 전체 목록은 review_pack.xlsx와 '
           f"validation_failures 표에 있습니다 (this page holds the first {limit:,} of {total:,} records; "
           "all of them are in review_pack.xlsx, up to Excel's row limit, and in the validation_failures table)."
           "</p>" if total > limit else "")
        + '<div class="filters"><label>검색 (Search) <input type="search" class="f-text"></label> '
        f'<label>규칙 (Rule) <select class="f-rule"><option value="">전체 (All)</option>{html_options(shown.frame, "rules")}</select></label> '
        f'<label>상태 (State) <select class="f-state"><option value="">전체 (All)</option>{html_options(shown.frame, "states", STATES)}</select></label> '
        f'<span>표시 (Shown): <b class="f-count">{shown.frame.height}</b> / {shown.frame.height}</span></div>'
    ).encode())
    write_table(out, shown, with_filters=True)
    out.write(b"</section>")


PAGE_CSS = """body{font-family:"Malgun Gothic","Apple SD Gothic Neo",sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top;white-space:pre-line}
th{background:#dde7f0;position:sticky;top:0}th small{color:#555;font-weight:normal}td.n{text-align:right}
.wrap{overflow:auto;max-height:80vh;margin-bottom:1.5em}.blocked{color:#b00020;font-weight:bold}summary{cursor:pointer}.cut{color:#8a4b00}.filters{margin:.5em 0}.filters label{margin-right:1em}"""
PAGE_JS = """document.querySelectorAll("section.dataset").forEach(function(sec){
var q=sec.querySelector(".f-text"),r=sec.querySelector(".f-rule"),s=sec.querySelector(".f-state"),n=sec.querySelector(".f-count");
function has(list,v){return !v||list.split("; ").indexOf(v)>=0;}
function apply(){var t=q.value.trim().toLowerCase(),shown=0;
sec.querySelectorAll("tbody tr").forEach(function(tr){
var ok=(!t||tr.textContent.toLowerCase().indexOf(t)>=0)&&has(tr.dataset.rules,r.value)&&has(tr.dataset.states,s.value);
tr.hidden=!ok;if(ok){shown++;}});n.textContent=shown;}
[q,r,s].forEach(function(el){el.addEventListener("input",apply);el.addEventListener("change",apply);});});"""
# the CSP forbids every fetch, image, font or script from anywhere: the page must work offline
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def write_html(path: Path, summary: list[Table], per_dataset: list[Table], run_id: str, limit: int = HTML_RECORD_LIMIT,
               blocked_reason: str | None = None) -> None:
    from pledgeflow.steward.howto import INTRO_EN, INTRO_KO

    blocked = (f'<p class="blocked">이 실행은 자료 문제로 차단되어 아무것도 게시되지 않았습니다: {html.escape(blocked_reason)}. '
               "아래 실패를 처리한 뒤 다시 실행하세요.<br>This run was blocked by its data and published nothing: "
               f"{html.escape(blocked_reason)}.</p>" if blocked_reason else "")
    with path.open("wb") as out:
        out.write((
            '<!DOCTYPE html>\n<html lang="ko"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}">'
            f"<title>검증 실패 검토 자료 (Validation review pack) {html.escape(run_id)}</title><style>{PAGE_CSS}</style></head><body>"
            f"<h1>검증 실패 검토 자료 (Validation review pack)</h1><p>실행 (Run): {html.escape(run_id)}</p>"
            f"{blocked}<p>{html.escape(INTRO_KO)}<br><small>{html.escape(INTRO_EN)}</small></p>"
            "<h2>요약 (Summary)</h2>"
        ).encode())
        for table in summary:
            out.write(f"<h3>{html.escape(table.title_ko)} ({html.escape(table.title_en)})</h3>".encode())
            write_table(out, table)
        for table in per_dataset:
            write_dataset(out, table, limit)
        out.write(f"<script>{PAGE_JS}</script></body></html>\n".encode())
