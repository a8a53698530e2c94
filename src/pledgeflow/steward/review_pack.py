"""The data steward's review pack: one Excel workbook and one offline HTML page per run.

Both files show the same content: a summary (failures by dataset and rule, by state, and the trend
across runs when given) and, per dataset, one row per failing record with its values as delivered,
the file and the row number a steward sees in that file, and every rule the record broke.

Everything exported passes two vectorised guards first: `mask_personal_numbers` (the pipeline has
masked already; this is the last line of defence) and `neutralise_formula`, which puts a `'` before
any text starting with `=`, `+`, `-`, `@`, tab or CR so that no spreadsheet executes it — the HTML
too, because stewards paste it into Excel. A delivered "-" (none) therefore shows as "'-".
The HTML page is written by `pledgeflow.steward.review_html`, which also holds the `Table` both writers take.
The workbook's cells are rendered to sheet XML by polars (`pledgeflow.steward.xlsx_frames`), never one call per cell.
Identical inputs give identical bytes.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from pledgeflow.catalog import Catalog, Descriptor, pseudonym_column
from pledgeflow.contracts import conform
from pledgeflow.privacy import mask_personal_numbers
from pledgeflow.steward.review_html import LIST_SEPARATOR, STATES, Table, write_html
from pledgeflow.steward.xlsx_frames import FrameSheet, header_frame

WORKBOOK_FILE = "review_pack.xlsx"
UNASSIGNED_LISTED = 1_000  # records listed in the pack; the curated table has them all
HTML_FILE = "review_pack.html"
# a fixed creation date: xlsxwriter would otherwise stamp the wall clock and no two packs would match
FIXED_CREATED = datetime(2000, 1, 1)
RECORD_KEYS = ["source_file", "source_row"]
SUMMARY_STATES = ("new", "persisting", "waived", "corrected")
DELIVERED_PREFIX = "delivered."  # keeps delivered columns apart from the pack's own columns
LABELS = {  # column -> (Korean, English) header
    "dataset": ("데이터셋", "dataset"), "dataset_title_ko": ("자료명", "title"), "rule": ("규칙", "rule"),
    "severity": ("심각도", "severity"), "message_ko": ("안내(한국어)", "message (Korean)"),
    "message_en": ("안내(영어)", "message (English)"), "records": ("실패 레코드 수", "failing records"),
    "failures": ("실패 건수", "failures"), "run_number": ("실행 번호", "run"),
    "source_file": ("파일", "file"), "source_row": ("행 번호", "row"), "record_id": ("레코드 ID", "record_id"),
    "record_key": ("레코드 키", "record_key"), "columns": ("오류 항목", "columns"), "rules": ("위반 규칙", "rules"),
    "messages_ko": ("안내(한국어)", "messages (Korean)"), "messages_en": ("안내(영어)", "messages (English)"),
    "states": ("상태", "states"), "fingerprints": ("실패 지문", "fingerprints"),
} | {state: (ko, state) for state, ko in STATES.items()}
WRAPPED = {"message_ko", "message_en", "messages_ko", "messages_en"}


def neutralise_formula(expr: pl.Expr) -> pl.Expr:
    """Text that a spreadsheet would run as a formula gets a leading `'`; null stays null."""
    return pl.when(expr.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + expr).otherwise(expr)


def make_export_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Mask personal numbers, then neutralise formulas, in every String column."""
    text = pl.col(pl.String)
    return frame.with_columns(neutralise_formula(mask_personal_numbers(text)).name.keep())


def strip_column_prefix(expr: pl.Expr) -> pl.Expr:
    """'[채용일] 날짜로…' -> '날짜로…': the rule's message without the cell it was raised on."""
    return expr.str.replace(r"^\[[^\]]*\] ", "")


def prepare_failures(failures: pl.DataFrame, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The failures in the published contract's shape, in the pack's order."""
    return conform(failures, contract).sort(
        ["dataset", *RECORD_KEYS, "column", "rule"], nulls_last=True
    )


def count_failures(failures: pl.DataFrame) -> list[pl.Expr]:
    """Failing records, failures, and failures per state: the four a steward always sees, then any other present."""
    present = failures.get_column("state").drop_nulls().unique().sort().to_list()
    states = [*SUMMARY_STATES, *[s for s in present if s not in SUMMARY_STATES]]
    return [
        pl.struct(RECORD_KEYS).n_unique().cast(pl.Int64).alias("records"),
        pl.len().cast(pl.Int64).alias("failures"),
        *[(pl.col("state") == s).sum().cast(pl.Int64).alias(s) for s in states],
    ]


def summarise_rules(failures: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Failures counted by dataset and rule, with the rule's messages and counts per state."""
    titles = {d: desc.title_ko for d, desc in catalog.descriptors.items()}
    return (
        failures.group_by("dataset", "rule", maintain_order=True)
        .agg(
            pl.col("severity").first(),
            strip_column_prefix(pl.col("message_ko")).first(),
            strip_column_prefix(pl.col("message_en")).first(),
            *count_failures(failures),
        )
        .with_columns(pl.col("dataset").replace_strict(titles, default=None, return_dtype=pl.String).alias("dataset_title_ko"))
        .select("dataset", "dataset_title_ko", pl.exclude("dataset", "dataset_title_ko"))
        .sort("dataset", "rule")
    )


def summarise_datasets(failures: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Totals per dataset (every dataset of the catalog, zero when it has no failure)."""
    datasets = pl.DataFrame(
        {"dataset": list(catalog.descriptors), "dataset_title_ko": [d.title_ko for d in catalog.descriptors.values()]}
    )
    totals = failures.group_by("dataset").agg(*count_failures(failures))
    counts = [c for c in totals.columns if c != "dataset"]
    return datasets.join(totals, on="dataset", how="left").with_columns(pl.col(counts).fill_null(0)).sort("dataset")


def delivered_columns(descriptor: Descriptor) -> list[tuple[str, str]]:
    """(column in the delivered view, Korean header) in delivery order; person keys show their pseudonym."""
    return [(pseudonym_column(c.name) if c.personal == "pseudonymise" else c.name, c.label_ko) for c in descriptor.columns]


def collect_failing_records(failures: pl.DataFrame, delivered: pl.DataFrame | None, descriptor: Descriptor) -> pl.DataFrame:
    """One row per failing record of one dataset: where it is, its values as delivered, what it broke.

    The rules, states and fingerprints lists are aligned: the n-th state and fingerprint belong to the
    n-th rule. A file-level failure (no row) is one record per file with no values.
    """
    joined = LIST_SEPARATOR  # rules, states and fingerprints; messages go one per line
    records = (
        failures.filter(pl.col("dataset") == descriptor.dataset)
        .group_by(RECORD_KEYS, maintain_order=True)
        .agg(
            pl.col("record_id").drop_nulls().first(),
            pl.col("record_key").drop_nulls().first(),
            pl.col("column").drop_nulls().unique(maintain_order=True).str.join(joined).alias("columns"),
            pl.col("rule").fill_null("").str.join(joined).alias("rules"),
            pl.col("message_ko").fill_null("").str.join("\n").alias("messages_ko"),
            pl.col("message_en").fill_null("").str.join("\n").alias("messages_en"),
            pl.col("state").fill_null("").str.join(joined).alias("states"),
            pl.col("fingerprint").fill_null("").str.join(joined).alias("fingerprints"),
        )
    )
    names = [name for name, _ in delivered_columns(descriptor)]
    frame = delivered if delivered is not None and delivered.width else pl.DataFrame(schema=dict.fromkeys(RECORD_KEYS, pl.String))
    values = (
        conform(frame, {"source_file": pl.String, "source_row": pl.Int64, **dict.fromkeys(names, pl.String)})
        .sort(RECORD_KEYS, nulls_last=True)
        .unique(subset=RECORD_KEYS, keep="first", maintain_order=True)
        .rename({n: DELIVERED_PREFIX + n for n in names})
    )
    return (
        records.join(values, on=RECORD_KEYS, how="left")
        .select(*RECORD_KEYS, "record_id", "record_key", pl.col(f"^{DELIVERED_PREFIX}.*$"),
                "columns", "rules", "messages_ko", "messages_en", "states", "fingerprints")
        .sort(RECORD_KEYS, nulls_last=True)
    )


def headers_for(frame: pl.DataFrame, descriptor: Descriptor | None = None) -> tuple[tuple[str, str], ...]:
    delivered = {DELIVERED_PREFIX + n: (ko, n) for n, ko in delivered_columns(descriptor)} if descriptor else {}
    return tuple(delivered.get(c) or LABELS.get(c, (c, c)) for c in frame.columns)


def build_tables(failures: pl.DataFrame, delivered: dict[str, pl.DataFrame], catalog: Catalog,
                 trend: pl.DataFrame | None) -> tuple[list[Table], list[Table]]:
    """(summary tables, one record table per dataset), export-safe."""
    parts = [
        ("데이터셋별 합계", "Totals by dataset", summarise_datasets(failures, catalog)),
        ("데이터셋·규칙별 실패", "Failures by dataset and rule", summarise_rules(failures, catalog)),
    ]
    if trend is not None:
        parts.append(("실행별 추이", "Trend across runs", trend.sort(["run_number", "dataset"])))
    summary = [Table(ko, en, make_export_safe(frame), headers_for(frame)) for ko, en, frame in parts]
    per_dataset = []
    for name, descriptor in catalog.descriptors.items():
        records = collect_failing_records(failures, delivered.get(name), descriptor)
        per_dataset.append(Table(descriptor.title_ko, descriptor.title_en, make_export_safe(records),
                                 headers_for(records, descriptor)))
    return summary, per_dataset


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


def write_summary_sheet(workbook, formats: dict, tables: list[Table], run_id: str) -> None:
    sheet = workbook.add_worksheet("요약 Summary", worksheet_class=FrameSheet)
    sheet.write_frame(0, header_frame(["검증 실패 검토 자료 (Validation review pack)"]), [formats["title"]])
    sheet.write_frame(1, header_frame([f"실행 (Run): {run_id}"]), [None])
    sheet.write_frame(2, header_frame(["수식으로 보이는 값은 앞에 ' 를 붙였습니다 (values that look like formulas start with ')."]), [None])
    row, widths = 4, [0.0] * max(t.frame.width for t in tables)
    for table in tables:
        sheet.write_frame(row, header_frame([f"{table.title_ko} ({table.title_en})"]), [formats["subtitle"]])
        heads = [f"{ko} ({en})" if ko != en else ko for ko, en in table.headers]
        sheet.write_frame(row + 1, header_frame(heads), [formats["head_ko"]] * len(heads))
        row = sheet.write_frame(row + 2, table.frame, cell_formats(table, formats)) + 1
        widths = [max(w, x) for w, x in zip(widths, column_widths(table) + [0.0] * len(widths))]
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)


def write_dataset_sheet(workbook, formats: dict, table: Table, name: str) -> None:
    """Korean headers in row 1, English names in row 2, then one row per failing record."""
    sheet = workbook.add_worksheet(name, worksheet_class=FrameSheet)
    sheet.write_frame(0, header_frame([ko for ko, _ in table.headers]), [formats["head_ko"]] * len(table.headers))
    sheet.write_frame(1, header_frame([en for _, en in table.headers]), [formats["head_en"]] * len(table.headers))
    fits = sheet.xls_rowmax - 3  # two header rows and a note
    last = sheet.write_frame(2, table.frame.head(fits), cell_formats(table, formats))
    if table.frame.height > fits:  # the validation_failures table keeps every record
        more = table.frame.height - fits
        sheet.write_frame(last, header_frame([f"… {more:,}건 더: 전체 목록은 validation_failures 표 "
                                              f"({more:,} more: see the validation_failures table)"]), [None])
    for c, width in enumerate(column_widths(table)):
        sheet.set_column(c, c, width)
    sheet.freeze_panes(2, 3)
    sheet.autofilter(1, 0, max(last - 1, 1), table.frame.width - 1)


def write_workbook(path: Path, summary: list[Table], per_dataset: list[Table], run_id: str) -> None:
    # in_memory: zip entries get a fixed timestamp (temp files would carry the wall clock)
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    workbook.set_properties({"title": f"검증 실패 검토 자료 {run_id}", "created": FIXED_CREATED})
    head = {"bold": True, "bg_color": "#DDE7F0", "border": 1, "text_wrap": True, "valign": "top"}
    formats = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "subtitle": workbook.add_format({"bold": True, "font_size": 12}),
        "head_ko": workbook.add_format(head),
        "head_en": workbook.add_format(head | {"bold": False, "italic": True, "font_color": "#555555"}),
        "text": workbook.add_format({"valign": "top"}),
        "wrap": workbook.add_format({"valign": "top", "text_wrap": True}),
    }
    write_summary_sheet(workbook, formats, summary, run_id)
    used = {"요약 summary"}
    for table in per_dataset:
        write_dataset_sheet(workbook, formats, table, sheet_name(table.title_ko, used))
    workbook.close()


def unassigned_tables(unassigned: pl.DataFrame) -> tuple[Table, Table]:
    """(counts by dataset and reason, the records): valid records no indicator counts, for the steward to place."""
    counts = (unassigned.group_by("dataset", "reason", "message_ko", "message_en").agg(pl.len().cast(pl.Int64).alias("records"))
              .sort("dataset", "reason").select("dataset", "reason", "records", "message_ko", "message_en"))
    records = unassigned.head(UNASSIGNED_LISTED).select("dataset", "source_file", "source_row", "record_id", "pledge_id",
                                                        "subproject_id", "reason")
    return (Table("지표 미배정 기록", "Valid records no indicator counts", make_export_safe(counts), headers_for(counts)),
            Table(f"지표 미배정 기록 목록 (처음 {UNASSIGNED_LISTED:,}건, 전체: unassigned_records 표)",
                  f"Unassigned records (first {UNASSIGNED_LISTED:,}; all: the unassigned_records table)",
                  make_export_safe(records), headers_for(records)))


def write_review_pack(folder: Path, failures: pl.DataFrame, delivered: dict[str, pl.DataFrame], catalog: Catalog,
                      run_id: str, trend: pl.DataFrame | None = None, *, contract: dict[str, pl.DataType],
                      unassigned: pl.DataFrame | None = None) -> dict[str, Path]:
    """Write review_pack.xlsx and review_pack.html into `folder`; returns {"xlsx": path, "html": path}.

    `unassigned` (the curated `unassigned_records`) adds a summary and a sheet of valid records no indicator counts.
    """
    folder.mkdir(parents=True, exist_ok=True)
    summary, per_dataset = build_tables(prepare_failures(failures, contract), delivered, catalog, trend)
    if unassigned is not None and unassigned.height:
        summary = [*summary, *unassigned_tables(unassigned)]
    paths = {"xlsx": folder / WORKBOOK_FILE, "html": folder / HTML_FILE}
    write_workbook(paths["xlsx"], summary, per_dataset, run_id)
    write_html(paths["html"], summary, per_dataset, run_id)
    return paths
