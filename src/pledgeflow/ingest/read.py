"""The reading stage: find delivery files under `raw/` and read each one into an all-text frame.

A delivery is read exactly as a steward would see it in Excel: every cell as text, the header found
among the first rows (real deliveries carry a title line and a blank line above it), and every data
row tagged with its file and the row number Excel shows. Typing the text (numbers, dates) is the
validation stage's job, so that a cell that does not parse becomes a failure instead of vanishing.
Problems with a whole file raise `DeliveryError` with a Korean and an English message.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from pledgeflow import storage
from pledgeflow.catalog import Descriptor
from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.bounded import read_excel_bounded
from pledgeflow.ingest.discover import (  # noqa: F401  (discovery lived here: its names stay importable)
    DELIVERIES_SCHEMA,
    discover_deliveries,
    is_clutter,
    is_delivery,
    list_delivery_files,
)
from pledgeflow.ingest.guard import check_cells, sniff_delivery, with_extra_fields
# the layout of a grid (header, columns, rows) lives in ingest/layout.py; re-exported for existing callers
from pledgeflow.ingest.layout import (  # noqa: F401
    Delivery,
    build_delivery,
    check_required,
    find_header_index,
    map_headers,
)
from pledgeflow.ingest.limits import read_limits
from pledgeflow.ingest.sidecar import load_sidecar

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
_UTF8_BOM = b"\xef\xbb\xbf"


def detect_encoding(data: bytes, *, source_file: str = "") -> str:
    """`utf-8-sig`, `utf-8` or `cp949` (never `euc-kr`, which rejects CP949-only syllables like 똠)."""
    return decode_text(data, source_file=source_file)[1]


def decode_text(data: bytes, *, source_file: str = "") -> tuple[str, str]:
    """The file's text and its encoding, decoding once (a 1 GB delivery is not decoded twice)."""
    candidates = ("utf-8-sig",) if data.startswith(_UTF8_BOM) else ("utf-8", "cp949")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise undecodable(data, source_file)


def undecodable(data: bytes, source_file: str) -> DeliveryError:
    """Why the bytes are no text we read, with the line of the first byte that is not UTF-8."""
    body = data.removeprefix(_UTF8_BOM)
    bad = {encoding: _first_bad_byte(body, encoding) for encoding in ("utf-8", "cp949")}
    if data.startswith(_UTF8_BOM) and bad["cp949"] == len(body):
        # a CP949 file with a UTF-8 byte-order mark in front (some tools add one): read as UTF-8, its Hangul would be garbage
        return DeliveryError(
            source_file,
            "파일이 UTF-8 표시(BOM)로 시작하지만 내용은 CP949(완성형 한글)입니다. 저장 도구가 표시만 붙인 것으로 보입니다. "
            "Excel에서 'CSV UTF-8'로 다시 저장해 주세요.",
            "The file starts with a UTF-8 byte-order mark but its text is CP949: a tool added the mark to a CP949 file. "
            "Re-save it from Excel as 'CSV UTF-8'.",
        )
    # the encoding that reads further is the file's, most likely, with one bad stretch: name its line
    offset, encoding = max((offset, encoding) for encoding, offset in bad.items())
    line = body[:offset].count(b"\n") + 1
    name = {"utf-8": "UTF-8", "cp949": "CP949"}[encoding]
    return DeliveryError(
        source_file,
        f"파일 인코딩을 알 수 없습니다(UTF-8도 CP949도 아님; {name}로 읽으면 {line}번째 줄에서 처음 깨짐). "
        "그 줄을 확인하거나 Excel에서 'CSV UTF-8' 또는 'CSV(쉼표로 분리)'로 다시 저장해 주세요.",
        f"Unknown text encoding (neither UTF-8 nor CP949; read as {name}, line {line} is the first that breaks). "
        "Check that line, or re-save the file from Excel as 'CSV UTF-8' or 'CSV (comma delimited)'.",
    )


def _first_bad_byte(data: bytes, encoding: str) -> int:
    """Offset of the first byte that is not text in `encoding` (the length when there is none)."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        return error.start
    return len(data)



def read_delivery(path: Path | str, descriptor: Descriptor, source_file: str) -> Delivery:
    """Read one delivery as text columns named by the descriptor, tagged with `source_file` and `source_row`.

    `path` is a local path or an fsspec URL (read whole into memory, as a local file is). The file is
    identified by its bytes first and read within the descriptor's read budget (`ingest.limits`); a workbook
    is read sheet by sheet (`ingest.sheets`), a sidecar next to the file supplies what the export cannot carry.
    """
    limits = read_limits(descriptor)
    local = not storage.is_remote(path)
    kind = sniff_delivery(path, source_file, limits)
    sidecar = load_sidecar(path, descriptor, source_file)
    if kind == "xlsx":
        source = Path(path) if local else io.BytesIO(storage.read_bytes(path))
        from pledgeflow.ingest.sheets import read_workbook  # sheets builds on this module's build_delivery

        sheets = read_excel_bounded(source, source_file, limits, sheet_id=0)
        for grid in sheets.values():
            check_cells(grid, source_file, limits)
        return read_workbook(sheets, descriptor, source_file, sidecar)
    grid, encoding = read_csv_bytes(storage.read_bytes(path), source_file)
    if grid.height == 0 or grid.width == 0:
        raise empty_file_error(source_file)
    check_cells(grid, source_file, limits)
    return with_extra_fields(build_delivery(grid, descriptor, source_file, encoding, sidecar=sidecar), grid)


def read_excel_grid(path: Path | io.BytesIO, source_file: str, sheet_id: int = 1) -> pl.DataFrame | dict[str, pl.DataFrame]:
    """The first sheet as a grid of text cells; grid row i is Excel row i + 1. `sheet_id=0`: every sheet, by name."""
    try:
        return pl.read_excel(
            path,
            sheet_id=sheet_id,
            engine="calamine",
            has_header=False,
            # skip_rows=0 keeps leading empty rows, which calamine drops otherwise: row numbers must match Excel.
            # Text dtypes give date cells as "2018-11-20 00:00:00" and whole numbers as "12".
            read_options={"skip_rows": 0, "dtypes": "string"},
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as error:  # fastexcel raises its own hierarchy for zip / XML / sheet problems
        raise DeliveryError(
            source_file,
            f"Excel 파일을 열 수 없습니다({type(error).__name__}). 파일이 손상되었거나 다른 형식입니다. "
            "Excel에서 열어 .xlsx로 다시 저장해 주세요.",
            f"Cannot open the Excel file ({type(error).__name__}): it is corrupt or not an XLSX. "
            "Open it in Excel and save it again as .xlsx.",
        ) from None


def read_csv_grid(path: Path, source_file: str) -> tuple[pl.DataFrame, str]:
    """The CSV as a grid of text cells (grid row i is what Excel shows as row i + 1) and its encoding."""
    return read_csv_bytes(Path(path).read_bytes(), source_file)


def read_csv_bytes(data: bytes, source_file: str) -> tuple[pl.DataFrame, str]:
    """`read_csv_grid` over the file's bytes (local or fetched from object storage)."""
    text, encoding = decode_text(data, source_file=source_file)
    if not text or text.isspace():
        raise empty_file_error(source_file)
    utf8 = data if encoding == "utf-8" else text.encode("utf-8")
    try:
        try:
            grid = parse_csv_grid(utf8, guess_csv_fields(text))
        except pl.exceptions.ComputeError:
            # a row further down has more fields than the first rows: count them all (slow, exact)
            grid = parse_csv_grid(utf8, count_csv_fields(text))
    except pl.exceptions.PolarsError as error:
        raise DeliveryError(
            source_file,
            f"CSV 파일을 읽을 수 없습니다({type(error).__name__}). "
            "따옴표가 짝이 맞는지 확인하거나 Excel에서 다시 저장해 주세요.",
            f"Cannot parse the CSV file ({type(error).__name__}). "
            "Check for unbalanced quotes or re-save it from Excel.",
        ) from None
    return grid, encoding


def parse_csv_grid(utf8: bytes, fields: int) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(utf8),
        has_header=False,
        schema={f"column_{i}": pl.String for i in range(fields)},
        missing_columns="insert",  # ragged rows: short rows are padded with nulls
    )


def guess_csv_fields(text: str, head_chars: int = 1 << 16) -> int:
    """`count_csv_fields` over the first complete lines only: polars refuses a later row with more
    fields, and the caller then counts them all. A head that cuts a quoted cell is counted whole."""
    head = text[:head_chars]
    cut = head.rfind("\n")
    head = head[:cut] if cut > 0 and len(text) > head_chars else head
    return count_csv_fields(head if head.count('"') % 2 == 0 else text)


def fields_per_line(text: str) -> pl.Series:
    """Fields on each line: commas once quoted cells (which may hold commas or line breaks) are taken out."""
    return pl.Series([text]).str.replace_all(r'"[^"]*"', "").str.split("\n").explode().str.count_matches(",", literal=True) + 1


def count_csv_fields(text: str) -> int:
    """The most fields any record has. polars sizes the grid by the first line (a title), so it needs this."""
    return int(fields_per_line(text).max() or 1)


def empty_file_error(source_file: str) -> DeliveryError:
    return DeliveryError(
        source_file,
        "빈 파일입니다. 내용이 있는 파일을 다시 제출해 주세요.",
        "The file is empty. Please deliver the file again with its content.",
    )
