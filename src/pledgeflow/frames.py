"""Column contracts of the frames that pass between stages.

Each stage module builds or consumes these; keeping the lists in one place
stops two modules from drifting apart on a column name or dtype.
"""

from __future__ import annotations

import polars as pl

# Every delivery row carries where it came from, as the steward would find it:
# source_file relative to raw/, source_row = the row number shown by Excel / a text editor (1-based,
# header row included).
SOURCE_COLUMNS = {"source_file": pl.String, "source_row": pl.Int64}

# One row per (record, column, rule) that failed; file-level failures have a null source_row.
FAILURE_SCHEMA = {
    "dataset": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "record_key": pl.String,
    "column": pl.String,
    "rule": pl.String,
    "value": pl.String,  # always masked before it lands here
    "severity": pl.String,  # error | warning
    "message_ko": pl.String,
    "message_en": pl.String,
}


def empty_failures() -> pl.DataFrame:
    return pl.DataFrame(schema=FAILURE_SCHEMA)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast `frame` to exactly `schema` (missing columns become nulls)."""
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
