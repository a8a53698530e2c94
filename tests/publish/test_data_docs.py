"""Offline Data Docs: GX's pages rewritten so that nothing reaches a network, unused assets dropped,
and our static index of every outcome (no Great Expectations needed)."""

from __future__ import annotations

import subprocess
import sys

from pledgeflow.publish import data_docs as audit_docs
from pledgeflow.publish.audit import Outcome
from tests.conftest import REPO, has_external_reference


def test_importing_the_module_does_not_import_great_expectations():
    code = "import sys, pledgeflow.publish.data_docs; sys.exit('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_offline_rewrite_removes_every_external_reference():
    page = ('<html><head><link rel="stylesheet" href="https://cdn.example/b.css"/><script src="//cdn.example/j.js"></script>'
            "<style>.x{background:url('https://s3.example/logo.png')}</style></head><body>"
            '<img src="https://s3.example/l.png"><a href="https://greatexpectations.io">GX</a>'
            "<script>$('#t').bootstrapTable({})</script><p>값</p></body></html>")
    cleaned = audit_docs.offline_text(page, is_page=True)
    assert not has_external_reference(cleaned)
    assert "<script" not in cleaned and "<p>값</p>" in cleaned and "<style>/* pledgeflow" in cleaned


def test_docs_are_rewritten_in_place_and_unused_assets_dropped(tmp_path):
    page = tmp_path / "validations" / "t.html"
    page.parent.mkdir()
    page.write_text('<html><head><link href="static/images/favicon.ico" rel="icon">'
                    '<script src="https://cdn.example/j.js"></script></head><body></body></html>', encoding="utf-8")
    for asset in ("static/images/favicon.ico", "static/images/logo.gif", "static/fonts/a.woff"):
        (tmp_path / asset).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / asset).write_bytes(b"x")
    audit_docs.make_docs_offline(tmp_path)
    assert not has_external_reference(page.read_text(encoding="utf-8"))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "static").rglob("*")) == [
        "static/images", "static/images/favicon.ico"]


def test_index_lists_failures_first_escaped_with_the_verdict(tmp_path):
    (tmp_path / "validations").mkdir()
    (tmp_path / "validations" / "t.html").write_text("<html></html>", encoding="utf-8")
    outcomes = [Outcome("budget", "expect_column_values_to_not_be_null", {"column": "period"}, "critical", True),
                Outcome("indicators", "expect_column_values_to_be_between", {"column": "a<b", "min_value": 0},
                        "critical", False, unexpected_count=2, error="boom & bust")]
    text = audit_docs.write_docs_index(tmp_path, outcomes).read_text(encoding="utf-8")
    assert "Publish blocked: 1 critical expectation(s) failed" in text
    assert text.index("실패 / failed") < text.index("통과 / passed")
    assert "<code>expect_column_values_to_be_between(a&lt;b, 0)</code>" in text and "boom &amp; bust" in text
    assert '<a href="validations/t.html">' in text and not has_external_reference(text)
