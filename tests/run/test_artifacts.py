"""Artifact contents: disagreements first, cells that cannot break a markdown table."""

from __future__ import annotations

import polars as pl

from pledgeflow.contracts import conform
from tests.conftest import CURATED
from pledgeflow.run.artifacts import failures_by_rule, reconciliation_markdown, summary_markdown


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
