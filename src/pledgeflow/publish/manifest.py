"""The run manifest: what a run read, how every file's rows were accounted for, what it wrote.

The manifest is the proof of row conservation (DESIGN invariant 2): `build_manifest` refuses to
build one whose per-file counts do not add up. It is plain JSON with sorted keys and sorted lists,
so two runs over the same inputs differ only in their run metadata (ids and wall-clock times).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pledgeflow.errors import ConservationError

MANIFEST_FORMAT = 1
INPUT_COLUMNS = ("dataset", "source_file", "sha256", "size_bytes")
COUNT_COLUMNS = ("dataset", "source_file", "rows_read", "rows_valid", "rows_quarantined", "rows_excluded", "file_error")
# rows_excluded: records a steward's decision keeps out of the indicators on purpose
_ROW_COUNTS = ("rows_read", "rows_valid", "rows_quarantined", "rows_excluded")
# the rows under a file's header that are not records (ingest/shapes.py): set aside and counted, never lost
SHAPE_COUNTS = ("rows_below_header", "total_rows", "repeated_header_rows", "blank_rows", "cancelled_rows")
# what a steward needs to know about each file's shape and origin (listed when the counts carry them)
FILE_FACTS = ("sheets", "skipped_sheets", "profile", "unknown_columns", "defaults_applied", "delivery_facts", "declared_totals")


def build_manifest(
    run_number: int,
    run_id: str,
    started_at: datetime | str,
    finished_at: datetime | str | None,
    inputs: pl.DataFrame,
    file_counts: pl.DataFrame,
    outputs: dict[str, str],
    status: str,
    extra: dict,
) -> dict:
    """A JSON-ready manifest of one run; raises ConservationError if any file's rows do not add up.

    Null row counts (a file that could not be read) count as 0. `inputs` and `file_counts` become
    lists sorted by all their columns; lists inside `extra` keep the caller's order.
    """
    _require_columns(inputs, INPUT_COLUMNS, "inputs")
    if "rows_excluded" not in file_counts.columns:  # a run without steward decisions excludes nothing
        file_counts = file_counts.with_columns(pl.lit(0, pl.Int64).alias("rows_excluded"))
    _require_columns(file_counts, COUNT_COLUMNS, "file_counts")
    shape = [c for c in (*SHAPE_COUNTS, *FILE_FACTS) if c in file_counts.columns]
    counts = file_counts.select(*COUNT_COLUMNS, *shape).with_columns(
        pl.col(*_ROW_COUNTS, *[c for c in SHAPE_COUNTS if c in shape]).fill_null(0))
    check_conservation(counts)
    check_rows_below_header(counts)
    check_every_input_counted(inputs, counts)
    manifest = {
        "manifest_format": MANIFEST_FORMAT,
        "run_number": int(run_number),
        "run_id": str(run_id),
        "started_at": started_at,
        "finished_at": finished_at,
        "status": status,
        "inputs": _sorted_records(inputs.select(INPUT_COLUMNS)),
        "file_counts": _sorted_records(counts),
        "totals": summarise_counts(counts),
        "outputs": dict(outputs),
        "extra": extra,
    }
    return normalise_json(manifest)


def check_conservation(counts: pl.DataFrame) -> None:
    """Raise ConservationError naming every file where rows_read != rows_valid + rows_quarantined + rows_excluded."""
    broken = counts.filter(pl.col("rows_read") != pl.col("rows_valid") + pl.col("rows_quarantined") + pl.col("rows_excluded"))
    if broken.height:
        detail = broken.sort("source_file").select(
            pl.format(
                "{} (read {}, valid {}, quarantined {}, excluded {})",
                "source_file", "rows_read", "rows_valid", "rows_quarantined", "rows_excluded",
            ).str.join("; ")
        ).item()
        raise ConservationError(f"row conservation violated: {detail}")


def check_rows_below_header(counts: pl.DataFrame) -> None:
    """Raise ConservationError naming every file whose rows under the header are not all data, totals, repeated
    headers or blank rows (only when the counts carry the shape of the files)."""
    if not set(SHAPE_COUNTS[:4]) <= set(counts.columns):
        return
    accounted = pl.col("rows_read") + pl.col("total_rows") + pl.col("repeated_header_rows") + pl.col("blank_rows")
    broken = counts.filter((pl.col("rows_below_header") != accounted) & pl.col("file_error").is_null())
    if broken.height:
        detail = broken.sort("source_file").select(pl.format(
            "{} (rows under the header {}, data {}, totals {}, repeated headers {}, blank {})", "source_file",
            "rows_below_header", "rows_read", "total_rows", "repeated_header_rows", "blank_rows").str.join("; ")).item()
        raise ConservationError(f"row conservation violated: {detail}")


def check_every_input_counted(inputs: pl.DataFrame, counts: pl.DataFrame) -> None:
    """Raise ConservationError naming input files that have no row counts (their rows are unaccounted)."""
    missing = inputs.join(counts, on=["dataset", "source_file"], how="anti")
    if missing.height:
        names = missing.sort("source_file").select(pl.col("source_file").str.join(", ")).item()
        raise ConservationError(f"no row counts for input file(s): {names}")


def summarise_counts(counts: pl.DataFrame) -> dict[str, int]:
    """Run totals over the per-file counts."""
    totals = counts.select(
        pl.len().alias("files_read"),
        pl.col("file_error").is_not_null().sum().alias("files_with_error"),
        *[pl.col(name).sum() for name in _ROW_COUNTS],
    )
    return {name: int(value or 0) for name, value in totals.row(0, named=True).items()}


def normalise_json(value: Any) -> Any:
    """`value` as plain JSON types with sorted keys (dates and paths become ISO strings / text)."""
    return json.loads(_dumps(value))


def write_manifest(path: str | Path, manifest: dict) -> None:
    """Write `manifest` as JSON atomically: a reader sees the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(_dumps(manifest, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def read_manifest(path: str | Path) -> dict:
    """The manifest stored at `path`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True, ensure_ascii=False, indent=indent)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"manifest value of type {type(value).__name__} is not JSON-serialisable")


def _sorted_records(frame: pl.DataFrame) -> list[dict]:
    flat = [name for name, dtype in frame.schema.items() if not dtype.is_nested()]  # lists follow their row
    return frame.sort(flat, nulls_last=True).to_dicts()


def _require_columns(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s): {', '.join(missing)}")
