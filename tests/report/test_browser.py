"""The pledge report in a real browser, offline: headless Chromium opens the pages from disk with DNS
mapped to nothing, and the DOM it renders holds the figures a person reads. Screenshots and the PDF
land in tests/artifacts/report/ (git-ignored) for a person to look at.

Chromium is required, never skipped: CI installs it (`.ci/run`); locally `apt-get install -y chromium
fonts-noto-cjk`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pledgeflow.report import build_report
from pledgeflow.report.pdf import BrowserMissing, find_chromium, print_pdf, run_chromium
from tests.report.conftest import RULE

pytestmark = pytest.mark.slow
A4 = (595, 842)  # points; Chromium writes 594.96 x 841.92


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium()
    except BrowserMissing as missing:
        pytest.fail(f"{missing} — the browser tests need it; they are never skipped")


@pytest.fixture(scope="module")
def report15(pledge15_version, tmp_path_factory):
    return build_report(pledge15_version, pledge15_version / "report", pdf=False, status_rule=RULE)


def dump_dom(page: Path) -> str:
    result = run_chromium(["--dump-dom", page.resolve().as_uri()])
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-800:]
    return result.stdout


def screenshot(page: Path, target: Path, height: int) -> Path:
    run_chromium(["--hide-scrollbars", f"--window-size=1000,{height}", f"--screenshot={target}", page.resolve().as_uri()])
    assert target.is_file() and target.stat().st_size > 10_000, f"no screenshot of {page.name}"
    return target


def visible_text(dom: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).replace("&amp;", "&")


def test_the_pages_show_what_a_person_reads(chromium, report15, artifacts_dir):
    index = visible_text(dump_dom(report15.index))
    assert "83.0%" in index and "87.0%" in index
    assert "112 / 135" in index and "100 / 115" in index
    assert "정상추진" in index and "카드 이행단계 불일치" in index
    card = visible_text(dump_dom(report15.pledges["ydp-2018-15"]))
    assert "112 ÷ 135 = 83.0%" in card and "100 ÷ 115 = 87.0%" in card
    assert re.search(r"일반경비 신입과정/trained .*? 220 185 185", card), "the 185 printed vs 220 summed finding"
    assert "1,9235" in card and "2개 선택" in card  # the malformed figure and two 이행단계 ticked
    assert "1,572" in card and "18건 중 18건 일치" in card  # the budget and its sums, all adding up
    for page, height in ((report15.index, 1400), (report15.pledges["ydp-2018-15"], 6200)):
        screenshot(page, artifacts_dir / f"{page.stem}.png", height)


def test_nothing_leaves_the_file(report15):
    for page in [report15.index, *report15.pledges.values()]:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:[a-z]+:)?//""", html, re.I), page.name
        assert not re.search(r"https?://", html), page.name
        assert "default-src 'none'" in html
        # the only links are to sibling pages and the version's review pack
        links = set(re.findall(r'href="([^"]+)"', html))
        assert links <= {"index.html", "pledge-ydp-2018-15.html", "../review/review_pack.html"}, links
    assert (report15.index.parent / "../review/review_pack.html").resolve().is_file()


def test_a_pledge_page_prints_on_a4(chromium, report15, artifacts_dir):
    pdf = print_pdf(report15.pledges["ydp-2018-15"], artifacts_dir / "pledge-ydp-2018-15.pdf")
    pages, boxes = count_pdf_pages(pdf)
    assert 2 <= pages <= 10, f"{pages} pages"
    assert all(round(w) == A4[0] and round(h) == A4[1] for w, h in boxes), boxes


def count_pdf_pages(pdf: Path) -> tuple[int, list[tuple[float, float]]]:
    """(pages, each page's MediaBox width and height in points)."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    return len(reader.pages), [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def test_the_browser_is_really_there():
    assert shutil.which("chromium") or shutil.which("chromium-browser"), "install chromium: apt-get install -y chromium"
