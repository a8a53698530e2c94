"""The reading stage's guards: what a file is, what it may cost, and the cells no header claims.

`read.read_delivery` calls these around its readers: `sniff_delivery` before any reader touches the
file (an unreadable or hostile file becomes a `DeliveryError`), `check_cells` on the grid, and
`with_extra_fields` after the header is found, so that cells to the right of the last header cell
(a CSV row with one field too many) are kept in `extra_fields` and become a `too_many_fields`
row failure instead of vanishing.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import polars as pl

from pledgeflow import storage
from pledgeflow.contracts import ROW
from pledgeflow.ingest.limits import ReadLimits
from pledgeflow.ingest.sniff import refused, sniff_kind
from pledgeflow.privacy import mask_personal_numbers

if TYPE_CHECKING:
    from pledgeflow.ingest.read import Delivery

EXTRA_FIELDS = "extra_fields"
EXTRA_SEPARATOR = " | "


def sniff_delivery(path: Path | str, source_file: str, limits: ReadLimits) -> str:
    """"xlsx" or "csv" from the file's bytes; a file the system will not let us open is refused too."""
    name = PurePosixPath(str(path)).name
    try:
        if storage.is_remote(path):
            size = storage.file_size(path)
            head = io.BytesIO(storage.read_bytes(path)) if size <= limits.max_file_bytes else io.BytesIO()
            return sniff_kind(head, name, size, source_file, limits)
        with Path(path).open("rb") as handle:
            return sniff_kind(handle, name, Path(path).stat().st_size, source_file, limits)
    except PermissionError:
        raise refused(source_file, "읽기 권한이 없습니다", "permission denied",
                      "파일 권한을 확인하거나 파일을 다시 복사해 주세요", "check the file's permissions or copy it again") from None
    except (IsADirectoryError, FileNotFoundError):
        raise refused(source_file, "파일이 없거나 폴더입니다", "it does not exist or is a folder",
                      "파일을 다시 제출해 주세요", "deliver the file again") from None
    except OSError as error:
        raise refused(source_file, f"파일을 열 수 없습니다({error.strerror or type(error).__name__})",
                      f"the system cannot open it ({error.strerror or type(error).__name__})",
                      "파일을 다시 복사해 주세요", "copy the file again") from None


def check_cells(grid: pl.DataFrame, source_file: str, limits: ReadLimits) -> None:
    cells = grid.height * grid.width
    if cells > limits.max_cells:
        raise refused(source_file, f"셀이 너무 많습니다({grid.height:,}행 × {grid.width:,}열, 한도 {limits.max_cells:,}셀)",
                      f"it has too many cells ({grid.height:,} rows × {grid.width:,} columns, limit {limits.max_cells:,})",
                      "파일을 기간별로 나누어 제출해 주세요", "split it into smaller deliveries (e.g. by period)")


def with_extra_fields(delivery: Delivery, grid: pl.DataFrame) -> Delivery:
    """The delivery with `extra_fields`: the non-blank cells right of the header's last cell, per row (else null)."""
    header_index = delivery.header_row - 1
    header = [(cell or "").strip() for cell in grid.row(header_index)]
    last = max((i for i, cell in enumerate(header) if cell), default=-1)
    beyond = grid.columns[last + 1:]
    frame = delivery.frame
    if beyond:
        cells = [pl.when(pl.col(c).str.strip_chars().str.len_bytes() > 0).then(pl.col(c)) for c in beyond]
        extra = (grid.slice(header_index + 1).with_row_index("source_row", offset=header_index + 2)
                 .select(pl.col("source_row").cast(pl.Int64),
                         pl.concat_str(cells, separator=EXTRA_SEPARATOR, ignore_nulls=True).alias(EXTRA_FIELDS))
                 .with_columns(pl.when(pl.col(EXTRA_FIELDS).str.len_bytes() > 0).then(pl.col(EXTRA_FIELDS))))
        frame = frame.join(extra, on="source_row", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(EXTRA_FIELDS))
    return replace(delivery, frame=frame)


def extra_field_failures(raw: pl.DataFrame) -> pl.DataFrame:
    """A row with cells right of the header's last column (`extra_fields`, see ingest.guard) fails `too_many_fields`."""
    schema = {ROW: pl.UInt32, "column": pl.String, "rule": pl.String}
    if EXTRA_FIELDS not in raw.columns:
        return pl.DataFrame(schema=schema)
    return raw.filter(pl.col(EXTRA_FIELDS).is_not_null()).select(
        pl.col(ROW), pl.lit(None, dtype=pl.String).alias("column"), pl.lit("too_many_fields").alias("rule")).cast(schema)


def echo_extra_fields(failures: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """The extra text is never cut silently: a `too_many_fields` failure echoes it (masked) as its value."""
    if EXTRA_FIELDS not in raw.columns or not failures.height:
        return failures
    extra = raw.select(ROW, mask_personal_numbers(pl.col(EXTRA_FIELDS)).alias("extra"))
    return (failures.join(extra, on=ROW, how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("rule") == "too_many_fields").then("extra").otherwise("value").alias("value"))
            .drop("extra"))
