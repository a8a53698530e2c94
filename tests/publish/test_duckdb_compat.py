"""A published pledgeflow.duckdb opens in DuckDB 1.x (what BI tools embed), with every table and its comments.

DuckDB 1.1 runs in a separate virtualenv (it cannot share the test's interpreter with DuckDB 2),
made once with uv and kept in pytest's cache folder across runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import CURATED
from tests.publish.test_version import make_tables, publish_tables

OLD_DUCKDB = "1.1.3"
READ_EVERY_TABLE = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET TimeZone = 'UTC'")
names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
print(json.dumps({"version": duckdb.__version__,
                  "tables": {t: con.execute(f'SELECT COLUMNS(*)::VARCHAR FROM "{t}" ORDER BY ALL').fetchall() for t in names},
                  "comments": con.execute("SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL").fetchone()[0]}))
"""


def uv() -> list[str]:
    """The uv that runs the tests (`uv run` exports it as $UV), else the one on PATH, else `python3 -m uv`."""
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


@pytest.fixture(scope="session")
def old_duckdb(pytestconfig) -> str:
    """Python of a virtualenv holding DuckDB 1.1 (created on first use, then reused from the pytest cache)."""
    venv = pytestconfig.cache.mkdir(f"duckdb-{OLD_DUCKDB}")
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([*uv(), "venv", "-q", str(venv)], check=True)
    probe = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True, text=True)
    if probe.stdout.strip() != OLD_DUCKDB:
        subprocess.run([*uv(), "pip", "install", "-q", "--python", str(python), f"duckdb=={OLD_DUCKDB}"],
                       check=True)
    return str(python)


@pytest.mark.slow
def test_duckdb_1_opens_the_published_file_and_reads_every_table(tmp_path, old_duckdb):
    result = publish_tables(tmp_path, "v1", make_tables(3))
    done = subprocess.run([old_duckdb, "-c", READ_EVERY_TABLE, str(result.path / "pledgeflow.duckdb")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"] == OLD_DUCKDB
    assert sorted(seen["tables"]) == sorted(CURATED)
    assert len(seen["tables"]["runs"]) == 3 and len(seen["tables"]["indicators"]) == 2
    current = subprocess.run([sys.executable, "-c", READ_EVERY_TABLE, str(result.path / "pledgeflow.duckdb")],
                             capture_output=True, text=True, check=True)
    assert seen["tables"] == json.loads(current.stdout)["tables"]  # every value reads the same as in DuckDB 2
    assert seen["comments"] == sum(len(columns) for columns in CURATED.values())
