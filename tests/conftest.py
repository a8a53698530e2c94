"""Shared fixtures: a temporary copy of the project's data, and a Prefect test server when a test needs one."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
TEST_KEY = "test-pseudonym-key"


def load_curated_contracts() -> dict:
    from pledgeflow.contracts import load_contracts

    return load_contracts(SCHEMAS / "curated")


@functools.cache
def make_project(root: Path = REPO, key: str | None = None):
    """The project model of a project folder (the repo's by default), with `key` as its pseudonymisation key."""
    from pledgeflow.project import Project
    from pledgeflow.settings import Settings

    settings = Settings.from_root(root) if key is None else Settings.from_root(root, pseudonym_key=key)
    return Project.load(settings)


CURATED = load_curated_contracts()  # the curated contract's dtype tables, from schemas/curated/

# Nothing in the tests may try to reach the internet.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def copy_project(target: Path) -> Path:
    """raw/, schemas/ and gx/ of the repo, copied to `target` (tests never touch the real raw/)."""
    for folder in ("raw", "schemas", "gx"):
        shutil.copytree(REPO / folder, target / folder)
    return target


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def catalog():
    """The repo's catalog and descriptors."""
    from pledgeflow.catalog import load_catalog

    return load_catalog(REPO / "schemas")


@pytest.fixture(scope="session")
def repo_project():
    """The repo's project model (development key)."""
    return make_project()


@pytest.fixture(scope="session")
def report(repo_project):
    """The bundled pledge card's register, loaded."""
    from pledgeflow.card.register import load_report

    return load_report(repo_project)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session (~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


# ---- shared by test_audit.py and test_audit_docs.py ----------------------------------------------------


def has_external_reference(text: str) -> bool:
    """What a browser would fetch: a URL with a scheme, or a protocol-relative //host in an attribute or CSS url()."""
    import re

    return bool(re.search(r"https?://|(?:src|href|action)\s*=\s*[\"']?//|url\(\s*[\"']?//", text, re.I))


# ---- shared by test_review.py and test_review_html.py --------------------------------------------------

PLACEMENTS_FILE = "placements/2019_채용실적.csv"


def failure(row: int | None, rule: str, column: str | None, state: str = "new", dataset: str = "placements",
            source_file: str = PLACEMENTS_FILE, value: str | None = "v") -> dict:
    return {"dataset": dataset, "source_file": source_file, "source_row": row, "record_key": f"key{row}",
            "record_id": f"{row or 0:016x}", "column": column, "rule": rule, "value": value, "severity": "error",
            "message_ko": f"[{column}] 규칙 {rule} 위반", "message_en": f"[{column}] broke {rule}",
            "fingerprint": f"fp-{row}-{rule}", "first_seen_run": 1, "state": state}


def failures(*rows: dict):
    import polars as pl

    return pl.DataFrame(list(rows), schema=CURATED["validation_failures"])


def placement(row: int, note: str | None = "-", event_id: str | None = "TC-2019-01") -> dict:
    return {"source_file": PLACEMENTS_FILE, "source_row": row, "row_digest": f"{row:032x}", "person_id": f"p_{row:020x}",
            "birth_year": "1966", "employer_brn": "1178114553", "employer_name_ko": "대방시큐리티(주)",
            "hire_date": "2019. 2. 30.", "subproject_name_ko": "중장년 일자리", "channel_name_ko": "교육과정",
            "event_id": event_id, "note_ko": note}


def delivered(*rows: dict) -> dict:
    import polars as pl

    return {"placements": pl.DataFrame(list(rows), schema_overrides={"source_row": pl.Int64})}


def settle_project(root: Path, key: str | None = None):
    """(project, settled records, card register) of a project folder: the stages up to settle, without Prefect."""
    from pledgeflow import card, ingest, settle
    from pledgeflow.run.bookkeeping import start_run

    project = make_project(root, key)
    deliveries = ingest.discover_deliveries(project.settings.raw_dir, project.catalog).to_dicts()
    results = [ingest.ingest_cached(d, project)[0] for d in deliveries]
    settled = settle.settle_records(results, project, start_run(project).local_date)
    return project, settled, card.load_report(project)


def publish_project(root: Path, key: str | None = None) -> Path:
    """Every stage of a run over a project folder, without Prefect, up to a published version: curated/current."""
    from pledgeflow import ingest
    from pledgeflow.aggregate import count_indicators
    from pledgeflow.card import reconcile_settled
    from pledgeflow.run.bookkeeping import make_manifest, start_run
    from pledgeflow.run.tables import compile_tables, publish_tables

    project, settled, report = settle_project(root, key)
    run = start_run(project)
    indicators = count_indicators(settled, report, project)
    reconciliation = reconcile_settled(indicators, settled, report, project)
    tables = compile_tables(run, project, settled, indicators, reconciliation, report, {}, 0)
    deliveries = ingest.discover_deliveries(project.settings.raw_dir, project.catalog)
    skipped = ingest.discover_skipped(project.settings.raw_dir, project.catalog)
    publish_tables(run, project, tables, make_manifest(run, deliveries, settled, "published", [], skipped), settled)
    return project.settings.curated_dir / "current"
