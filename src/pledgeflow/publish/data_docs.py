"""Offline Data Docs for an audited version: GX's pages rewritten for reading without a network, and our index.

GX pages load Bootstrap, jQuery and fonts from CDNs and its index page draws its table with that
JavaScript, and district networks have no internet access: `make_docs_offline` removes every external
reference, drops the inline scripts and the unused copied assets and injects a small inline stylesheet;
`write_docs_index` replaces GX's index with a static page listing every outcome, each expectation written
as one line (`describe_kwargs`: `expect_x(column, 0, 1000)`).

Pure text and file work: no Great Expectations import. Outcomes come from `pledgeflow.publish.audit`, which
imports this module; they are typed structurally here (`AuditRow`) so that no import runs back.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Protocol


class AuditRow(Protocol):
    """What the index shows of one `pledgeflow.publish.audit.Outcome`."""

    @property
    def table(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def success(self) -> bool: ...
    @property
    def observed(self) -> object: ...
    @property
    def error(self) -> str | None: ...
    @property
    def expectation(self) -> str: ...


# Anything that would make a browser reach a host: external stylesheets and scripts (dropped), then any
# remaining URL with a scheme or a protocol-relative //host (links, images, CSS url(), form actions).
_EXTERNAL_TAG = re.compile(r"<link\b[^>]*?(?:https?:)?//[^>]*>|<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", re.I)
_ANY_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s\"'<>)]*|https?://[^\s\"'<>)]*", re.I)
_OFFLINE_CSS = """<style>/* pledgeflow: offline stylesheet (GX's CDN assets are stripped) */
body{font-family:"Malgun Gothic","Apple SD Gothic Neo","Noto Sans KR",sans-serif;margin:1.5em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#f0f0f0}.text-danger,.fail{color:#b00020}.text-success,.pass{color:#1b7f3b}.warn{color:#9a6700}
.fas,.far{font-style:normal}.fa-check-circle::before{content:"\\2714"}.fa-times::before{content:"\\2718"}
.fa-question-circle::before{content:"?"}.collapse:not(.show),.cooltip .top,.invisible,#ge-cta-footer{display:none}
nav,.navbar{margin-bottom:1em}img{max-height:2em}code{background:#f6f6f6;padding:0 .2em}
</style>"""


def make_docs_offline(docs_dir: Path) -> None:
    """Rewrite every page under `docs_dir` so that nothing is fetched from a network; drop unused assets."""
    pages = sorted(docs_dir.rglob("*.html"))
    for path in pages:
        path.write_text(offline_text(path.read_text(encoding="utf-8"), is_page=True), encoding="utf-8")
    # GX copies ~4 MB of fonts, GIFs and stylesheets into every site; the pages use only the favicon.
    used = {m for p in pages for m in re.findall(r"static/[\w./-]+", p.read_text(encoding="utf-8"))}
    for path in sorted((docs_dir / "static").rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(docs_dir).as_posix() not in used:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def offline_text(text: str, is_page: bool) -> str:
    """Drop external tags and (inert without jQuery) scripts, neutralise URLs, inline a stylesheet."""
    if is_page:
        text = _INLINE_SCRIPT.sub("", _EXTERNAL_TAG.sub("", text))
    text = _ANY_URL.sub("#", _CSS_URL.sub("none", text))
    if is_page:
        text = text.replace("</head>", _OFFLINE_CSS + "\n</head>", 1)
    return text


def write_docs_index(docs_dir: Path, outcomes: list[AuditRow]) -> Path:
    """A static index.html (GX's draws its table with CDN JavaScript): every outcome, links to GX pages."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    pages = sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*.html") if p.name != "index.html")
    rows = "".join(index_row(o) for o in sorted(outcomes, key=lambda o: (o.success, o.severity != "critical", o.table)))
    links = "".join(f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in pages)
    failed = sum(1 for o in outcomes if not o.success and o.severity == "critical")
    verdict = ("<p class=\"fail\">게시 차단: 필수(critical) 기대값 {} 건 실패 / Publish blocked: {} critical expectation(s) failed</p>".format(failed, failed)
               if failed else "<p class=\"pass\">필수 기대값 모두 통과 / All critical expectations passed</p>")
    page = (f"<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>품질 감사 / Data quality audit</title>"
            f"{_OFFLINE_CSS}</head><body><h1>품질 감사 결과 / Data quality audit</h1>{verdict}"
            "<table><tr><th>표 / table</th><th>등급 / severity</th><th>결과 / result</th><th>기대값 / expectation</th>"
            f"<th>관측값 / observed</th></tr>{rows}</table><h2>Great Expectations 상세 페이지 / detail pages</h2><ul>{links}</ul></body></html>\n")
    index = docs_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def index_row(outcome: AuditRow) -> str:
    css, label = ("pass", "통과 / passed") if outcome.success else (
        ("fail", "실패 / failed") if outcome.severity == "critical" else ("warn", "경고 / warning"))
    observed = outcome.error or json.dumps(outcome.observed, ensure_ascii=False, default=str)
    cells = [html.escape(outcome.table), html.escape(outcome.severity), f'<span class="{css}">{label}</span>',
             f"<code>{html.escape(outcome.expectation)}</code>", html.escape(observed)]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def describe_kwargs(kwargs: dict) -> str:
    """column / column list and bounds positionally, anything else as key=value."""
    parts = [kwargs["column"]] if "column" in kwargs else []
    parts += [", ".join(kwargs["column_list"])] if "column_list" in kwargs else []
    parts += [f"{kwargs[k]:g}" if isinstance(kwargs[k], float) else kwargs[k] for k in ("min_value", "max_value") if k in kwargs]
    parts += [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in kwargs.items()
              if k not in ("column", "column_list", "min_value", "max_value", "row_condition")]
    parts += [describe_condition(kwargs["row_condition"])] if "row_condition" in kwargs else []
    return ", ".join(str(p) for p in parts)


def describe_condition(condition) -> str:
    """A GX comparison Condition as `where outcome != "invalid"`; any other form as its JSON."""
    if isinstance(condition, dict) and condition.get("type") == "comparison":
        value = json.dumps(condition.get("parameter"), ensure_ascii=False)
        return f"where {condition['column']['name']} {condition['operator']} {value}"
    return f"row_condition={json.dumps(condition, ensure_ascii=False)}"
