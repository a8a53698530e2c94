"""Workbooks: which sheets hold the data, and one delivery out of several sheets.

The descriptor may name the sheet (`sheet:`, a name or a glob such as "*교육*"); otherwise every sheet
whose first rows hold a recognisable header is read (a cover sheet or a pivot summary is not; a skipped sheet
with cells is listed in `skipped_sheets`, which the run logs as a warning: it may continue the data). When more
than one sheet is read, each row's `source_file` carries its sheet as `file.xlsx#sheet`, so that rows keep
the row number Excel shows on their own sheet and still identify one cell for the steward and for
decisions; per-file counts add them back to the file. A workbook with one data sheet (the usual case)
keeps the plain file name.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

import polars as pl

from pledgeflow.catalog import Descriptor
from pledgeflow.ingest.guard import with_extra_fields
from pledgeflow.ingest.profiles import known_labels
from pledgeflow.ingest.layout import Delivery, build_delivery, no_header_error
from pledgeflow.ingest.read import empty_file_error
from pledgeflow.ingest.shapes import find_header
from pledgeflow.ingest.sidecar import Sidecar

SHEET_SEPARATOR = "#"


def sheet_source(source_file: str, sheet: str) -> str:
    return f"{source_file}{SHEET_SEPARATOR}{sheet}"


def select_sheets(names: list[str], pattern: str | None) -> list[str]:
    """The sheets the descriptor names (exact name first, then glob), or all of them."""
    if pattern is None:
        return names
    exact = [n for n in names if n == pattern]
    return exact or [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def read_workbook(grids: dict[str, pl.DataFrame], descriptor: Descriptor, source_file: str, sidecar: Sidecar | None) -> Delivery:
    """One delivery from the sheets of a workbook that carry a header; none -> a DeliveryError that says what it saw."""
    chosen = [(name, grids[name]) for name in select_sheets(list(grids), descriptor.sheet)]
    filled = [(name, grid) for name, grid in chosen if grid.height and grid.width]
    if not filled:
        raise empty_file_error(source_file)
    known = known_labels(descriptor)
    found = [(name, grid, *find_header(grid, known)) for name, grid in filled]
    readable = [(name, grid, header) for name, grid, header, _ in found if header is not None]
    if not readable:
        seen = [(name, best) for name, _, _, best in found if best is not None]
        raise no_header_error(descriptor, source_file, [b for _, b in seen], [n for n, _ in seen])
    several = len(readable) > 1
    # a cell right of a sheet's header is kept as the row's `extra_fields` (a too_many_fields failure), never dropped
    parts = [with_extra_fields(build_delivery(grid, descriptor, sheet_source(source_file, name) if several else source_file,
                                              "xlsx", header=header, sidecar=sidecar, sheet=name), grid)
             for name, grid, header in readable]
    # a cover sheet has no header, but neither has a second sheet that continues the data: said, never silently dropped
    skipped = tuple(f"{name} ({n} rows)" for name, grid, header, _ in found if header is None and (n := rows_with_cells(grid)))
    return replace(combine_sheets(parts, source_file), skipped_sheets=skipped)


def rows_with_cells(grid: pl.DataFrame) -> int:
    """Rows holding at least one non-blank cell."""
    return grid.select(pl.any_horizontal(pl.all().cast(pl.String).str.strip_chars().str.len_bytes() > 0).fill_null(False).sum()).item()


def combine_sheets(parts: list[Delivery], source_file: str) -> Delivery:
    """Several sheets' deliveries as one: rows and counts added up, the first sheet's header row."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    unknown = {u.header: u for p in parts for u in p.unknown_columns}
    return Delivery(
        frame=pl.concat([p.frame for p in parts]),
        encoding=first.encoding,
        header_row=first.header_row,
        rows_read=sum(p.rows_read for p in parts),
        blank_rows=sum(p.blank_rows for p in parts),
        unmapped_headers=tuple(dict.fromkeys(h for p in parts for h in p.unmapped_headers)),
        total_rows=sum(p.total_rows for p in parts),
        repeated_header_rows=sum(p.repeated_header_rows for p in parts),
        rows_below_header=sum(p.rows_below_header for p in parts),
        totals=pl.concat([p.totals for p in parts if p.totals is not None]),
        unknown_columns=tuple(unknown.values()),
        sheets=tuple(s for p in parts for s in p.sheets),
        profile=first.profile,
        defaults_applied=tuple(dict.fromkeys(d for p in parts for d in p.defaults_applied)),
        sidecar=first.sidecar,
    )
