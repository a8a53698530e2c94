"""Rendering of synthetic rows as delivery files: Korean text cells, per-file spellings, XLSX / CSV writing.

`pledgeflow.synth.generate` makes the typed rows (and marks the defects to plant); this module writes them the way
district offices do: each file with its own header spellings, date style, none marker, BRN hyphenation,
encoding and optional title line, and the defects rendered into the cells. Vectorised throughout.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from pledgeflow.catalog import Catalog
from pledgeflow.korean import format_date
from pledgeflow.synth.national import TERM_YEARS

CREATED = datetime(2024, 1, 2, 9, 0, 0)  # workbook metadata: fixed, so files are reproducible
DATE_STYLES = ("dotted", "short", "compact", "iso")
XLSX_MAX_ROWS = 20_000  # XLSX writing is slow and Excel stops at 1,048,576 rows: only small files are XLSX


def write_delivery(folder: Path, stem: str, frame: pl.DataFrame, dataset: str, catalog: Catalog,
                   rng: np.random.Generator) -> Path:
    """One file: XLSX (small files only, a quarter of them) or CSV in CP949 / UTF-8-BOM / UTF-8."""
    text = render(frame, dataset, catalog, rng)
    title = f"{stem.replace('_', ' ')} ({folder.name.split('_', 1)[-1]})" if rng.random() < 0.5 else None
    if text.height <= XLSX_MAX_ROWS and rng.random() < 0.25:
        return write_xlsx(text, folder / f"{stem}.xlsx", title)
    encoding = ("cp949", "cp949", "utf-8-sig", "utf-8")[int(rng.integers(0, 4))]
    return write_csv(text, folder / f"{stem}.csv", encoding, title)


def render(frame: pl.DataFrame, dataset: str, catalog: Catalog, rng: np.random.Generator) -> pl.DataFrame:
    """Typed rows -> the text cells of a delivery: this file's header spellings, date style, defects."""
    style, none_marker = DATE_STYLES[int(rng.integers(0, len(DATE_STYLES)))], "-" if rng.random() < 0.3 else None
    n, defect = frame.height, pl.col("_defect").fill_null("")
    if dataset == "placements":
        cells = placement_cells(frame, catalog, rng, style, defect)
    elif dataset == "training_cohorts":
        cells = cohort_cells(frame, catalog, rng, style, defect)
    else:
        cells = fair_cells(frame, catalog, rng, style, defect)
    descriptor = catalog.descriptors[dataset]
    labels = {c.name: (c.label_ko, *c.aliases)[int(rng.integers(0, 1 + len(c.aliases)))] for c in descriptor.columns}
    text = frame.select(**cells) if n else pl.DataFrame(schema={c: pl.String for c in cells})
    # an empty cell is written as nothing (as Excel does), or as "-" in some offices' files
    text = text.with_columns(pl.all().cast(pl.String))
    text = text.with_columns(pl.all().fill_null(none_marker)) if none_marker else text
    return text.select(*(pl.col(c.name).alias(labels[c.name]) for c in descriptor.columns))


def korean_date(column: str, style: str) -> pl.Expr:
    day = pl.col(column)
    if style == "dotted":
        return format_date(day)
    if style == "short":
        return pl.format("'{}. {}. {}.", (day.dt.year() % 100).cast(pl.String).str.zfill(2), day.dt.month(), day.dt.day())
    return day.dt.strftime("%Y.%m.%d" if style == "compact" else "%Y-%m-%d")


def spelled(ids: pl.Expr, aliases: dict[str, list[str]], rng: np.random.Generator, n: int) -> pl.Expr:
    """Each id written with one of its catalog spellings, varying per row."""
    choice = rng.integers(0, 1_000, n)
    options = [pl.when(ids == key).then(pl.lit(pl.Series(names).gather(choice % len(names)))) for key, names in aliases.items()]
    return pl.coalesce(*[o.otherwise(None) for o in options])


def subproject_spellings(catalog: Catalog) -> dict[str, list[str]]:
    return {s["subproject_id"]: [s["name_ko"], *s.get("aliases", [])] for p in catalog.pledges for s in p["subprojects"]}


def placement_cells(frame, catalog, rng, style, defect) -> dict[str, pl.Expr]:
    n = frame.height
    hyphen = rng.random() < 0.5
    brn = pl.when(defect == "bad_brn").then(
        pl.col("employer_brn").str.slice(0, 9) + ((pl.col("employer_brn").str.slice(9, 1).cast(pl.Int64) + 1) % 10).cast(pl.String)
    ).otherwise("employer_brn")
    if hyphen:
        brn = pl.format("{}-{}-{}", brn.str.slice(0, 3), brn.str.slice(3, 2), brn.str.slice(5, 5))
    # the district's own mid-career sub-project (`d07_midcareer`); an outside-age defect is written under it
    midcareer = pl.col("subproject_id").str.ends_with("midcareer") | (defect == "outside_age_band")
    channels = {c["channel_id"]: [c["name_ko"], *c.get("aliases", [])] for c in catalog.channels}
    phone = pl.format("연락처 010-{}-{}", pl.col("_serial").mod(9000) + 1000, pl.col("_employer").mod(9000) + 1000)
    return {
        "person_key": pl.col("person_key"),
        "birth_year": pl.when(defect == "outside_age_band").then(pl.format("{}", pl.col("hire_date").dt.year() - 30))
        .when(defect == "malformed_number").then(pl.format("{}년", "birth_year")).otherwise(pl.col("birth_year").cast(pl.String)),
        "employer_brn": brn,
        "employer_name_ko": pl.col("employer_name_ko"),
        # out of term: the hire date a term (four years) earlier, before the record's own pledge's term began;
        # for a 민선 8기 district that date lies inside 민선 7기, a term other pledges of the project still have
        "hire_date": pl.when(defect == "bad_date").then(pl.lit("2019. 2. 30.")).when(defect == "out_of_term")
        .then(format_date(pl.col("hire_date").dt.offset_by(f"-{TERM_YEARS}y"))).otherwise(korean_date("hire_date", style)),
        "subproject_name_ko": pl.when(defect == "unknown_subproject").then(pl.lit("청년 일자리 창출"))
        .otherwise(spelled(pl.when(midcareer).then(pl.col("subproject_id").str.replace("corporate_linkage$", "midcareer")).otherwise("subproject_id"), subproject_spellings(catalog), rng, n)),
        "channel_name_ko": pl.when(defect == "event_not_found").then(pl.lit("교육과정"))
        .otherwise(spelled(pl.col("channel_id"), channels, rng, n)),
        "event_id": pl.when(defect == "event_not_found").then(pl.lit("TC-X-00000")).otherwise("event_id"),
        "note_ko": pl.when(defect == "phone_in_note").then(phone).otherwise("note_ko"),
    }


def cohort_cells(frame, catalog, rng, style, defect) -> dict[str, pl.Expr]:
    return {
        "cohort_id": pl.col("cohort_id"),
        "course_name_ko": pl.col("course_name_ko"),
        "subproject_name_ko": spelled(pl.col("subproject_id"), subproject_spellings(catalog), rng, frame.height),
        "provider_name_ko": pl.col("provider_name_ko"),
        "sponsor_name_ko": pl.col("sponsor_name_ko"),
        "start_date": pl.when(defect == "bad_date").then(pl.lit("2019. 13. 1.")).otherwise(korean_date("start_date", style)),
        "end_date": korean_date("end_date", style),
        "enrolled_count": pl.col("enrolled_count").cast(pl.String),
        "completed_count": pl.when(defect == "count_mismatch").then(pl.col("enrolled_count") + 3)
        .otherwise("completed_count").cast(pl.String),
        "note_ko": pl.col("note_ko"),
    }


def fair_cells(frame, catalog, rng, style, defect) -> dict[str, pl.Expr]:
    participants = pl.col("participant_count")
    grouped = pl.when(participants >= 1000).then(
        pl.format("{},{}", participants // 1000, (participants % 1000).cast(pl.String).str.zfill(3))
    ).otherwise(participants.cast(pl.String))
    return {
        "fair_id": pl.col("fair_id"),
        "fair_name_ko": pl.col("fair_name_ko"),
        "subproject_name_ko": spelled(pl.col("subproject_id"), subproject_spellings(catalog), rng, frame.height),
        "fair_date": pl.when(defect == "bad_date").then(pl.lit("2019. 13. 1.")).otherwise(korean_date("fair_date", style)),
        "format_ko": pl.col("format_ko"),
        "firm_count": pl.col("firm_count").cast(pl.String),
        "participant_count": pl.when(defect == "malformed_number").then(pl.lit("1,23")).otherwise(grouped),
        "note_ko": pl.col("note_ko"),
    }


def write_csv(text: pl.DataFrame, path: Path, encoding: str, title: str | None) -> Path:
    """CSV as Excel saves it: CRLF for CP949 and UTF-8-BOM, LF for plain UTF-8; an optional title line."""
    newline = "\n" if encoding == "utf-8" else "\r\n"
    body = text.write_csv(line_terminator=newline)
    content = (f"{title}{newline}" if title else "") + body
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding))
    return path


def write_xlsx(text: pl.DataFrame, path: Path, title: str | None) -> Path:
    """XLSX with text cells, a fixed creation time (same seed, same bytes), title line + blank line when titled."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": CREATED})
    sheet = book.add_worksheet("Sheet1")
    if title:
        sheet.write_string(0, 0, title)
    text.write_excel(workbook=book, worksheet=sheet, position="A3" if title else "A1", autofilter=False,
                     table_style=None, autofit=False)
    book.close()
    return path
