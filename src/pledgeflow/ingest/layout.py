"""The layout of a read grid: its header, its columns and its rows, as one `Delivery`.

`build_delivery` turns a text grid (one CSV, or one sheet of a workbook) into the delivery's text frame:
the header found (ingest/shapes.py), columns named through the descriptor and its matched source profile
(ingest/profiles.py), sidecar defaults filled in (ingest/sidecar.py), and rows that are not records (blank,
repeated header, totals) set aside and counted, never lost. Every data row keeps the row number Excel shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pledgeflow.catalog import Descriptor, normalise_label
from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.profiles import UnknownColumn, aliases_for, composed_columns, known_labels, match_profile, suggest_column
from pledgeflow.ingest.shapes import HEADER_SEARCH_ROWS, ROW_KIND, Header, classify_rows, declared_totals, find_header
from pledgeflow.ingest.sidecar import Sidecar


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
    skipped_sheets: tuple[str, ...] = ()  # sheets with cells but no header: "name (N rows)", set aside and said
    profile: str | None = None
    defaults_applied: tuple[str, ...] = ()  # "column=value" set from the sidecar
    sidecar: Sidecar | None = None


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
