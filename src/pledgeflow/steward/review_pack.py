"""The data steward's review pack: one Excel workbook and one offline HTML page per run.

Both files show the same content: a summary (failures by dataset and rule, by state, and the trend
across runs when given) and, per dataset, one row per failing record with its values as delivered,
the file and the row number a steward sees in that file, and every rule the record broke.

Everything exported passes `mask_personal_numbers` first (the pipeline has masked already; this is the
last line of defence). Text stays text exactly as delivered: the workbook writes strings as strings, in
cells formatted `quote_prefix` so that Excel never runs one as a formula, even after an edit; the HTML
page is not executed. (A visible `'` before "-" or "20. 10. 12." confused stewards: it is gone.)
A corrected record shows its values as delivered and, in its own column, each correction before → after.
Both files start with how to record a decision (`pledgeflow.steward.howto`), in Korean first, and a blocked
run's pack says why the run was blocked. The workbook prints on landscape A4, fit to width, headers repeated.
The HTML page is written by `pledgeflow.steward.review_html`, which also holds the `Table` both writers take.
The workbook is written by `pledgeflow.steward.review_xlsx`; its cells are rendered to sheet XML by polars
(`pledgeflow.steward.xlsx_frames`), never one call per cell.
Identical inputs give identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pledgeflow.catalog import Catalog, Descriptor, pseudonym_column
from pledgeflow.contracts import conform
from pledgeflow.privacy import mask_columns
from pledgeflow.steward.howto import HOWTO_HEADERS, howto_frame
from pledgeflow.steward.review_html import KEY_COLUMNS, LIST_SEPARATOR, STATES, Table, write_html
from pledgeflow.steward.review_xlsx import sheet_name, write_workbook

__all__ = ["sheet_name", "write_review_pack"]

WORKBOOK_FILE = "review_pack.xlsx"
UNASSIGNED_LISTED = 1_000  # records listed on the pack's page; its workbook's sheet and the curated table have them all
HTML_FILE = "review_pack.html"
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
    "corrections": ("정정 내용 (전 → 후)", "corrections (before → after)"),
} | {state: (ko, state) for state, ko in STATES.items()}


def make_export_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Mask personal numbers in every String column (formulas are kept from running by the cell format)."""
    return mask_columns(frame, pl.col(pl.String))


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


def correction_notes(corrections: pl.DataFrame | None, values: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """source_file, source_row, corrections: "열: 전 → 후 (outcome)" per correction of a record, before as delivered."""
    schema = {"source_file": pl.String, "source_row": pl.Int64, "corrections": pl.String}
    if corrections is None or corrections.is_empty():
        return pl.DataFrame(schema=schema)
    before = values.unpivot(index=RECORD_KEYS, on=names, variable_name="column", value_name="before")
    return (
        corrections.join(before, on=[*RECORD_KEYS, "column"], how="left")
        .sort(*RECORD_KEYS, "column")
        .group_by(RECORD_KEYS, maintain_order=True)
        .agg(pl.format("{}: {} → {} ({})", "column", pl.col("before").fill_null("(빈 칸)"), pl.col("new_value").fill_null("(빈 칸)"),
                       pl.col("outcome").fill_null("")).str.join("\n").alias("corrections"))
        .cast(schema)
    )


def collect_failing_records(failures: pl.DataFrame, delivered: pl.DataFrame | None, descriptor: Descriptor,
                            corrections: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per failing record of one dataset: where it is, what it broke, its state, its values as delivered.

    Columns come in the order a steward acts on them: file, row, rules, messages, states, the cells in
    question, any correction (before → after), the delivered values; the keys last. The rules, states and
    fingerprints lists are aligned: the n-th state and fingerprint belong to the n-th rule. A file-level
    failure (no row) is one record per file with no values. `delivered` keeps the first row per record:
    a corrected record's values as delivered come first.
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
        .sort(RECORD_KEYS, nulls_last=True, maintain_order=True)
        .unique(subset=RECORD_KEYS, keep="first", maintain_order=True)
    )
    mine = None if corrections is None else corrections.filter(pl.col("dataset") == descriptor.dataset)
    notes = correction_notes(mine, values, names)
    return (
        records.join(notes, on=RECORD_KEYS, how="left")
        .join(values.rename({n: DELIVERED_PREFIX + n for n in names}), on=RECORD_KEYS, how="left")
        .select(*RECORD_KEYS, "rules", "messages_ko", "messages_en", "states", "columns", "corrections",
                pl.col(f"^{DELIVERED_PREFIX}.*$"), *KEY_COLUMNS)
        .sort(RECORD_KEYS, nulls_last=True)
    )


def headers_for(frame: pl.DataFrame, descriptor: Descriptor | None = None) -> tuple[tuple[str, str], ...]:
    delivered = {DELIVERED_PREFIX + n: (ko, n) for n, ko in delivered_columns(descriptor)} if descriptor else {}
    return tuple(delivered.get(c) or LABELS.get(c, (c, c)) for c in frame.columns)


def unknown_columns_frame(file_counts: pl.DataFrame) -> pl.DataFrame:
    """One row per delivered column no descriptor maps: file, header, the closest known column (if near)."""
    schema = {"source_file": pl.String, "header": pl.String, "suggestion": pl.String, "column": pl.String}
    if "unknown_columns" not in file_counts.columns:
        return pl.DataFrame(schema=schema)
    return (file_counts.select("source_file", "unknown_columns").explode("unknown_columns").drop_nulls("unknown_columns")
            .unnest("unknown_columns").select(list(schema)).cast(schema).sort("source_file", "header"))


def build_tables(failures: pl.DataFrame, delivered: dict[str, pl.DataFrame], catalog: Catalog,
                 trend: pl.DataFrame | None, corrections: pl.DataFrame | None = None,
                 unknown_columns: pl.DataFrame | None = None) -> tuple[list[Table], list[Table]]:
    """(summary tables, one record table per dataset), export-safe; the summary starts with how to decide."""
    parts = [
        ("데이터셋별 합계", "Totals by dataset", summarise_datasets(failures, catalog)),
        ("데이터셋·규칙별 실패", "Failures by dataset and rule", summarise_rules(failures, catalog)),
    ]
    if trend is not None:
        parts.append(("실행별 추이", "Trend across runs", trend.sort(["run_number", "dataset"])))
    if unknown_columns is not None and unknown_columns.height:
        # a steward adds the alias to schemas/datasets/<dataset>.yaml in one line
        parts.append(("알 수 없는 열 (별칭 추가 후보)", "Columns no descriptor maps (alias suggestions)", unknown_columns))
    howto = Table("결정 기록 방법", "How to record a decision", howto_frame(), HOWTO_HEADERS)
    summary = [howto, *(Table(ko, en, make_export_safe(frame), headers_for(frame)) for ko, en, frame in parts)]
    per_dataset = []
    for name, descriptor in catalog.descriptors.items():
        records = collect_failing_records(failures, delivered.get(name), descriptor, corrections)
        per_dataset.append(Table(descriptor.title_ko, descriptor.title_en, make_export_safe(records),
                                 headers_for(records, descriptor)))
    return summary, per_dataset


def unassigned_tables(unassigned: pl.DataFrame) -> tuple[Table, Table]:
    """(counts by dataset and reason, every record): valid records no indicator counts, for the steward to place."""
    counts = (unassigned.group_by("dataset", "reason", "message_ko", "message_en").agg(pl.len().cast(pl.Int64).alias("records"))
              .sort("dataset", "reason").select("dataset", "reason", "records", "message_ko", "message_en"))
    records = unassigned.select("dataset", "source_file", "source_row", "record_id", "pledge_id", "subproject_id", "reason")
    return (Table("지표 미배정 기록", "Valid records no indicator counts", make_export_safe(counts), headers_for(counts)),
            Table("지표 미배정 기록 목록", "Unassigned records", make_export_safe(records), headers_for(records)))


def first_listed(records: Table) -> Table:
    """The page's share of the unassigned records: the first UNASSIGNED_LISTED (the workbook's sheet has them all)."""
    return Table(f"{records.title_ko} (처음 {UNASSIGNED_LISTED:,}건, 전체: review_pack.xlsx, unassigned_records 표)",
                 f"{records.title_en} (first {UNASSIGNED_LISTED:,}; all: review_pack.xlsx and the unassigned_records table)",
                 records.frame.head(UNASSIGNED_LISTED), records.headers)


def write_review_pack(folder: Path, failures: pl.DataFrame, delivered: dict[str, pl.DataFrame], catalog: Catalog,
                      run_id: str, trend: pl.DataFrame | None = None, *, contract: dict[str, pl.DataType],
                      corrections: pl.DataFrame | None = None, blocked_reason: str | None = None,
                      unknown_columns: pl.DataFrame | None = None, unassigned: pl.DataFrame | None = None) -> dict[str, Path]:
    """Write review_pack.xlsx and review_pack.html into `folder`; returns {"xlsx": path, "html": path}.

    `delivered` holds each record's values as delivered (a corrected record's original values first);
    `corrections` (dataset, source_file, source_row, column, new_value, outcome) the corrections to show
    before → after; `blocked_reason` says why a blocked run published nothing; `unknown_columns` the delivered
    columns no descriptor maps, with the closest known alias; `unassigned` (the curated `unassigned_records`) adds a
    summary of valid records no indicator counts, and the records on a sheet of their own.
    """
    folder.mkdir(parents=True, exist_ok=True)
    summary, per_dataset = build_tables(prepare_failures(failures, contract), delivered, catalog, trend, corrections,
                                        unknown_columns)
    listed = []
    if unassigned is not None and unassigned.height:
        counts, records = unassigned_tables(unassigned)
        summary, listed = [*summary, counts], [records]
    paths = {"xlsx": folder / WORKBOOK_FILE, "html": folder / HTML_FILE}
    # the workbook lists every unassigned record on a sheet of its own; the page, the first of them
    write_workbook(paths["xlsx"], summary, per_dataset, run_id, blocked_reason, listed=listed)
    write_html(paths["html"], [*summary, *map(first_listed, listed)], per_dataset, run_id, blocked_reason=blocked_reason)
    return paths
