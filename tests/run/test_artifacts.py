"""Artifact contents: disagreements first, cells that cannot break a markdown table."""

from __future__ import annotations

import polars as pl

from pledgeflow.contracts import conform
from tests.conftest import CURATED
from pledgeflow.run.artifacts import (failures_by_rule, reconciliation_markdown, review_markdown,
                                      summary_markdown, version_links)


def test_reconciliation_lists_disagreements_first_and_counts_the_matches():
    rows = conform(pl.DataFrame({
        "check_id": ["a", "b", "c", "d"], "kind": ["report_arithmetic"] * 4, "subject": ["x|y", "s", "t", "u"],
        "status": ["match", "not_reported", "mismatch", "malformed"], "observed_text": [None, None, "185", "1,9235"],
        "message_ko": ["일치", "없음", "불일치", "형식"], "message_en": ["ok", "none", "off", "format"],
    }), CURATED["reconciliation"])
    text = reconciliation_markdown(rows)
    lines = [line for line in text.splitlines() if line.startswith("| ") and "status" not in line]
    assert [line.split(" | ")[0] for line in lines] == ["| mismatch", "| malformed", "| not_reported"]
    assert "3 of 4 checks do not match" in text and "1 checks match." in text
    assert "| 1,9235 |" in text


def test_summary_cells_escape_pipes_and_newlines():
    text = summary_markdown({"run_id": "run-000001", "status": "completed", "warnings": "a | b\nc"})
    assert "a \\| b c" in text and text.startswith("# pledgeflow run-000001: completed")


def test_failures_are_counted_by_dataset_rule_and_state():
    failures = pl.DataFrame({"dataset": ["placements"] * 3, "rule": ["parse_date", "parse_date", "required"],
                             "severity": ["error"] * 3, "state": ["new", "new", "persisting"],
                             "record_id": ["r1", "r1", "r2"]})
    rows = failures_by_rule(failures)
    assert rows[0] == {"dataset": "placements", "rule": "parse_date", "severity": "error", "state": "new",
                       "failures": 2, "records": 1}


def test_links_only_where_a_browser_can_reach_curated():
    summary = {"version": "v000007"}
    assert version_links(summary, None) == []  # no file:// path on the server's disk
    links = version_links(summary, "https://intra.example/pledgeflow/curated/")
    assert ("pledgeflow-review-pack", "Review pack (검토 자료)",
            "https://intra.example/pledgeflow/curated/versions/v000007/review/review_pack.html") in links
    assert all(url.startswith("https://intra.example/pledgeflow/curated/versions/v000007/") for _, _, url in links)


def test_the_curated_url_is_a_setting(monkeypatch, tmp_path):
    from pledgeflow.settings import Settings

    monkeypatch.delenv("PLEDGEFLOW_CURATED_URL", raising=False)
    assert Settings.from_root(tmp_path).curated_url is None
    monkeypatch.setenv("PLEDGEFLOW_CURATED_URL", "https://intra.example/curated/")
    assert Settings.from_root(tmp_path).curated_url == "https://intra.example/curated"


def test_review_summary_counts_records_per_dataset_and_state():
    failures = pl.DataFrame({"dataset": ["placements", "placements", "placements", "job_fairs"],
                             "record_id": ["r1", "r1", "r2", "f1"], "state": ["new", "new", "persisting", "new"]})
    text = review_markdown({"version": "v000002"}, failures)
    assert text.startswith("# Review pack: 3 records to review, 2 new")
    assert "| job_fairs | 1 | 0 |" in text and "| placements | 1 | 1 |" in text
    assert "No record failed" in review_markdown({"version": "v1"}, failures.clear())


class Lines:
    """A logger that keeps (level, sentence) pairs."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level):
        return lambda message, *args: self.lines.append((level, message % args))


def test_a_run_with_warnings_has_its_own_state_name_and_says_why():
    from pledgeflow.run.flow import finished_state

    summary = {"version": "v000003", "status": "completed_with_warnings", "warnings": "19 rows quarantined; 2 reconciliation rows not matching",
               "run_id": "run-000003"}
    logger = Lines()
    state = finished_state(summary, logger)
    assert state.is_completed() and state.name == "CompletedWithWarnings" and state.result() == summary
    assert state.message == "Published v000003 with warnings: 19 rows quarantined; 2 reconciliation rows not matching."
    assert logger.lines == [("warning", state.message)]
    clean = finished_state({**summary, "status": "completed", "warnings": ""}, logger)
    assert clean.name == "Completed" and clean.message == "Published v000003." and len(logger.lines) == 1
