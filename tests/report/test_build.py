"""build_report on a tiny curated version: pages, determinism, accessibility, nothing that reaches a network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from pledgeflow.report import VersionError, build_report
from tests.conftest import REPO
from tests.report.conftest import RULE

URL = re.compile(r"""(?:https?:|ftp:)?//[^\s"'<>)]+|(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture
def pages(tiny_version, tmp_path):
    return build_report(tiny_version, tmp_path / "out", status_rule=RULE)


def texts(pages) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in [pages.index, *pages.pledges.values()]}


def test_an_overview_and_a_page_per_pledge(pages):
    assert pages.index.name == "index.html"
    assert sorted(p.name for p in pages.pledges.values()) == ["pledge-p-1.html", "pledge-p-2.html"]
    index = pages.index.read_text(encoding="utf-8")
    assert 'href="pledge-p-1.html"' in index and "58.3%" in index and "35 / 60" in index
    assert "● 정상추진" in index and "◐ 일부추진" in index  # status as symbol and text, never colour alone
    assert "카드 이행단계 불일치" in index  # p-1's card ticks 완료(지속) while 2020's target is open


def test_the_pledge_page_regenerates_the_card(pages):
    page = pages.pledges["p-1"].read_text(encoding="utf-8")
    assert "35 ÷ 60 = <strong>58.3%</strong>" in page and "카드 인쇄 <span lang=\"en\">printed</span> 58%" in page
    assert "목표가 남은 기간 2020" in page  # the card's 완료(지속) disagrees with the records
    assert "2018년" in page and "2019년" in page  # periods as the card prints them
    assert "3건 불일치" in page  # budget totals that do not add up (printed 30 vs 35 summed, …)
    assert "220" in page and "185" in page  # the finding with both numbers
    assert "교육인원" in page and "required" in page  # activities and what quarantine holds back
    assert 'href="../versions/v000007/review/review_pack.html"' in page


def test_pages_hold_no_url_and_forbid_the_network(pages):
    for name, html in texts(pages).items():
        assert not URL.findall(html), f"{name} holds a URL"
        assert "Content-Security-Policy" in html and "default-src 'none'" in html
        assert "<link" not in html and "@import" not in html and "url(" not in html


def test_tables_and_charts_are_accessible(pages):
    for name, html in texts(pages).items():
        assert html.count("<table") == html.count("<caption>"), name
        assert 'scope="col"' in html
        svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
        for svg in svgs:
            assert re.search(r"<title id=[^>]+>[^<]+</title><desc id=[^>]+>[^<]+</desc>", svg), name
            assert 'role="img"' in svg
    assert len(re.findall(r"<svg\b", texts(pages)["pledge-p-1.html"])) == 2  # target vs actual, budget


def test_fonts_render_hangul_and_the_page_prints_on_a4(pages):
    html = pages.pledges["p-1"].read_text(encoding="utf-8")
    assert "'Noto Sans CJK KR', '맑은 고딕', 'Malgun Gothic'" in html and "size: A4" in html


def test_the_same_version_gives_byte_identical_pages(tiny_version, tmp_path):
    first = build_report(tiny_version, tmp_path / "one", status_rule=RULE)
    second = build_report(tiny_version, tmp_path / "two", status_rule=RULE)
    for a, b in zip([first.index, *first.pledges.values()], [second.index, *second.pledges.values()], strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_one_pledge_only(tiny_version, tmp_path):
    pages = build_report(tiny_version, tmp_path / "out", pledge="p-2", status_rule=RULE)
    assert list(pages.pledges) == ["p-2"] and pages.index.is_file()
    with pytest.raises(VersionError, match="p-9"):
        build_report(tiny_version, tmp_path / "out", pledge="p-9", status_rule=RULE)


def test_the_report_imports_neither_prefect_nor_great_expectations_nor_the_pipeline():
    code = ("import sys, pledgeflow.report, pledgeflow.report.pdf; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('prefect', 'great_expectations') or m in "
            "('pledgeflow.reported', 'pledgeflow.aggregate', 'pledgeflow.pipeline', 'pledgeflow.reconcile')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    for path in (REPO / "src" / "pledgeflow" / "report").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(prefect|great_expectations)", source, re.M), path.name
        assert len(source.splitlines()) < 300, f"{path.name} is past 300 lines"


@pytest.mark.slow
def test_the_wheel_ships_the_queries_templates_and_css(tmp_path):
    uv = [shutil.which("uv")] if shutil.which("uv") else ["python3", "-m", "uv"]
    subprocess.run([*uv, "build", "--wheel", "--out-dir", str(tmp_path), "--quiet"], check=True, cwd=REPO)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert "pledgeflow/report/queries/findings.sql" in names
    assert {"pledgeflow/report/templates/pledge.html.j2", "pledgeflow/report/templates/report.css"} <= set(names)
