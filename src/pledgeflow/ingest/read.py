"""The reading stage: find delivery files under `raw/` and read each one into an all-text frame.

A delivery is read exactly as a steward would see it in Excel: every cell as text, the header found
among the first rows (real deliveries carry a title line and a blank line above it), and every data
row tagged with its file and the row number Excel shows. Typing the text (numbers, dates) is the
validation stage's job, so that a cell that does not parse becomes a failure instead of vanishing.
Problems with a whole file raise `DeliveryError` with a Korean and an English message.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

import polars as pl

from pledgeflow import storage
from pledgeflow.catalog import DATASETS, Catalog, Descriptor, normalise_label, normalise_label_expr
from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.profiles import UnknownColumn, aliases_for, composed_columns, known_labels, match_profile, suggest_column
from pledgeflow.ingest.shapes import HEADER_SEARCH_ROWS, ROW_KIND, Header, classify_rows, declared_totals, find_header
from pledgeflow.ingest.sidecar import Sidecar, load_sidecar

# One row per delivery file; `source_file` is the posix path relative to raw/, as in every later table.
DELIVERIES_SCHEMA = {
    "dataset": pl.String,
    "source_file": pl.String,
    "path": pl.String,
    "size_bytes": pl.Int64,
    "sha256": pl.String,
}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
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
    total_rows: int = 0
    repeated_header_rows: int = 0
    rows_below_header: int = 0  # every grid row under the header: data + totals + repeated headers + blank
    totals: pl.DataFrame | None = None  # declared totals: source_file, source_row, label, column, declared
    unknown_columns: tuple[UnknownColumn, ...] = ()
    sheets: tuple[str, ...] = ()
    profile: str | None = None
    defaults_applied: tuple[str, ...] = ()  # "column=value" set from the sidecar
    sidecar: Sidecar | None = None


def discover_deliveries(raw_dir: Path | str, catalog: Catalog) -> pl.DataFrame:
    """One row per delivery file under each dataset's folder, with its size and content hash.

    `raw_dir` may be an fsspec URL (`s3://bucket/raw`): `path` is then the file's URL.
    """
    describe = describe_remote if storage.is_remote(raw_dir) else describe_local
    rows = [
        row
        for dataset in DATASETS
        if dataset in catalog.descriptors
        for row in describe(raw_dir, dataset, catalog.descriptors[dataset])
    ]
    return pl.DataFrame(rows, schema=DELIVERIES_SCHEMA, orient="row").sort(
        pl.col("dataset").replace_strict({d: i for i, d in enumerate(DATASETS)}, return_dtype=pl.Int32),
        "source_file",
    )


def describe_local(raw_dir: Path | str, dataset: str, descriptor: Descriptor) -> list[tuple]:
    raw_dir = Path(raw_dir)
    return [describe_file(raw_dir, dataset, path) for path in list_delivery_files(raw_dir / descriptor.folder, descriptor)]


def describe_remote(raw_dir: str, dataset: str, descriptor: Descriptor) -> list[tuple]:
    """The same rows for an fsspec location: source_file is relative to raw_dir, path is the file's URL."""
    folder = storage.join(raw_dir, descriptor.folder)
    return [
        (dataset, f"{descriptor.folder}/{relative}", url, storage.file_size(url), storage.sha256(url))
        for url, relative in storage.list_files(folder)
        if is_delivery(PurePosixPath(relative), descriptor)
    ]


def is_delivery(relative: PurePath, descriptor: Descriptor) -> bool:
    patterns = [p.lower() for p in descriptor.file_patterns]
    return not is_clutter(relative) and any(fnmatch.fnmatchcase(relative.name.lower(), p) for p in patterns)


def list_delivery_files(folder: Path, descriptor: Descriptor) -> list[Path]:
    """Files under `folder` matching the descriptor's patterns (case-insensitively), minus clutter."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*") if path.is_file() and is_delivery(path.relative_to(folder), descriptor))


def is_clutter(relative: PurePath) -> bool:
    """Hidden files and folders, READMEs and Excel's `~$` lock files are not deliveries."""
    name = relative.name
    hidden = any(part.startswith(".") for part in relative.parts)
    return hidden or name.lower().startswith("readme") or name.startswith("~$")


def describe_file(raw_dir: Path, dataset: str, path: Path) -> tuple:
    return (dataset, path.relative_to(raw_dir).as_posix(), str(path), path.stat().st_size, hash_file(path))


def hash_file(path: Path) -> str:
    """SHA-256 of the file's bytes, streamed so multi-GB deliveries do not fill memory."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


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

    `path` is a local path or an fsspec URL (read whole into memory, as a local file is).
    """
    if storage.file_size(path) == 0:
        raise empty_file_error(source_file)
    local = not storage.is_remote(path)
    sidecar = load_sidecar(path, descriptor, source_file)
    if PurePosixPath(str(path)).suffix.lower() in EXCEL_SUFFIXES:
        source = Path(path) if local else io.BytesIO(storage.read_bytes(path))
        from pledgeflow.ingest.sheets import read_workbook  # sheets builds on this module's build_delivery

        return read_workbook(read_excel_grid(source, source_file, sheet_id=0), descriptor, source_file, sidecar)
    grid, encoding = read_csv_bytes(storage.read_bytes(path), source_file)
    if grid.height == 0 or grid.width == 0:
        raise empty_file_error(source_file)
    return build_delivery(grid, descriptor, source_file, encoding, sidecar=sidecar)


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


def build_delivery(grid: pl.DataFrame, descriptor: Descriptor, source_file: str, encoding: str, *,
                   header: Header | None = None, sidecar: Sidecar | None = None, sheet: str | None = None) -> Delivery:
    """Find the header, name the columns, set aside blank, repeated-header and totals rows, tag rows with their Excel row."""
    header = header or locate_header(grid, descriptor, source_file)
    profile = match_profile(list(header.labels), descriptor)
    composed, sources = compose_expressions(header, grid.columns, profile)
    mapping, unmapped = map_headers(list(header.labels), grid.columns, descriptor, source_file,
                                    aliases_for(descriptor, profile), skip=sources)
    named = set(mapping.values()) | set(composed)
    defaults = {n: v for n, v in (sidecar.defaults if sidecar else {}).items() if n not in named}
    check_required(named | set(defaults), descriptor, source_file)
    data = grid.slice(header.index + 1).with_row_index("source_row", offset=header.index + 2)
    kinds = classify_rows(data, grid.columns, header, mapping, descriptor)
    kept = kinds.filter(pl.col(ROW_KIND) == "data")
    counted = dict(kinds.group_by(ROW_KIND).len().iter_rows())
    values = {**{name: pl.col(raw) for raw, name in mapping.items()}, **composed,
              **{name: pl.lit(value, dtype=pl.String) for name, value in defaults.items()}}
    frame = kept.select(
        *(values.get(c.name, pl.lit(None, dtype=pl.String)).cast(pl.String).alias(c.name) for c in descriptor.columns),
        pl.lit(source_file, dtype=pl.String).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
    )
    totals = declared_totals(kinds.filter(pl.col(ROW_KIND) == "total").drop(ROW_KIND), mapping, descriptor)
    return Delivery(
        frame=frame,  # already in source_row order: numbered, then filtered
        encoding=encoding,
        header_row=header.excel_row,
        rows_read=kept.height,
        blank_rows=counted.get("blank", 0),
        unmapped_headers=tuple(unmapped),
        total_rows=counted.get("total", 0),
        repeated_header_rows=counted.get("repeated_header", 0),
        rows_below_header=data.height,
        totals=totals.with_columns(pl.lit(source_file).alias("source_file")),
        unknown_columns=tuple(suggest_column(h, descriptor) for h in unmapped),
        sheets=(sheet,) if sheet else (),
        profile=(profile or {}).get("name"),
        defaults_applied=tuple(f"{name}={value}" for name, value in sorted(defaults.items())),
        sidecar=sidecar,
    )


def locate_header(grid: pl.DataFrame, descriptor: Descriptor, source_file: str) -> Header:
    header, best = find_header(grid, known_labels(descriptor))
    if header is None:
        raise no_header_error(descriptor, source_file, [best] if best else [])
    return header


def find_header_index(grid: pl.DataFrame, descriptor: Descriptor, source_file: str) -> int:
    """0-based grid index of the (last row of the) header among the first 10 rows."""
    return locate_header(grid, descriptor, source_file).index


def no_header_error(descriptor: Descriptor, source_file: str, seen: list[Header], sheets: list[str] | None = None) -> DeliveryError:
    """No header row: name the columns expected and the best candidate row seen (sheet, row, its labels)."""
    required = [c for c in descriptor.columns if c.required]
    best = max(seen, key=lambda h: h.matches) if seen else None
    where = f"{sheets[seen.index(best)]!r} " if best and sheets else ""
    cells = ", ".join(label for label in best.labels if label)[:120] if best else ""
    saw_ko = f" 가장 비슷한 행: {where}{best.excel_row}행({cells})." if best and cells else ""
    saw_en = f" Closest row: {where}row {best.excel_row} ({cells})." if best and cells else ""
    return DeliveryError(
        source_file,
        f"처음 {HEADER_SEARCH_ROWS}행에서 머리글 행을 찾지 못했습니다. '{descriptor.title_ko}' 양식의 "
        f"열 이름({', '.join(c.label_ko for c in required)})이 있는 행을 확인해 주세요.{saw_ko}",
        f"No header row in the first {HEADER_SEARCH_ROWS} rows. Check that the {descriptor.title_en} file "
        f"has a row with its column names ({', '.join(c.name for c in required)}).{saw_en}",
    )


def compose_expressions(header: Header, grid_columns: list[str], profile: dict | None) -> tuple[dict[str, pl.Expr], set[str]]:
    """Columns a profile composes from several source columns (훈련과정ID + 회차 -> cohort_id), and the labels used."""
    where = {normalise_label(label): column for label, column in zip(header.labels, grid_columns) if label}
    exprs, used = {}, set()
    for name, (sources, separator) in composed_columns(profile).items():
        if all(s in where for s in sources):
            parts = [pl.col(where[s]).cast(pl.String).str.strip_chars() for s in sources]
            exprs[name] = pl.when(pl.all_horizontal(p.is_not_null() & (p != "") for p in parts)).then(
                pl.concat_str(parts, separator=separator))
            used |= set(sources)
    return exprs, used


def map_headers(
    cells: list[str | None], grid_columns: list[str], descriptor: Descriptor, source_file: str,
    aliases: dict[str, str] | None = None, skip: set[str] = frozenset(),
) -> tuple[dict[str, str], list[str]]:
    """Grid column -> canonical name for recognised header cells, and the header texts not recognised.

    `aliases` defaults to the descriptor's; `skip`: normalised labels used otherwise (composed columns)."""
    aliases = aliases or descriptor.header_aliases
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for grid_column, cell in zip(grid_columns, cells):
        label = (cell or "").strip()
        if not label or normalise_label(label) in skip:
            continue
        name = aliases.get(normalise_label(label))
        if name is None:
            unmapped.append(label)
        elif name in mapping.values():
            raise duplicate_column_error(descriptor, name, source_file)
        else:
            mapping[grid_column] = name
    return mapping, unmapped


def check_required(named: set[str], descriptor: Descriptor, source_file: str) -> None:
    missing = [c for c in descriptor.columns if c.required and c.name not in named]
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
