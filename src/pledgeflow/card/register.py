"""The report register: every figure of the pledge card, loaded as typed frames that keep the print.

`raw/reported/` holds one CSV per card table, keyed by a district officer exactly as printed
("1,9235" stays "1,9235"), plus `_tables.csv`, which gives each file its pledge number, source
document and as-of (기준) date. Loading never corrects a figure: each row keeps its printed text, the
number it reads as, a `malformed` flag and a `source_ref` ("raw/reported/budget.csv:5") a steward
can open. Labels (sub-project spellings, periods, funding sources, measures) resolve to ids through
the catalog and the small vocabularies below; an unknown label leaves the id null so that
reconciliation can report it instead of the load failing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.catalog import Catalog, normalise_label, normalise_label_expr
from pledgeflow.korean import (
    clean_text,
    date_is_invalid,
    is_none_marker,
    number_is_malformed,
    parse_date,
    parse_int,
    parse_rate_pct,
    rate_is_malformed,
)
from pledgeflow.card.folders import INDEX_FILE, card_folders, check_owner, folder_pledge
from pledgeflow.card.labels import TOTAL_LABELS, indicator_of_row, period_key, pledge_periods
from pledgeflow.errors import DeliveryError, ReportError
from pledgeflow.ingest.read import decode_text, fields_per_line
from pledgeflow.card.register_contract import validate_table

if TYPE_CHECKING:
    from pledgeflow.project import Project

CARD_ORDER = "__card"  # the cards' order while they are typed together
TABLES = ("attributes", "targets", "results", "budget", "census", "activities")

# Korean header -> column name, per register file; a header not listed here is ignored.
HEADERS: dict[str, dict[str, str]] = {
    "index": {"파일": "file", "표": "title_ko", "공약번호": "pledge_no", "출처": "source_document",
              "위치": "source_section", "기준일": "as_of_text", "기준 표기": "as_of_printed"},
    "attributes": {"항목": "attribute_ko", "선택지": "option_ko", "선택": "selected_text"},
    "targets": {"세부사업": "subproject_text", "지표": "indicator_text", "단위": "unit_ko", "기간": "period_text", "목표": "target_text"},
    "results": {"세부사업": "subproject_text", "지표": "indicator_text", "단위": "unit_ko", "항목": "measure_ko",
                "기간": "period_text", "값": "value_text"},
    "budget": {"세부사업": "subproject_text", "재원": "funding_source_text", "기간": "period_text",
               "금액(백만원)": "amount_text", "금액": "amount_text"},
    "census": {"구분": "measure_text", "산업": "industry_ko", "값": "value_text"},
    "activities": {"세부사업": "subproject_text", "구분": "activity_kind_ko", "활동명": "activity_name_ko",
                   "항목": "measure_ko", "기간": "period_text", "값": "value_text", "단위": "unit_ko",
                   "기록상 명칭": "record_name_ko", "비고": "note_ko"},
}
OPTIONAL_COLUMNS = {"indicator_text", "unit_ko", "record_name_ko", "note_ko", "source_section", "as_of_printed"}

SELECTED_MARKS = ("○", "◯", "●", "o", "v", "✓", "✔", "예", "y", "1", "선택")
UNSELECTED_MARKS = ("×", "x", "아니오", "n", "0")
FUNDING_SOURCES = {"계": "total", "구비": "district", "시비": "city", "국비": "national"}
RESULT_MEASURES = {"실적": "actual", "이행률": "rate"}
CENSUS_MEASURES = {"사업체수": "establishments", "종사자수": "workers"}
# The card's course counts are people who completed a course; "trained" is compared with completed_count.
ACTIVITY_MEASURES = {
    "교육인원": "trained", "양성인원": "trained", "수료인원": "trained", "취업인원": "hired", "채용인원": "hired",
    "참여인원": "participants", "참여업체수": "firms", "만남업체수": "firms", "개최횟수": "events",
    "개최일": "date", "협약일": "date", "일자": "date", "운영기간": "date_range",
}
DATE_MEASURES = ("date",)
TEXT_MEASURES = ("date_range",)


@dataclass(frozen=True)
class Report:
    """The card's figures, one typed frame per register table (see `schemas/reported/`)."""

    tables: pl.DataFrame
    attributes: pl.DataFrame
    targets: pl.DataFrame
    results: pl.DataFrame
    budget: pl.DataFrame
    census: pl.DataFrame
    activities: pl.DataFrame


def load_report(project: Project, reported_dir: Path | None = None) -> Report:
    """Read, type and validate every card's register under `raw/reported/` (or `reported_dir`).

    A card is a folder holding `_tables.csv`: `reported/` itself (pledge 15's bundled register) and any
    `reported/<card>/` (one per pledge card; a folder named after a catalog pledge_id belongs to that pledge,
    otherwise its index's 공약번호 says which, if one pledge has it: `card.folders`). The cards' tables are stacked; every row carries its pledge_id.
    The contracts are `schemas/reported/*.schema.yaml`. Raises ReportError (the run is blocked by its data).
    """
    reported_dir = Path(reported_dir or project.settings.raw_dir / "reported")
    cards = card_folders(reported_dir)
    if not cards:
        raise ReportError(f"{reported_dir.name}/{INDEX_FILE}", "보고 대장 파일이 없습니다.", "The register file is missing.")
    loaded = [read_card(project, folder, reported_dir) for folder in cards]
    # the cards are stacked raw and typed once per table: each typing step costs the same for 1 card or 250
    stacked = {name: pl.concat([frames[name].with_columns(pl.lit(n, pl.Int32).alias(CARD_ORDER))
                                for n, frames in enumerate(loaded)], how="diagonal_relaxed") for name in ("tables", *TABLES)}
    typed = {name: (TYPERS[name](frame, project.catalog) if name in TYPERS else frame)
             .sort(CARD_ORDER, "source_row").drop(CARD_ORDER) for name, frame in stacked.items()}
    # one validation per table over every card (the contracts' keys start with pledge_id)
    return Report(**{name: validate_table(frame, name, project) for name, frame in typed.items()})


def read_card(project: Project, folder: Path, reported_dir: Path) -> dict[str, pl.DataFrame]:
    """One card's register as read (typed with the other cards'): its typed index and the tables the index
    lists, each row carrying its pledge from the index (a card in its own folder may leave a table out; it is
    then empty)."""
    catalog = project.catalog
    prefix = reported_dir.name if folder == reported_dir else f"{reported_dir.name}/{folder.name}"
    pledge = folder_pledge(folder, reported_dir, catalog)
    index = type_index(read_register_csv(folder, INDEX_FILE, "index", prefix), catalog, pledge)
    check_owner(folder, reported_dir, index, catalog, prefix)
    if pledge is not None:
        index = index.with_columns(pl.lit(pledge).alias("pledge_id"))
    listed = set(index["file"].to_list())
    frames = {"tables": index}
    for table in TABLES:
        if folder != reported_dir and f"{table}.csv" not in listed:
            raw = empty_register(table, prefix)  # a card without this table (e.g. no census printed)
        else:
            raw = read_register_csv(folder, f"{table}.csv", table, prefix)
        frames[table] = attach_index(raw, index, folder)
    return frames


def empty_register(table: str, prefix: str) -> pl.DataFrame:
    columns = {c: pl.String for c in dict.fromkeys(HEADERS[table].values())}
    return pl.DataFrame(schema={**columns, "source_row": pl.Int64, "source_file": pl.String, "source_ref": pl.String})


def decode_register(data: bytes, source_file: str) -> str:
    """The register's text, decoded as deliveries are (UTF-8, UTF-8-BOM or CP949, never euc-kr)."""
    try:
        return decode_text(data, source_file=source_file)[0]
    except DeliveryError as unknown:
        raise ReportError(source_file, unknown.message_ko, unknown.message_en) from None


def check_ragged(text: str, source_file: str) -> None:
    """A line with more cells than the header is refused, never cut: "1,572" typed without quotes
    would otherwise silently become 1."""
    fields = fields_per_line(text.rstrip("\n"))
    extra = (fields > fields[0]).arg_true() + 1
    if extra.len():
        lines = ", ".join(str(n) for n in extra.head(5).to_list())
        raise ReportError(source_file, f"{lines}행의 칸 수가 머리글보다 많습니다. 천 단위 쉼표가 있는 숫자는 따옴표로 "
                          f'감싸야 합니다(예: "1,572"). Excel에서 CSV로 다시 저장하세요.',
                          f"Line(s) {lines} have more cells than the header: a number with a thousands separator "
                          f'must be quoted ("1,572"). Save the sheet from Excel as CSV again.')


def read_register_csv(reported_dir: Path, file_name: str, table: str, prefix: str | None = None) -> pl.DataFrame:
    """One register file as text, columns renamed to English, each row tagged with its line number."""
    source_file = f"{prefix or reported_dir.name}/{file_name}"
    path = reported_dir / file_name
    if not path.is_file():
        raise ReportError(source_file, "보고 대장 파일이 없습니다.", "The register file is missing.")
    text = decode_register(path.read_bytes(), source_file)
    check_ragged(text, source_file)
    frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    mapping = {normalise_label(k): v for k, v in HEADERS[table].items()}
    renames = {c: mapping[normalise_label(c)] for c in frame.columns if normalise_label(c) in mapping}
    missing = sorted(set(HEADERS[table].values()) - set(renames.values()) - OPTIONAL_COLUMNS)
    if missing:
        wanted = sorted({k for k, v in HEADERS[table].items() if v in missing})
        raise ReportError(source_file, f"필수 열이 없습니다: {', '.join(wanted)}", f"Required columns missing: {', '.join(missing)}")
    columns = list(dict.fromkeys(HEADERS[table].values()))
    frame = frame.select(list(renames)).rename(renames)
    # Line numbers are taken before blank lines are dropped, so they match what the officer sees.
    return (
        frame.with_columns([clean_text(pl.col(c)).alias(c) for c in frame.columns])
        .with_columns([pl.lit(None, pl.String).alias(c) for c in columns if c not in frame.columns])
        .with_row_index("source_row", offset=2)
        .with_columns(pl.col("source_row").cast(pl.Int64), pl.lit(source_file).alias("source_file"))
        .filter(~pl.all_horizontal([pl.col(c).is_null() for c in columns]))
        .with_columns(pl.format("raw/{}:{}", "source_file", "source_row").alias("source_ref"))
    )


def resolve(expr: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """Label text -> id through `mapping` (keys compared normalised); unknown -> null."""
    keys = {normalise_label(k): v for k, v in mapping.items()}
    return normalise_label_expr(expr).replace_strict(keys, default=None, return_dtype=pl.String)


def resolve_subproject(expr: pl.Expr, catalog: Catalog) -> pl.Expr:
    return resolve(expr, {t: "total" for t in TOTAL_LABELS} | catalog.subproject_aliases)


def type_index(raw: pl.DataFrame, catalog: Catalog, pledge: str | None = None) -> pl.DataFrame:
    """The card's index; `pledge` (the card's folder names it) decides among pledges sharing a 공약번호 across governments."""
    pledges = pl.DataFrame([{"pledge_no": int(p["pledge_no"]), "pledge_id": p["pledge_id"]} for p in catalog.pledges
                            if p.get("pledge_no") is not None and pledge in (None, p["pledge_id"])],
                           schema={"pledge_no": pl.Int64, "pledge_id": pl.String})
    return (
        raw.with_columns(parse_int(pl.col("pledge_no")).alias("pledge_no"), parse_date(pl.col("as_of_text")).alias("as_of_date"))
        .join(pledges, on="pledge_no", how="left")
        .select("file", "title_ko", "pledge_no", "pledge_id", "source_document", "source_section",
                "as_of_text", "as_of_printed", "as_of_date", "source_file", "source_row", "source_ref")
        .sort("source_row")
    )


def attach_index(raw: pl.DataFrame, index: pl.DataFrame, reported_dir: Path) -> pl.DataFrame:
    """Give every row its table's pledge, source document and as-of date from `_tables.csv`."""
    file_name = raw["source_file"][0].split("/")[-1] if raw.height else ""
    entry = index.filter(pl.col("file") == file_name)
    if not raw.height:
        entry = index.head(1)  # an empty table still carries its card's pledge
    if raw.height and entry.height != 1:
        raise ReportError(f"{reported_dir.name}/{INDEX_FILE}", f"{file_name} 파일이 색인에 한 번 나와야 합니다.",
                          f"{file_name} must be listed exactly once in the index.")
    return raw.join(entry.select("pledge_id", "source_document", "source_section", "as_of_date"), how="cross")


def type_attributes(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    mark = normalise_label_expr(pl.col("selected_text"))
    return raw.with_columns(
        pl.when(mark.is_in(SELECTED_MARKS)).then(True)
        .when(is_none_marker(pl.col("selected_text")) | mark.is_in(UNSELECTED_MARKS)).then(False)
        .otherwise(None).alias("selected")
    )


def with_labels(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Resolve sub-project and period labels, and the catalog indicator of each sub-project."""
    frame = raw.with_columns(
        resolve_subproject(pl.col("subproject_text"), catalog).alias("subproject_id"),
        period_key(pl.col("period_text")).alias("__period_key"),
    ).join(pledge_periods(catalog), on=["pledge_id", "__period_key"], how="left").drop("__period_key")
    return frame.join(indicator_of_row(frame, catalog), on=["source_file", "source_row"], how="left")


def type_targets(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    return with_labels(raw, catalog).with_columns(
        parse_int(pl.col("target_text"), lenient_grouping=True).alias("target"),
        number_is_malformed(pl.col("target_text")).alias("malformed"),
    )


def type_results(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    measure = resolve(pl.col("measure_ko"), RESULT_MEASURES)
    is_rate = measure == "rate"
    # a ratio indicator's 실적 is a percent the card may print with decimals, with or without its sign
    ratio = (measure == "actual") & pl.col("__ratio").fill_null(False)
    text = pl.col("value_text")
    pct_text = pl.when(text.str.contains("%") | is_none_marker(text)).then(text).otherwise(text + "%")
    kinds = catalog.indicators_frame.select("pledge_id", "subproject_id", "indicator_id",
                                            (pl.col("measure_kind") == "ratio").alias("__ratio"))
    return with_labels(raw, catalog).join(kinds, on=["pledge_id", "subproject_id", "indicator_id"], how="left").with_columns(
        measure.alias("measure"),
        pl.when(measure == "actual").then(parse_int(text, lenient_grouping=True)).alias("actual"),
        pl.when(ratio).then(parse_rate_pct(pct_text)).alias("actual_pct"),
        pl.when(is_rate).then(parse_rate_pct(text)).alias("rate_pct"),
        pl.when(is_rate).then(rate_is_malformed(text)).when(ratio).then(rate_is_malformed(pct_text))
        .otherwise(number_is_malformed(text)).alias("malformed"),
    ).drop("__ratio")


def type_budget(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    # Sub-project rows print "-" as their 재원: the row is that sub-project's total over all sources.
    source = pl.when(is_none_marker(pl.col("funding_source_text"))).then(pl.lit("total")).otherwise(
        resolve(pl.col("funding_source_text"), FUNDING_SOURCES)
    )
    return with_labels(raw, catalog).drop("indicator_id").with_columns(
        source.alias("funding_source"),
        parse_int(pl.col("amount_text"), lenient_grouping=True).alias("amount_million_krw"),
        number_is_malformed(pl.col("amount_text")).alias("malformed"),
    )


def type_census(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    measure_ko = pl.col("measure_text").str.extract(r"^([^(]+)").str.strip_chars()
    return raw.with_columns(
        measure_ko.alias("measure_ko"),
        pl.col("measure_text").str.extract(r"\(([^)]*)\)").alias("unit_ko"),
        resolve(measure_ko, CENSUS_MEASURES).alias("measure"),
        normalise_label_expr(pl.col("industry_ko")).is_in(TOTAL_LABELS).alias("is_total"),
        pl.col("as_of_date").dt.year().cast(pl.String).alias("period"),
        parse_int(pl.col("value_text"), lenient_grouping=True).alias("value"),
        number_is_malformed(pl.col("value_text")).alias("malformed"),
    )


def type_activities(raw: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    measure = resolve(pl.col("measure_ko"), ACTIVITY_MEASURES)
    # The card mixes straight and curly apostrophes in "'18. 11. 2."; the text keeps the print.
    date_text = pl.col("value_text").str.replace_all("[‘’`]", "'")
    is_date, is_text = measure.is_in(DATE_MEASURES), measure.is_in(TEXT_MEASURES)
    return with_labels(raw, catalog).drop("indicator_id").with_columns(
        resolve(pl.col("activity_kind_ko"), catalog.channel_aliases).alias("activity_kind"),
        pl.coalesce("record_name_ko", "activity_name_ko").alias("record_name_ko"),
        measure.alias("measure"),
        pl.when(~is_date & ~is_text).then(parse_int(pl.col("value_text"), lenient_grouping=True)).alias("value"),
        pl.when(is_date).then(parse_date(date_text)).alias("value_date"),
        pl.when(is_date).then(date_is_invalid(date_text)).when(is_text).then(False)
        .otherwise(number_is_malformed(pl.col("value_text"))).alias("malformed"),
    )


TYPERS = {"attributes": type_attributes, "targets": type_targets, "results": type_results,
          "budget": type_budget, "census": type_census, "activities": type_activities}
