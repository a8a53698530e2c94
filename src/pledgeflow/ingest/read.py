"""The reading stage: read each delivery file (found by `ingest.discover`) into an all-text frame.

A delivery is read exactly as a steward would see it in Excel: every cell as text, the header found
among the first rows (real deliveries carry a title line and a blank line above it), and every data
row tagged with its file and the row number Excel shows. Typing the text (numbers, dates) is the
validation stage's job, so that a cell that does not parse becomes a failure instead of vanishing.
Problems with a whole file raise `DeliveryError` with a Korean and an English message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pledgeflow import storage
from pledgeflow.catalog import Descriptor, normalise_label, normalise_label_expr
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
from pledgeflow.ingest.limits import read_limits

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
# Real deliveries put a title line and a blank line above the header; 10 rows leaves room for more.
HEADER_SEARCH_ROWS = 10
MIN_HEADER_MATCHES = 2
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Delivery:
    """One delivery file read as text, with the facts the run manifest and the steward need."""

    frame: pl.DataFrame
    encoding: str
    header_row: int
    rows_read: int
    blank_rows: int
    unmapped_headers: tuple[str, ...]


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
    raise DeliveryError(
        source_file,
        "파일 인코딩을 알 수 없습니다(UTF-8도 CP949도 아님). "
        "Excel에서 'CSV UTF-8' 또는 'CSV(쉼표로 분리)'로 다시 저장해 주세요.",
        "Unknown text encoding (neither UTF-8 nor CP949). "
        "Re-save it from Excel as 'CSV UTF-8' or 'CSV (comma delimited)'.",
    )


def read_delivery(path: Path | str, descriptor: Descriptor, source_file: str) -> Delivery:
    """Read one delivery as text columns named by the descriptor, tagged with `source_file` and `source_row`.

    `path` is a local path or an fsspec URL (read whole into memory, as a local file is). The file is
    identified by its bytes first and read within the descriptor's read budget (`ingest.limits`).
    """
    limits = read_limits(descriptor)
    local = not storage.is_remote(path)
    kind = sniff_delivery(path, source_file, limits)
    if kind == "xlsx":
        source = Path(path) if local else io.BytesIO(storage.read_bytes(path))
        grid, encoding = read_excel_bounded(source, source_file, limits), "xlsx"
    else:
        grid, encoding = read_csv_bytes(storage.read_bytes(path), source_file)
    if grid.height == 0 or grid.width == 0:
        raise empty_file_error(source_file)
    check_cells(grid, source_file, limits)
    return with_extra_fields(build_delivery(grid, descriptor, source_file, encoding), grid)


def read_excel_grid(path: Path | io.BytesIO, source_file: str) -> pl.DataFrame:
    """The first sheet as a grid of text cells; grid row i is Excel row i + 1."""
    try:
        return pl.read_excel(
            path,
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


def build_delivery(grid: pl.DataFrame, descriptor: Descriptor, source_file: str, encoding: str) -> Delivery:
    """Find the header, name the columns, drop blank rows and tag each row with its Excel row number."""
    header_index = find_header_index(grid, descriptor, source_file)
    header_cells = list(grid.row(header_index))
    mapping, unmapped = map_headers(header_cells, grid.columns, descriptor, source_file)
    check_required(mapping, descriptor, source_file)
    data = grid.slice(header_index + 1).with_row_index("source_row", offset=header_index + 2)
    # a cell is blank when nothing but whitespace is left (strip_chars also strips no-break spaces)
    blank = pl.all_horizontal([pl.col(c).cast(pl.String).str.strip_chars().str.len_bytes().fill_null(0) == 0 for c in grid.columns])
    kept = data.filter(~blank)
    frame = kept.select(
        *(pl.col(raw).alias(name) for raw, name in mapping.items()),
        *(pl.lit(None, dtype=pl.String).alias(c.name) for c in descriptor.columns if c.name not in mapping.values()),
        pl.lit(source_file, dtype=pl.String).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
    ).select(*(c.name for c in descriptor.columns), "source_file", "source_row")
    return Delivery(
        frame=frame,  # already in source_row order: numbered, then filtered
        encoding=encoding,
        header_row=header_index + 1,
        rows_read=kept.height,
        blank_rows=data.height - kept.height,
        unmapped_headers=tuple(unmapped),
    )


def find_header_index(grid: pl.DataFrame, descriptor: Descriptor, source_file: str) -> int:
    """0-based grid index of the first row (of the first 10) with at least two known header labels."""
    known = list(descriptor.header_aliases)
    matches = (
        grid.head(HEADER_SEARCH_ROWS)
        .with_row_index("grid_row")
        .unpivot(index="grid_row", value_name="cell")
        .filter(normalise_label_expr(pl.col("cell")).is_in(known))
        .group_by("grid_row")
        .agg(pl.len().alias("matches"))
        .filter(pl.col("matches") >= MIN_HEADER_MATCHES)
    )
    if matches.height == 0:
        required = [c for c in descriptor.columns if c.required]
        raise DeliveryError(
            source_file,
            f"처음 {HEADER_SEARCH_ROWS}행에서 머리글 행을 찾지 못했습니다. '{descriptor.title_ko}' 양식의 "
            f"열 이름({', '.join(c.label_ko for c in required)})이 있는 행을 확인해 주세요.",
            f"No header row in the first {HEADER_SEARCH_ROWS} rows. Check that the {descriptor.title_en} file "
            f"has a row with its column names ({', '.join(c.name for c in required)}).",
        )
    return int(matches["grid_row"].min())


def map_headers(
    cells: list[str | None], grid_columns: list[str], descriptor: Descriptor, source_file: str
) -> tuple[dict[str, str], list[str]]:
    """Grid column -> canonical name for recognised header cells, and the header texts not recognised."""
    aliases = descriptor.header_aliases
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for grid_column, cell in zip(grid_columns, cells):
        label = (cell or "").strip()
        if not label:
            continue
        name = aliases.get(normalise_label(label))
        if name is None:
            unmapped.append(label)
        elif name in mapping.values():
            raise duplicate_column_error(descriptor, name, source_file)
        else:
            mapping[grid_column] = name
    return mapping, unmapped


def check_required(mapping: dict[str, str], descriptor: Descriptor, source_file: str) -> None:
    missing = [c for c in descriptor.columns if c.required and c.name not in mapping.values()]
    if not missing:
        return
    names_ko = ", ".join(f"'{c.label_ko}'" for c in missing)
    names_en = ", ".join(f"{c.name} ('{c.label_ko}')" for c in missing)
    raise DeliveryError(
        source_file,
        f"필수 열이 없습니다: {names_ko}. 머리글 행에 이 열을 추가하거나, 열 이름을 양식의 이름으로 고쳐 주세요.",
        f"Required column(s) missing: {names_en}. Add the column(s) to the header row, "
        "or rename them to the names the template uses.",
    )


def duplicate_column_error(descriptor: Descriptor, name: str, source_file: str) -> DeliveryError:
    label = descriptor.column(name).label_ko
    return DeliveryError(
        source_file,
        f"'{label}' 열이 두 번 이상 있습니다(다른 이름 포함). 하나만 남겨 주세요.",
        f"Column {name} ('{label}') appears more than once (possibly under another name). Keep only one.",
    )


def empty_file_error(source_file: str) -> DeliveryError:
    return DeliveryError(
        source_file,
        "빈 파일입니다. 내용이 있는 파일을 다시 제출해 주세요.",
        "The file is empty. Please deliver the file again with its content.",
    )
