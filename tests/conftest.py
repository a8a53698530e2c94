"""Shared fixtures: a temporary copy of the project's data, and a Prefect test server when a test needs one."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

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
def report(catalog):
    """The bundled pledge card's register, loaded."""
    from pledgeflow.reported import load_report

    return load_report(REPO / "raw" / "reported", catalog, REPO / "schemas")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session (~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
