"""Write-audit-publish: atomic switch, rejected audits, crash recovery, DuckDB copy, determinism."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pledgeflow.publish import staging
from pledgeflow.contracts import conform
from tests.conftest import CURATED
from pledgeflow.errors import BlockedByAudit, PublishError
from pledgeflow.publish.version import current_version, publish_version, read_current

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
MANIFEST = {"run_number": 1, "status": "ok"}


def dimension_tables() -> dict[str, pl.DataFrame]:
    from tests.publish.test_audit import dimension_tables as tables

    return tables()


def make_tables(run_number: int = 1) -> dict[str, pl.DataFrame]:
    """Small valid curated tables; `run_number` changes the content of `runs`."""
    tables = {name: pl.DataFrame(schema=schema) for name, schema in CURATED.items()}
    tables["indicators"] = conform(
        pl.DataFrame(
            {
                "pledge_id": ["ydp-2018-15"] * 2,
                "subproject_id": ["midcareer", "corporate_linkage"],
                "subproject_name_ko": ["중장년 일자리 창출", "기업과 연계한 일자리 창출"],
                "indicator_id": ["jobs_created"] * 2,
                "indicator_name_ko": ["일자리 창출 인원"] * 2,
                "unit": ["명"] * 2,
                "period": ["2019"] * 2,
                "period_order": [2, 2],
                "period_start_date": [dt.date(2019, 1, 1)] * 2,
                "period_end_date": [dt.date(2019, 12, 31)] * 2,
                "target": [30, None],
                "actual": [28, 40],
                "cumulative_actual": [28, 40],
                "achievement_rate_pct": [20.7, None],
                "excluded_records": [1, 0],
                **{c: [0, 0] for c in ("waived_records", "corrected_records", "decision_excluded_records")},
                "status": ["below_target", "no_target"],
                "measure_kind": ["count"] * 2, "target_semantics": ["per_period"] * 2,
                "rate_definition": ["cumulative_over_total"] * 2,
            }
        ),
        CURATED["indicators"],
    )
    tables |= {name: frame for name, frame in dimension_tables().items() if name != "unassigned_records"}
    tables["runs"] = conform(
        pl.DataFrame(
            {
                "run_number": list(range(1, run_number + 1)),
                "run_id": [f"run-{n}" for n in range(1, run_number + 1)],
                "started_at": [dt.datetime(2024, 1, n, 2, tzinfo=dt.UTC) for n in range(1, run_number + 1)],
                "status": "completed",
                **{c: 0 for c in ("files_read", "rows_read", "rows_valid", "rows_quarantined")},
                **{c: 0 for c in ("mismatches", "failures_new", "failures_resolved")},
            }
        ),
        CURATED["runs"],
    )
    return tables


def publish_tables(curated: Path, version: str, tables=None, **kwargs):
    return publish_version(curated, SCHEMAS_DIR, version, tables or make_tables(), MANIFEST, **kwargs)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_publish_twice_keeps_both_versions_and_switches_current(tmp_path):
    first = publish_tables(tmp_path, "v1", make_tables(1))
    second = publish_tables(tmp_path, "v2", make_tables(2))
    assert current_version(tmp_path) == "v2"
    assert (tmp_path / "current").resolve() == second.path.resolve()
    assert read_current(tmp_path, "runs").height == 2
    assert pl.read_parquet(first.path / "runs.parquet").height == 1
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == ["v1", "v2"]
    assert not any((tmp_path / ".staging").iterdir())


def test_manifest_lists_sha256_of_every_output_file(tmp_path):
    result = publish_tables(tmp_path, "v1")
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == result.files
    assert manifest["version"] == "v1" and manifest["run_number"] == 1
    expected = {f"{t}.parquet" for t in CURATED} | {"pledgeflow.duckdb", "data_dictionary.md", "data_dictionary.html"}
    assert set(result.files) == expected
    assert result.files["runs.parquet"] == staging.sha256_file(result.path / "runs.parquet")


def test_failed_contract_audit_leaves_current_untouched(tmp_path):
    publish_tables(tmp_path, "v1")
    before = snapshot(tmp_path / "versions" / "v1")
    bad = make_tables(2)
    bad["reconciliation"] = conform(
        pl.DataFrame({"check_id": ["c1"], "kind": ["records_vs_card"], "rule": ["r"], "subject": ["s"],
                      "status": ["match"], "message_ko": ["설명"], "message_en": ["text"]}),
        CURATED["reconciliation"],
    )
    with pytest.raises(BlockedByAudit, match=r"reconciliation\.kind: isin"):
        publish_tables(tmp_path, "v2", bad)
    assert current_version(tmp_path) == "v1"
    assert snapshot(tmp_path / "versions" / "v1") == before
    assert (tmp_path / ".rejected" / "v2" / "reconciliation.parquet").exists()
    assert not (tmp_path / "versions" / "v2").exists()


def test_failing_audit_callback_rejects_the_version(tmp_path):
    publish_tables(tmp_path, "v1")
    before = snapshot(tmp_path / "versions" / "v1")
    seen = []

    def audit(staging: Path) -> None:
        seen.append(sorted(p.name for p in staging.iterdir()))
        raise BlockedByAudit("indicators: expect_column_values_to_not_be_null failed")

    with pytest.raises(BlockedByAudit, match="expect_column_values_to_not_be_null"):
        publish_tables(tmp_path, "v2", make_tables(2), audit=audit)
    assert "manifest.json" in seen[0]
    assert current_version(tmp_path) == "v1"
    assert snapshot(tmp_path / "versions" / "v1") == before
    assert (tmp_path / ".rejected" / "v2").is_dir()


def test_a_broken_audit_is_a_failure_not_a_verdict_and_is_not_relabelled(tmp_path):
    publish_tables(tmp_path, "v1")

    def audit(staging: Path) -> None:
        raise ImportError("No module named 'great_expectations'")

    with pytest.raises(ImportError, match="great_expectations"):  # not BlockedByAudit: exit 1, not 4
        publish_tables(tmp_path, "v2", make_tables(2), audit=audit)
    assert current_version(tmp_path) == "v1"
    assert not (tmp_path / ".rejected" / "v2").exists() and not (tmp_path / "versions" / "v2").exists()


def test_companion_files_are_written_alongside_the_audit_and_publish_with_the_version(tmp_path):
    threads = {}

    def extras(staging: Path) -> None:
        threads["extras"] = threading.current_thread().name
        (staging / "review").mkdir()
        (staging / "review" / "pack.txt").write_text("pack", encoding="utf-8")

    def audit(staging: Path) -> None:
        threads["audit"] = threading.current_thread().name

    publish_version(tmp_path, SCHEMAS_DIR, "v1", make_tables(), MANIFEST, audit=audit, extras=extras)
    assert threads["extras"] != threads["audit"]  # the review pack does not wait for the audit
    assert (tmp_path / "current" / "review" / "pack.txt").read_text(encoding="utf-8") == "pack"


def test_a_failing_companion_fails_the_publish_and_nothing_goes_live(tmp_path):
    publish_tables(tmp_path, "v1")

    def extras(staging: Path) -> None:
        raise OSError("disk full while writing the review pack")

    with pytest.raises(OSError, match="disk full"):
        publish_version(tmp_path, SCHEMAS_DIR, "v2", make_tables(2), MANIFEST, extras=extras)
    assert current_version(tmp_path) == "v1" and not (tmp_path / "versions" / "v2").exists()


def test_missing_table_is_rejected(tmp_path):
    tables = make_tables()
    del tables["budget"]
    with pytest.raises(BlockedByAudit, match="missing \\['budget'\\]"):
        publish_tables(tmp_path, "v1", tables)
    assert current_version(tmp_path) is None


def test_unmasked_personal_data_is_rejected(tmp_path):
    tables = make_tables()
    tables["validation_failures"] = conform(
        pl.DataFrame({"dataset": ["placements"], "source_file": ["placements/a.csv"], "source_row": [2],
                      "rule": ["format"], "value": ["900101-1234567"], "severity": ["error"],
                      "message_ko": ["설명"], "message_en": ["text"], "fingerprint": ["ab12"],
                      "first_seen_run": [1], "state": ["new"]}),
        CURATED["validation_failures"],
    )
    with pytest.raises(BlockedByAudit, match="validation_failures.value: unmasked personal data") as caught:
        publish_tables(tmp_path, "v1", tables)
    assert "1234567" not in str(caught.value)


def test_crash_mid_write_keeps_previous_version_and_next_publish_recovers(tmp_path, monkeypatch):
    publish_tables(tmp_path, "v1")
    real_write = staging.write_table_parquet
    calls = []

    def crash_after_first(frame, path, *doc):
        if calls:
            raise OSError("disk full")
        calls.append(path)
        real_write(frame, path, *doc)

    monkeypatch.setattr(staging, "write_table_parquet", crash_after_first)
    with pytest.raises(OSError, match="disk full"):
        publish_tables(tmp_path, "v2", make_tables(2))
    assert (tmp_path / ".staging" / "v2").is_dir()  # the crash leaves a half-built staging folder
    assert current_version(tmp_path) == "v1"
    assert read_current(tmp_path, "runs").height == 1

    monkeypatch.setattr(staging, "write_table_parquet", real_write)
    publish_tables(tmp_path, "v3", make_tables(3))
    assert current_version(tmp_path) == "v3"
    assert list((tmp_path / ".staging").iterdir()) == []
    assert not (tmp_path / "versions" / "v2").exists()


def test_duckdb_file_holds_the_same_tables(tmp_path):
    result = publish_tables(tmp_path, "v1", make_tables(3))
    with duckdb.connect(str(result.path / "pledgeflow.duckdb"), read_only=True) as con:
        names = sorted(row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in names}
    assert names == sorted(CURATED)
    assert counts == {t: pl.read_parquet(result.path / f"{t}.parquet").height for t in names}


def test_same_tables_give_byte_identical_parquet(tmp_path):
    tables = make_tables(3)
    shuffled = {name: frame.reverse() for name, frame in tables.items()}
    first = publish_tables(tmp_path / "a", "v1", tables)
    second = publish_tables(tmp_path / "b", "v1", shuffled)
    parquet = [name for name in first.files if name.endswith(".parquet")]
    assert all((first.path / n).read_bytes() == (second.path / n).read_bytes() for n in parquet)
    assert read_current(tmp_path / "a", "indicators")["subproject_id"].to_list() == ["corporate_linkage", "midcareer"]


def test_existing_version_name_is_refused_and_left_intact(tmp_path):
    publish_tables(tmp_path, "v1")
    before = snapshot(tmp_path / "versions" / "v1")
    with pytest.raises(PublishError, match="already exists"):
        publish_tables(tmp_path, "v1", make_tables(2))
    assert snapshot(tmp_path / "versions" / "v1") == before
    assert current_version(tmp_path) == "v1"


def test_version_name_cannot_escape_curated(tmp_path):
    with pytest.raises(PublishError, match="invalid version name"):
        publish_tables(tmp_path, "../evil")


def test_prune_keeps_newest_versions(tmp_path):
    for n in range(1, 5):
        publish_tables(tmp_path, f"v{n}", make_tables(n), keep_versions=2)
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == ["v3", "v4"]
    assert current_version(tmp_path) == "v4"


def test_nothing_published_yet(tmp_path):
    assert current_version(tmp_path) is None
    assert read_current(tmp_path, "indicators") is None


def test_every_published_file_is_world_readable_whatever_the_umask(tmp_path):
    import os

    previous = os.umask(0o077)  # a locked-down service account; mkstemp's 0600 for manifest.json regardless
    try:
        result = publish_tables(tmp_path, "v1", extras=lambda staging: (staging / "review").mkdir())
    finally:
        os.umask(previous)
    modes = {p.relative_to(result.path).as_posix(): p.stat().st_mode & 0o777 for p in result.path.rglob("*")}
    assert modes["manifest.json"] == 0o644 and modes["review"] == 0o755
    assert {m for name, m in modes.items() if name != "review"} == {0o644}
    assert result.path.stat().st_mode & 0o777 == 0o755


def test_tables_carry_their_contract_descriptions_in_parquet_and_duckdb(tmp_path):
    import pyarrow.parquet as pq

    from pledgeflow.contracts import describe_contract

    result = publish_tables(tmp_path, "v1", make_tables(3))
    described = describe_contract(SCHEMAS_DIR / "curated" / "budget.schema.yaml")
    schema = pq.read_schema(result.path / "budget.parquet")
    assert {f.name: f.metadata[b"description"].decode() for f in schema} == described
    assert pq.ParquetFile(result.path / "budget.parquet").metadata.metadata[b"pledgeflow.table"] == b"budget"
    with duckdb.connect(str(result.path / "pledgeflow.duckdb"), read_only=True) as con:
        comments = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'budget'").fetchall())
        (table_comment,) = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'reconciliation'").fetchone()
    assert comments == described and table_comment.startswith("Every check of records against the report")
    assert "record_id" in (result.path / "data_dictionary.md").read_text(encoding="utf-8")
    assert {"data_dictionary.md", "data_dictionary.html"} <= set(result.files)


def test_duckdb_file_is_written_in_the_storage_format_duckdb_1_reads(tmp_path):
    result = publish_tables(tmp_path, "v1")
    with duckdb.connect(str(result.path / "pledgeflow.duckdb"), read_only=True) as con:
        (storage,) = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = 'pledgeflow'").fetchone()
    assert storage == "v1.0.0+"  # opened by a real DuckDB 1.1 in tests/publish/test_duckdb_compat.py (slow)
