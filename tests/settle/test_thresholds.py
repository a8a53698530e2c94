"""Data thresholds: the share of quarantined rows and critical rules per dataset."""

from __future__ import annotations

import polars as pl

from pledgeflow.catalog import load_catalog
from pledgeflow.settle.thresholds import check_thresholds
from tests.conftest import REPO

CATALOG = load_catalog(REPO / "schemas")


def counts(dataset: str, read: int, quarantined: int, file_error: str | None = None) -> dict:
    return {"dataset": dataset, "source_file": f"{dataset}/a.csv", "rows_read": read, "rows_valid": read - quarantined,
            "rows_quarantined": quarantined, "file_error": file_error}


def failures(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame([{"dataset": d, "rule": r, "severity": s} for d, r, s in rows],
                        schema={"dataset": pl.String, "rule": pl.String, "severity": pl.String})


def test_quarantine_share_past_the_limit_is_a_breach_and_at_the_limit_is_not():
    file_counts = pl.DataFrame([counts("placements", 100, 11), counts("job_fairs", 4, 1)])  # 11% > 10%; 25% == 25%
    breaches = check_thresholds(file_counts, failures(), CATALOG)
    assert breaches["dataset"].to_list() == ["placements"]
    assert "11.0% of rows quarantined" in breaches["message"][0] and "10" in breaches["message"][0]


def test_a_critical_rule_is_a_breach_whatever_the_share(tmp_path):
    schemas = tmp_path / "schemas"
    import shutil

    shutil.copytree(REPO / "schemas", schemas)
    path = schemas / "datasets/placements.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("critical_rules: []", "critical_rules: [no_personal_number]"),
                    encoding="utf-8")
    catalog = load_catalog(schemas)
    file_counts = pl.DataFrame([counts("placements", 1000, 1)])
    breaches = check_thresholds(file_counts, failures(("placements", "no_personal_number", "error")), catalog)
    assert breaches["kind"].to_list() == ["critical_rule"]
    assert check_thresholds(file_counts, failures(("placements", "parse_date", "error")), catalog).is_empty()
