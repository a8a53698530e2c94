"""End to end: the nightly flow on a temporary copy of the bundled data, under a real (temporary) Prefect server."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO, copy_project, tree_digest

pytestmark = pytest.mark.slow
# edges exclude letters too, so hex digests and pseudonyms never match by accident
RESIDENT_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{6}-?[1-8]\d{6}(?![0-9A-Za-z])")
PHONE = re.compile(r"(?<![0-9A-Za-z])01[016789]-?\d{3,4}-?\d{4}(?![0-9A-Za-z])")
DATA_TABLES = ("indicators", "indicator_holdbacks", "budget", "reconciliation", "validation_failures", "failure_trend", "decisions",
               "pledges", "card_attributes", "card_activities")


def run_flow(root: Path) -> dict:
    from pledgeflow.run.flow import nightly

    return nightly(root=str(root))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_server):
    """Two fresh copies run once each, and the first copy run a second time."""
    first = copy_project(tmp_path_factory.mktemp("first") / "project")
    second = copy_project(tmp_path_factory.mktemp("second") / "project")
    raw_before = tree_digest(REPO / "raw")
    summaries = {"first": run_flow(first), "second": run_flow(second)}
    snapshot = {t: (first / "curated/current" / f"{t}.parquet").read_bytes() for t in DATA_TABLES}
    summaries["rerun"] = run_flow(first)
    return {"first": first, "second": second, "summaries": summaries, "first_run_bytes": snapshot,
            "raw_before": raw_before}


def current(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "curated/current" / f"{table}.parquet")


def test_indicators_from_records_match_the_card(runs):
    ind = current(runs["first"], "indicators")
    by = {(r["subproject_id"], r["period"]): r for r in ind.iter_rows(named=True)}
    assert [by[("corporate_linkage", p)]["actual"] for p in ("2018", "2019", "2020")] == [10, 59, 43]
    assert [by[("midcareer", p)]["actual"] for p in ("2018", "2019", "2020")] == [20, 65, 15]
    assert by[("corporate_linkage", "2020")]["cumulative_actual"] == 112
    assert by[("midcareer", "2020")]["cumulative_actual"] == 100
    assert (by[("corporate_linkage", "2020")]["total_target"], by[("midcareer", "2020")]["total_target"]) == (135, 115)
    assert round(by[("corporate_linkage", "2020")]["achievement_rate_pct"]) == 83
    assert round(by[("midcareer", "2020")]["achievement_rate_pct"]) == 87
    assert by[("corporate_linkage", "2019")]["reported_actual"] == 59
    assert by[("midcareer", "2018")]["status"] == "no_target"  # the card prints "-" as the 2018 target
    assert by[("midcareer", "2021")]["status"] == "not_started"


def test_every_row_is_accounted_for_in_the_manifest(runs):
    manifest = json.loads((runs["first"] / "curated/current/manifest.json").read_text(encoding="utf-8"))
    counts = manifest["file_counts"]
    assert len(counts) == len(manifest["inputs"]) == 9
    for entry in counts:
        assert entry["rows_read"] == entry["rows_valid"] + entry["rows_quarantined"], entry["source_file"]
    failures = current(runs["first"], "validation_failures")
    quarantined_rows = failures.filter(pl.col("severity") == "error").select("source_file", "source_row").unique()
    assert quarantined_rows.height == sum(e["rows_quarantined"] for e in counts)


def test_every_planted_defect_is_quarantined_with_file_row_rule_and_messages(runs):
    planted = pl.read_csv(REPO / "tests/data/planted_defects.csv")
    failures = current(runs["first"], "validation_failures")
    found = planted.join(failures, on=["source_file", "source_row", "rule"], how="left")
    assert found.filter(pl.col("dataset_right").is_null()).height == 0, found.filter(pl.col("dataset_right").is_null())
    assert found.select(pl.col("message_ko", "message_en", "column").is_null().any()).row(0) == (False, False, False)


def published_texts(root: Path) -> list[str]:
    """Every text a person or a dashboard can open after a run: tables, review pack, Data Docs, manifests."""
    texts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "raw" not in p.relative_to(root).parts[:1]):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            texts += [str(v) for col in frame.select(pl.col(pl.String)).columns for v in frame[col].drop_nulls()]
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts += [book.read(name).decode("utf-8") for name in book.namelist() if name.endswith(".xml")]
        elif path.suffix in (".json", ".html", ".csv", ".md", ".txt", ".log"):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return texts


def test_no_personal_number_leaves_ingestion(runs):
    root = runs["first"]
    texts = published_texts(root) + [json.dumps(runs["summaries"], ensure_ascii=False)]
    assert len(texts) > 100  # the scan did find the tables, the review pack and the docs
    leaks = [t[:200] for t in texts if RESIDENT_NUMBER.search(t) or PHONE.search(t)]
    assert leaks == []
    values = current(root, "validation_failures").filter(pl.col("rule") == "no_personal_number")["value"].to_list()
    assert any("******-*******" in v for v in values)


def test_same_inputs_give_byte_identical_curated_tables(runs):
    for table in DATA_TABLES:
        a = (runs["first"] / "curated/versions/v000001" / f"{table}.parquet").read_bytes()
        b = (runs["second"] / "curated/current" / f"{table}.parquet").read_bytes()
        assert a == b, table


def test_rerun_keeps_the_tables_and_marks_failures_persisting(runs):
    for table in ("indicators", "budget", "reconciliation"):
        assert (runs["first"] / "curated/current" / f"{table}.parquet").read_bytes() == runs["first_run_bytes"][table]
    failures = current(runs["first"], "validation_failures")
    assert set(failures["state"]) == {"persisting"} and set(failures["first_seen_run"]) == {1}
    assert runs["summaries"]["rerun"]["version"] == "v000002"
    assert current(runs["first"], "runs")["run_number"].to_list() == [1, 2]


def test_raw_is_never_modified(runs):
    assert tree_digest(REPO / "raw") == runs["raw_before"]
    assert tree_digest(runs["first"] / "raw") == tree_digest(REPO / "raw")


def test_reconciliation_shows_the_cards_own_disagreements(runs):
    rec = current(runs["first"], "reconciliation")
    off = rec.filter(pl.col("status") != "match")
    assert off.filter(pl.col("kind") == "report_format", pl.col("observed_text") == "1,9235").height == 1
    arithmetic = off.filter(pl.col("kind") == "report_arithmetic")
    pairs = set(zip(arithmetic["expected"].to_list(), arithmetic["observed"].to_list()))
    assert {(220.0, 185.0), (100.0, 75.0)} <= pairs or {(185.0, 220.0), (75.0, 100.0)} <= pairs
    assert off.select(pl.col("message_ko", "message_en").is_null().any()).row(0) == (False, False)
    records = rec.filter(pl.col("kind") == "records_vs_report", pl.col("subject").str.contains("corporate_linkage|midcareer"))
    assert records.height and records.filter(pl.col("status") == "mismatch").height == 0


def test_duckdb_holds_the_same_tables(runs):
    import duckdb

    con = duckdb.connect(str(runs["first"] / "curated/current/pledgeflow.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from indicators").fetchall()[0][0] == current(runs["first"], "indicators").height
    finally:
        con.close()


def test_the_audit_worker_starts_before_reading_only_when_there_is_little_to_read(monkeypatch):
    from pledgeflow.run import flow

    monkeypatch.setattr(flow, "AuditWorker", lambda: "worker")
    assert flow.start_audit_early({"d01": [{"size_bytes": 10}, {"size_bytes": 20}]}) == "worker"
    assert flow.start_audit_early({}) == "worker"  # every delivery reused: the run goes straight to settling
    assert flow.start_audit_early({"d01": [{"size_bytes": flow.EARLY_AUDIT_BYTES // 2}] * 2}) is None  # starts with settling
