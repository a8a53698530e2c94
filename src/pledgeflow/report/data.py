"""Read a published curated version the way a dashboard does: DuckDB SQL over its tables.

Every query the pages run is a file in `queries/` (loaded by name), so the SQL is the documentation
of where each figure on a page comes from. The version's `pledgeflow.duckdb` is opened read-only; a
version folder without it is read from its parquet files as views. Nothing here imports the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

DUCKDB_FILE = "pledgeflow.duckdb"
MANIFEST_FILE = "manifest.json"
TABLES = ("pledges", "card_attributes", "card_activities", "indicators", "indicator_holdbacks", "budget",
          "reconciliation", "runs")


class VersionError(Exception):
    """The folder is not a readable published version (a table the report needs is missing)."""


def load_query(name: str) -> str:
    """The text of `queries/<name>.sql`, shipped with the package."""
    return resources.files("pledgeflow.report").joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


def open_version(version_dir: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the version's tables: its DuckDB file, or views over its parquet files."""
    database = version_dir / DUCKDB_FILE
    if database.is_file():
        connection = duckdb.connect(str(database), read_only=True)
    else:
        connection = duckdb.connect(":memory:")
        for path in sorted(version_dir.glob("*.parquet")):
            if path.stem.isidentifier():  # table names are snake_case; the path is quoted as an SQL string
                quoted = str(path).replace("'", "''")
                connection.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM read_parquet('{quoted}')")
    present = {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if missing := sorted(set(TABLES) - present):
        connection.close()
        raise VersionError(f"{version_dir}: not a complete curated version for the report; missing tables: "
                           f"{', '.join(missing)} (published by pledgeflow run since the card tables were added)")
    return connection


def run_query(connection: duckdb.DuckDBPyConnection, name: str, **params) -> list[dict]:
    """Rows of the named query as dicts; `params` fill its `$name` placeholders."""
    cursor = connection.execute(load_query(name), params or None)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class VersionInfo:
    """Which version the pages come from: its name (from manifest.json or the folder) and its run."""

    version: str
    run: dict | None
    review_pack: Path | None


def read_version_info(version_dir: Path, connection: duckdb.DuckDBPyConnection) -> VersionInfo:
    """The version's name and publishing run, and its review pack when the version holds one."""
    manifest_path = version_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    version = (manifest.get("extra") or {}).get("version") or version_dir.resolve().name
    runs = run_query(connection, "run", version=version)
    review = version_dir / "review" / "review_pack.html"
    return VersionInfo(version=version, run=runs[0] if runs else None, review_pack=review if review.is_file() else None)
