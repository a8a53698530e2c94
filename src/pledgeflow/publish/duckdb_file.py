"""The version's DuckDB file: the curated tables, documented, in a storage format DuckDB 1.x opens.

DuckDB 2.x writes its own storage format by default, which the DuckDB 1.x embedded in most BI tools
refuses to open; `storage_compatibility_version` makes it write DuckDB 1.0's format, which 2.x reads too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pledgeflow.publish.dictionary import TableDoc

DUCKDB_FILE = "pledgeflow.duckdb"
DUCKDB_STORAGE_VERSION = "v1.0.0"


def write_duckdb(folder: Path, table_names: list[str], docs: dict[str, TableDoc] | None = None) -> None:
    """Copy every parquet file of `folder` into a DuckDB file next to them, with the contracts' descriptions as COMMENTs.

    DESIGN says "views"; tables are used instead so the file is self-contained and the version
    folder can be moved or copied without dangling parquet paths.
    """
    con = duckdb.connect(str(folder / DUCKDB_FILE), config={"storage_compatibility_version": DUCKDB_STORAGE_VERSION})
    try:
        for name in table_names:
            source = str(folder / f"{name}.parquet").replace("'", "''")
            con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{source}')")
            if (docs or {}).get(name):
                comment_table(con, docs[name])
    finally:
        con.close()


def comment_table(con: duckdb.DuckDBPyConnection, doc: TableDoc) -> None:
    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    con.execute(f"COMMENT ON TABLE \"{doc.name}\" IS {literal(doc.description)}")
    for column in doc.columns:
        con.execute(f"COMMENT ON COLUMN \"{doc.name}\".\"{column.name}\" IS {literal(column.description)}")
