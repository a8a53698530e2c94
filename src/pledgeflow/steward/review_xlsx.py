"""The review pack's workbook: a summary sheet, then one sheet per dataset, ready to print.

Landscape A4, fit to the page width, header rows repeated on every page, 맑은 고딕; text cells are
`quote_prefix` so Excel keeps them text even after an edit. Cells are rendered to sheet XML by polars
(`pledgeflow.steward.xlsx_frames`), never one call per cell. Identical inputs give identical bytes.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from pledgeflow.steward.howto import INTRO_EN, INTRO_KO
from pledgeflow.steward.review_html import Table
from pledgeflow.steward.xlsx_frames import FrameSheet, header_frame

# a fixed creation date: xlsxwriter would otherwise stamp the wall clock and no two packs would match
FIXED_CREATED = datetime(2000, 1, 1)
FONT = "맑은 고딕"  # Malgun Gothic: the Korean government's standard screen font (Calibri has no Hangul)
A4 = 9  # xlsxwriter's paper code
WRAPPED = {"message_ko", "message_en", "messages_ko", "messages_en", "corrections", "what_ko", "what_en", "command", "ledger_row"}


def column_widths(table: Table) -> list[float]:
    """Excel column widths from the longest text (Hangul counts double), capped so messages wrap."""
    if not table.frame.width:
        return []
    text = [pl.col(c).cast(pl.String).fill_null("") for c in table.frame.columns]
    longest = table.frame.select([(t.str.len_chars() + t.str.count_matches(r"[^\x00-\x7F]")).max().alias(str(i))
                                  for i, t in enumerate(text)]).row(0) if table.frame.height else [0] * table.frame.width
    heads = [max(len(ko) * 2, len(en)) for ko, en in table.headers]
    return [min(max(int(w or 0), h, 6) + 2, 50) for w, h in zip(longest, heads)]


def sheet_name(title: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name (≤31 characters, none of []:*?/\\)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "sheet"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]}~{n}"
    used.add(name.lower())
    return name


def cell_formats(table: Table, formats: dict) -> list:
    """Per column: wrap or plain text format for text, none for numbers (as write_number)."""
    return [None if dtype.is_integer() else formats["wrap"] if name in WRAPPED else formats["text"]
            for name, dtype in table.frame.schema.items()]


def set_print_layout(sheet, header_rows: int | None = None) -> None:
    """Landscape A4, fit to the page width (as many pages down as needed), header rows on every page."""
    sheet.set_landscape()
    sheet.set_paper(A4)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    if header_rows:
        sheet.repeat_rows(0, header_rows - 1)


def write_summary_sheet(workbook, formats: dict, tables: list[Table], run_id: str, blocked_reason: str | None) -> None:
    sheet = workbook.add_worksheet("요약 Summary", worksheet_class=FrameSheet)
    sheet.write_frame(0, header_frame(["검증 실패 검토 자료 (Validation review pack)"]), [formats["title"]])
    sheet.write_frame(1, header_frame([f"실행 (Run): {run_id}"]), [None])
    sheet.write_frame(2, header_frame([blocked_note(blocked_reason) if blocked_reason else INTRO_KO]),
                      [formats["alert"] if blocked_reason else None])
    sheet.write_frame(3, header_frame([INTRO_KO if blocked_reason else INTRO_EN]), [None])
    row, widths = 5, [0.0] * max(t.frame.width for t in tables)
    for table in tables:
        sheet.write_frame(row, header_frame([f"{table.title_ko} ({table.title_en})"]), [formats["subtitle"]])
        heads = [f"{ko} ({en})" if ko != en else ko for ko, en in table.headers]
        sheet.write_frame(row + 1, header_frame(heads), [formats["head_ko"]] * len(heads))
        row = sheet.write_frame(row + 2, table.frame, cell_formats(table, formats)) + 1
        widths = [max(w, x) for w, x in zip(widths, column_widths(table) + [0.0] * len(widths))]
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    set_print_layout(sheet)


def blocked_note(reason: str) -> str:
    return (f"이 실행은 자료 문제로 차단되어 아무것도 게시되지 않았습니다: {reason}. 아래 실패를 처리한 뒤 다시 실행하세요. "
            f"(This run was blocked by its data and published nothing: {reason}.)")


def write_dataset_sheet(workbook, formats: dict, table: Table, name: str, whole: str = "validation_failures") -> None:
    """Korean headers in row 1, English names in row 2, then one row per record (`whole`: the table that has them all)."""
    sheet = workbook.add_worksheet(name, worksheet_class=FrameSheet)
    sheet.write_frame(0, header_frame([ko for ko, _ in table.headers]), [formats["head_ko"]] * len(table.headers))
    sheet.write_frame(1, header_frame([en for _, en in table.headers]), [formats["head_en"]] * len(table.headers))
    fits = sheet.xls_rowmax - 3  # two header rows and a note
    last = sheet.write_frame(2, table.frame.head(fits), cell_formats(table, formats))
    if table.frame.height > fits:  # the validation_failures table keeps every record
        more = table.frame.height - fits
        sheet.write_frame(last, header_frame([f"… {more:,}건 더: 전체 목록은 {whole} 표 "
                                              f"({more:,} more: see the {whole} table)"]), [None])
    for c, width in enumerate(column_widths(table)):
        sheet.set_column(c, c, width)
    sheet.freeze_panes(2, 2)
    sheet.autofilter(1, 0, max(last - 1, 1), table.frame.width - 1)
    set_print_layout(sheet, header_rows=2)


def write_workbook(path: Path, summary: list[Table], per_dataset: list[Table], run_id: str,
                   blocked_reason: str | None = None, listed: list[Table] = ()) -> None:
    """The summary sheet, a sheet per dataset's failing records, then a sheet per `listed` table (unassigned records)."""
    # in_memory: zip entries get a fixed timestamp (temp files would carry the wall clock)
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
               "default_format_properties": {"font_name": FONT, "font_size": 10}}
    workbook = xlsxwriter.Workbook(str(path), options)
    workbook.set_properties({"title": f"검증 실패 검토 자료 {run_id}", "created": FIXED_CREATED})
    base = {"font_name": FONT, "font_size": 10}
    head = base | {"bold": True, "bg_color": "#DDE7F0", "border": 1, "text_wrap": True, "valign": "top"}
    # quote_prefix: a text cell stays text even when a steward edits it ("-", "=1+1", "20. 10. 12.")
    text = base | {"valign": "top", "quote_prefix": True}
    formats = {
        "title": workbook.add_format(base | {"bold": True, "font_size": 14}),
        "subtitle": workbook.add_format(base | {"bold": True, "font_size": 12}),
        "alert": workbook.add_format(base | {"bold": True, "font_color": "#B00020"}),
        "head_ko": workbook.add_format(head),
        "head_en": workbook.add_format(head | {"bold": False, "italic": True, "font_color": "#555555"}),
        "text": workbook.add_format(text),
        "wrap": workbook.add_format(text | {"text_wrap": True}),
    }
    write_summary_sheet(workbook, formats, summary, run_id, blocked_reason)
    used = {"요약 summary"}
    for table in per_dataset:
        write_dataset_sheet(workbook, formats, table, sheet_name(table.title_ko, used))
    for table in listed:
        write_dataset_sheet(workbook, formats, table, sheet_name(table.title_ko, used), whole="unassigned_records")
    workbook.close()
