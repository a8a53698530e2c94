"""A published version checked against oracles of its own: rows counted straight from the delivery files, and the
DuckDB file read back value by value against the parquet files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from tests.conftest import copy_project, publish_project

HEADER_MIN_CELLS = 3  # title lines above a header hold one cell; a header row names several columns


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path]:
    root = copy_project(tmp_path_factory.mktemp("published") / "project")
    return root, publish_project(root)


def file_rows(path: Path) -> list[list[str]]:
    """Every row of a delivery as text cells, read without pledgeflow (csv module or openpyxl)."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return list(csv.reader(io.StringIO(data.decode(encoding))))
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"{path} decodes as neither UTF-8 nor CP949")


def count_data_rows(path: Path) -> int:
    """Rows with any non-blank cell after the first row that looks like a header."""
    filled = [sum(1 for cell in row if cell.strip()) for row in file_rows(path)]
    header = next(i for i, n in enumerate(filled) if n >= HEADER_MIN_CELLS)
    return sum(1 for n in filled[header + 1:] if n)


def test_every_delivered_row_is_counted_read_and_lands_somewhere(published):
    root, current = published
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    counts = {c["source_file"]: c for c in manifest["file_counts"]}
    deliveries = sorted(p for folder in ("placements", "training_cohorts", "job_fairs")
                        for p in (root / "raw" / folder).iterdir() if p.suffix in (".csv", ".xlsx"))
    assert sorted(counts) == sorted(p.relative_to(root / "raw").as_posix() for p in deliveries)
    for path in deliveries:
        entry = counts[path.relative_to(root / "raw").as_posix()]
        assert entry["rows_read"] == count_data_rows(path), path.name
        assert entry["rows_read"] == entry["rows_valid"] + entry["rows_quarantined"] + entry["rows_excluded"], path.name
    assert manifest["totals"]["rows_read"] == sum(count_data_rows(p) for p in deliveries) == 247


def test_the_duckdb_file_holds_the_parquet_tables_value_by_value(published):
    _, current = published
    tables = sorted(p.stem for p in current.glob("*.parquet"))
    con = duckdb.connect(str(current / "pledgeflow.duckdb"), read_only=True)
    try:
        stored = sorted(row[0] for row in con.execute("select table_name from information_schema.tables").fetchall())
        assert stored == tables
        for table in tables:
            parquet = pl.read_parquet(current / f"{table}.parquet")
            from_duckdb = pl.from_arrow(con.sql(f'select * from "{table}"').to_arrow_table())
            assert from_duckdb.columns == parquet.columns, table
            # DuckDB names UTC "Etc/UTC": the same instants, so only the zone's name is aligned before comparing
            from_duckdb = from_duckdb.cast({c: parquet.schema[c] for c in parquet.columns
                                            if isinstance(parquet.schema[c], pl.Datetime)})
            assert from_duckdb.sort(parquet.columns, nulls_last=True).equals(parquet.sort(parquet.columns, nulls_last=True)), table
    finally:
        con.close()
