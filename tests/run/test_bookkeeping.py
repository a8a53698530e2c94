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


def test_a_run_that_did_not_publish_is_recorded_without_the_personal_numbers_of_its_error(tmp_path):
    from datetime import datetime, timezone

    from pledgeflow.errors import BlockedByData
    from pledgeflow.run.bookkeeping import RunContext, record_unpublished
    from pledgeflow.run.history import read_runs
    from tests.conftest import CURATED, copy_project, make_project

    project = make_project(copy_project(tmp_path / "p"))
    run = RunContext(1, datetime(2026, 1, 1, tzinfo=timezone.utc))
    record_unpublished(run, project, BlockedByData("placements/850115-2345678.csv: 010-9876-5432"), {"settle": 1.0})
    record_unpublished(RunContext(2, run.started_at), project, OSError("disk of 010-9876-5432 is full"), {})
    history = read_runs(project.settings.state_dir, CURATED["runs"])
    assert history["status"].to_list() == ["blocked", "failed"]
    said = " ".join(history["message"])
    assert "2345678" not in said and "9876-5432" not in said and "BlockedByData" in said and "OSError" in said


def test_a_deployment_run_refused_for_its_catalog_is_in_the_history_as_blocked(tmp_path):
    """The served flow loads the project itself (no CLI before it): a broken catalog is recorded there too."""
    import pytest

    from pledgeflow.errors import CatalogError
    from pledgeflow.run.flow import load_project
    from pledgeflow.settings import Settings
    from tests.conftest import copy_project

    root = copy_project(tmp_path / "p")
    catalog = root / "schemas" / "catalog.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace("indicators:", "indicator:", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown key 'indicator'"):
        load_project(Settings.from_root(root))
    history = pl.read_parquet(root / "state" / "runs.parquet")
    assert history.select("run_number", "status").rows() == [(1, "blocked")]
    assert "unknown key 'indicator'" in history["message"][0]
