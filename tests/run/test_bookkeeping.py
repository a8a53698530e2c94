"""Run bookkeeping: the warnings policy and the run status."""

from __future__ import annotations

import polars as pl

from pledgeflow.run.bookkeeping import collect_warnings, run_status
from tests.settle.test_thresholds import counts, failures


def test_status_is_completed_only_without_warnings():
    clean = pl.DataFrame([counts("placements", 10, 0)])
    rec = pl.DataFrame({"status": ["match"]})
    assert run_status(collect_warnings(clean, failures(), rec)) == "completed"
    assert run_status(collect_warnings(clean, failures(("placements", "x", "warning")), rec)) == "completed_with_warnings"
    assert run_status(collect_warnings(clean, failures(), pl.DataFrame({"status": ["mismatch"]}))) == "completed_with_warnings"
    unreadable = pl.DataFrame([counts("placements", 0, 0, "cannot read")])
    assert "1 unreadable file(s)" in collect_warnings(unreadable, failures(), rec)
