"""Whole polars frames into an xlsxwriter worksheet, without one Python call per cell.

A review pack at national scale has millions of cells, and xlsxwriter spends ~5 µs per cell in
Python (15.6 s for the 10M benchmark's pack). `FrameSheet` keeps xlsxwriter for everything else
(workbook, styles, widths, panes, filters) and renders only the rows of its frames to sheet XML
with polars expressions, copying xlsxwriter's own text handling: the same escapes, the same cut at
Excel's 32,767-unit cell limit, blanks left out. `tests/test_review.py` checks that a sheet reads
back exactly as xlsxwriter's cell-by-cell writing; it relies on xlsxwriter's private
`_write_sheet_data`, so that test is what guards an xlsxwriter upgrade.
"""

from __future__ import annotations

import polars as pl
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\ufffe": "_xFFFE_", "\uffff": "_xFFFF_"} | {
    chr(c): f"_x{c:04X}_" for c in [*range(0x09), *range(0x0B, 0x20)]}  # xlsxwriter's escapes: XML 1.0 has no control characters
CHUNK_ROWS = 20_000  # rows rendered per polars pass: bounds the memory of a sheet's XML


class FrameSheet(Worksheet):
    """An xlsxwriter worksheet that takes whole frames (`write_frame`) rather than one call per cell.

    Each frame's rows become sheet XML in vectorised polars passes when the workbook is
    saved (style ids exist only then), text as inline strings. Every cell of a FrameSheet goes through
    write_frame. (`worksheet_class` subclasses are xlsxwriter's documented extension point.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[int, pl.DataFrame, list]] = []

    def write_frame(self, first_row: int, frame: pl.DataFrame, formats: list) -> int:
        """Put `frame`'s rows from `first_row` on, column c in formats[c] (None: unformatted); returns the row after."""
        if frame.height and frame.width:
            if self._check_dimensions(first_row + frame.height - 1, frame.width - 1) or self._check_dimensions(first_row, 0):
                raise ValueError(f"{frame.height:,} rows from row {first_row + 1:,} do not fit an Excel sheet "
                                 f"({self.xls_rowmax:,} rows, {self.xls_colmax:,} columns)")
            self.frames.append((first_row, frame, formats))
        return first_row + frame.height

    def _write_sheet_data(self) -> None:
        if not self.frames:
            super()._write_sheet_data()
            return
        self._xml_start_tag("sheetData")
        for first_row, frame, formats in sorted(self.frames, key=lambda f: f[0]):
            styles = [f._get_xf_index() if f is not None else 0 for f in formats]
            for offset in range(0, frame.height, CHUNK_ROWS):
                self.fh.write(rows_xml(frame.slice(offset, CHUNK_ROWS), first_row + offset, styles))
        self._xml_end_tag("sheetData")


def cut_to_cell_limit(expr: pl.Expr) -> pl.Expr:
    """At most 32,767 UTF-16 units (Excel's limit), cut before the first character past it, as xlsxwriter cuts."""
    units = (pl.element().str.len_bytes() == 4).cast(pl.Int64) + 1  # above U+FFFF: 4 bytes in UTF-8, 2 units in UTF-16
    return expr.str.slice(0, expr.str.split("").list.eval((units.cum_sum() <= 32767).sum()).list.first())


def cell_text(expr: pl.Expr, too_long: bool) -> pl.Expr:
    """Text as xlsxwriter writes it: cut to the cell limit if `too_long`, `_xHHHH_` look-alikes escaped, then XML escapes."""
    expr = cut_to_cell_limit(expr) if too_long else expr
    return expr.str.replace_all(r"(_x[0-9a-fA-F]{4}_)", "_x005F$1").str.replace_many(XML_ESCAPES)


def rows_xml(frame: pl.DataFrame, first_row: int, styles: list[int]) -> str:
    """`<row>` elements for `frame` from 0-based `first_row`; a null is no cell (as xlsxwriter's write_blank)."""
    row = pl.int_range(first_row + 1, first_row + 1 + pl.len()).cast(pl.String)
    # only text of more than 16,383 characters can pass 32,767 UTF-16 units: cut (slow) only where some does
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    long = frame.select((pl.col(n).str.len_chars() > 16383).any() for n in texts).row(0, named=True) if texts else {}
    cells = []
    for c, (name, dtype) in enumerate(frame.schema.items()):
        ref, style = xl_col_to_name(c), f' s="{styles[c]}"' if styles[c] else ""
        if dtype.is_integer():  # what write_number writes for them; anything else is written as text
            value = [pl.lit("><v>"), pl.col(name).cast(pl.String), pl.lit("</v></c>")]
        else:
            text = pl.col(name).cast(pl.String)
            preserve = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
            value = [pl.lit(' t="inlineStr"><is><t'), preserve, pl.lit(">"), cell_text(text, bool(long.get(name))), pl.lit("</t></is></c>")]
        cells.append(pl.concat_str([pl.lit(f'<c r="{ref}'), row, pl.lit(f'"{style}'), *value]))
    xml = pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), pl.concat_str(cells, ignore_nulls=True), pl.lit("</row>")])
    return frame.select(xml.str.join("")).item()


def header_frame(cells: list[str]) -> pl.DataFrame:
    return pl.DataFrame([pl.Series(str(i), [cell], dtype=pl.String) for i, cell in enumerate(cells)])
