"""The steward decisions ledger: read it (typed, every problem named) and append to it.

A decision is one ledger row (`raw/decisions/*.csv|xlsx`, editable in Excel): correct (set a delivered
column to a new text), waive (accept a quarantined record as it is, optionally until an expiry date) or
exclude (keep a record out of the indicators). Every decision names its record by `record_id`, the
content digest of the record as delivered.

Reading never raises on bad content: a row with a problem keeps what could be read and says why in
problem_rule / problem_ko / problem_en (`pledgeflow.decisions` then reports it `invalid`, never applies
it); a ledger file that cannot be read at all becomes one such row. Only `append_decision` (the
steward's command) writes to `raw/`: one row, in the ledger's own encoding, earlier bytes untouched.
Matching decisions to records and applying them is `pledgeflow.decisions`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import yaml
from filelock import FileLock

from pledgeflow import korean
from pledgeflow.catalog import (
    ID_COLUMNS, Catalog, Descriptor, load_catalog, load_descriptor, normalise_label, pseudonym_column,
)
from pledgeflow.frames import ROW, conform
from pledgeflow.privacy import contains_personal_number, mask_personal_numbers
from pledgeflow.reading import (
    DeliveryError, find_header_index, list_delivery_files, map_headers, normalise_label_expr,
    read_csv_grid, read_delivery,
)

LEDGER_FILE = "decisions.csv"
DESCRIPTOR_FILE = "decisions.yaml"
SCHEMA_FILE = "decisions.schema.yaml"
ACTIONS = ("correct", "waive", "exclude")
KST = timezone(timedelta(hours=9))  # Korea has no daylight saving time: a fixed offset is exact
LEDGER_SCHEMA = {
    "ledger_file": pl.String, "ledger_row": pl.Int64, "decision_id": pl.String,
    "decided_at": pl.Datetime("us", "UTC"), "decided_by": pl.String, "action": pl.String, "dataset": pl.String,
    "source_file": pl.String, "source_row": pl.Int64, "record_id": pl.String, "column": pl.String,
    "new_value": pl.String, "reason": pl.String, "expires_date": pl.Date,
    "problem_rule": pl.String, "problem_ko": pl.String, "problem_en": pl.String,
}
# A cell Excel would run as a formula: never written into a ledger a steward opens.
_FORMULA_LIKE = r"^(?:[=@]|[+\-][^\d\s.,])"


class LedgerError(ValueError):
    """A decision that cannot be recorded; messages are for the steward, in Korean and English."""

    def __init__(self, message_ko: str, message_en: str) -> None:
        super().__init__(message_ko, message_en)
        self.message_ko, self.message_en = message_ko, message_en

    def __str__(self) -> str:
        return f"{self.message_ko} / {self.message_en}"


# ---- reading ----------------------------------------------------------------------------------


def load_ledger_config(schemas_dir: Path) -> tuple[Descriptor, dict]:
    """The ledger's column descriptor and the raw YAML (actions, problem messages, hints)."""
    path = Path(schemas_dir) / DESCRIPTOR_FILE
    return load_descriptor(path), yaml.safe_load(path.read_text(encoding="utf-8"))


def load_decisions(path_or_dir: Path, schemas_dir: Path) -> pl.DataFrame:
    """Every ledger row, typed (LEDGER_SCHEMA), sorted by ledger file and row; never raises on bad content.

    A row with problems keeps what could be read and says why in problem_rule / problem_ko / problem_en;
    a ledger file that cannot be read at all becomes one such row with a null ledger_row.
    """
    descriptor, config = load_ledger_config(schemas_dir)
    path = Path(path_or_dir)
    files = list_delivery_files(path, descriptor) if path.is_dir() else [path] if path.is_file() else []
    folder = path if path.is_dir() else path.parent
    texts, broken = [], []
    for file in (f for f in files if f.stat().st_size):  # an emptied ledger holds no decisions
        name = f"{folder.name}/{file.relative_to(folder).as_posix()}"
        try:
            texts.append(read_delivery(file, descriptor, name).frame)
        except DeliveryError as error:
            broken.append(unreadable_ledger(name, error, config))
    text = pl.concat(texts) if texts else pl.DataFrame(
        schema={**{c.name: pl.String for c in descriptor.columns}, **{"source_file": pl.String, "source_row": pl.Int64}})
    typed = check_ledger(text, descriptor, config, load_catalog(Path(schemas_dir)), Path(schemas_dir))
    return pl.concat([typed, *broken]).sort("ledger_file", "ledger_row", nulls_last=True)


def unreadable_ledger(name: str, error: DeliveryError, config: dict) -> pl.DataFrame:
    problem = config["problems"]["ledger_unreadable"]
    row = {"ledger_file": name, "problem_rule": "ledger_unreadable",
           "problem_ko": f"{problem['message_ko']} {error.message_ko}", "problem_en": f"{problem['message_en']} {error.message_en}"}
    return conform(pl.DataFrame([row]).with_columns(mask_personal_numbers(pl.col("problem_ko", "problem_en"))), LEDGER_SCHEMA)


def parse_timestamp(expr: pl.Expr) -> pl.Expr:
    """ISO timestamps with an offset -> UTC; naive ones ("2021-03-02 14:05", Excel's re-save) are Seoul time."""
    text = korean.clean_text(expr).str.replace("T", " ")
    aware = text.str.to_datetime("%Y-%m-%d %H:%M:%S%z", strict=False, time_zone="UTC")
    naive = pl.coalesce(
        *(text.str.to_datetime(f, strict=False) for f in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M")),
        # a date alone (or at midnight) is midnight; korean.parse_date also reads "… 오후 3:05:00" as the date,
        # which would lose the time
        pl.when(~text.str.contains(":") | text.str.contains(r"(?:\s|T)(?:오전\s*12|0?0):00(?::00(?:\.0+)?)?$"))
        .then(korean.parse_date(text).cast(pl.Datetime("us"))),
    )
    return pl.coalesce(aware, naive.dt.replace_time_zone("Asia/Seoul").dt.convert_time_zone("UTC")).dt.cast_time_unit("us")


def column_catalog(catalog: Catalog) -> pl.DataFrame:
    """dataset, label (normalised), column, correctable: every name a steward may give a delivered column.

    Derived ids of failure reports (subproject_id) point at the delivered column they come from; a
    pseudonymised person column is known but not correctable (its raw value never reaches the pipeline).
    """

    rows = []
    for dataset, descriptor in catalog.descriptors.items():
        for spec in descriptor.columns:
            names = {spec.name, spec.label_ko, *spec.aliases}
            names |= {ID_COLUMNS[spec.type]} if spec.type in ID_COLUMNS else set()
            names |= {pseudonym_column(spec.name)} if spec.personal == "pseudonymise" else set()
            rows += [(dataset, normalise_label(n), spec.name, spec.personal != "pseudonymise") for n in names]
    frame = pl.DataFrame(rows, schema={"dataset": pl.String, "label": pl.String, "column": pl.String,
                                       "correctable": pl.Boolean}, orient="row")
    return frame.unique(["dataset", "label"], keep="first").sort("dataset", "label")


def type_ledger(text: pl.DataFrame, config: dict, catalog: Catalog) -> pl.DataFrame:
    """Ledger text -> typed columns, plus one boolean `!column:rule` column per cell that did not parse."""
    datasets = {normalise_label(k): k for k in catalog.descriptors}
    datasets |= {normalise_label(d.title_ko): k for k, d in catalog.descriptors.items()}
    actions = {normalise_label(k): v for k, v in config["actions"].items()}

    def value(name: str) -> pl.Expr:  # "-" means none on Korean forms (but is kept in a correction's new text)
        return pl.when(korean.is_none_marker(pl.col(name))).then(None).otherwise(korean.clean_text(pl.col(name)))

    def mapped(name: str, mapping: dict) -> pl.Expr:
        return normalise_label_expr(value(name)).replace_strict(mapping, default=value(name), return_dtype=pl.String)

    stamp = parse_timestamp(pl.col("decided_at"))
    return text.with_row_index(ROW).select(
        ROW, pl.col("source_file").alias("ledger_file"), pl.col("source_row").alias("ledger_row"),
        value("decision_id").str.to_uppercase().alias("decision_id"), stamp.alias("decided_at"),
        value("decided_by").alias("decided_by"), mapped("action", actions).alias("action"),
        mapped("dataset", datasets).alias("dataset"),
        value("target_file").str.replace_all("\\\\", "/").str.replace(r"^raw/", "").alias("source_file"),
        korean.parse_int(pl.col("target_row")).alias("source_row"),
        value("record_id").str.to_lowercase().alias("record_id"), value("column").alias("column"),
        korean.clean_text(pl.col("new_value")).alias("new_value"), value("reason").alias("reason"),
        korean.parse_date(pl.col("expires_date")).alias("expires_date"),
        (korean.clean_text(pl.col("decided_at")).is_not_null() & stamp.is_null()).alias("!decided_at:parse_datetime"),
        korean.int_is_invalid(pl.col("target_row")).alias("!source_row:parse_number"),
        korean.date_is_invalid(pl.col("expires_date")).alias("!expires_date:parse_date"),
    )


def resolve_columns(typed: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Canonical `column` for every decision, and the flags of corrections that cannot be applied."""
    names = column_catalog(catalog).rename({"column": "resolved"})
    correct = pl.col("action") == "correct"
    return (
        typed.with_columns(normalise_label_expr(pl.col("column")).alias("label"))
        .join(names, on=["dataset", "label"], how="left")
        .with_columns(
            (correct & pl.col("column").is_null()).alias("!column:correct_needs_column"),
            (correct & pl.col("new_value").is_null()).alias("!new_value:correct_needs_new_value"),
            (correct & pl.col("column").is_not_null() & pl.col("resolved").is_null()).alias("!column:unknown_column"),
            (correct & ~pl.col("correctable").fill_null(True)).alias("!column:column_not_correctable"),
            (pl.col("decision_id").is_not_null() & ~pl.col("decision_id").is_first_distinct()).alias(
                "!decision_id:duplicate_decision_id"),
            pl.coalesce("resolved", "column").alias("column"),
        )
        .drop("label", "resolved", "correctable")
        .sort(ROW)
    )


def check_ledger(text: pl.DataFrame, descriptor: Descriptor, config: dict, catalog: Catalog, schemas_dir: Path) -> pl.DataFrame:
    """Type the ledger rows and attach each row's problems (parse, consistency, pandera contract)."""
    from pledgeflow.validation import check_schema, drop_shadowed, load_schema

    typed = resolve_columns(type_ledger(text, config, catalog), catalog)
    contract = [c for c in LEDGER_SCHEMA if not c.startswith("problem_")]
    flagged = [c for c in typed.columns if c.startswith("!")]
    flags = (
        typed.select(ROW, *flagged).unpivot(index=ROW, variable_name="cell", value_name="failed").filter("failed")
        .select(ROW, pl.col("cell").str.extract(r"^!([^:]+):", 1).alias("column"),
                pl.col("cell").str.extract(r":(.+)$", 1).alias("rule"))
    )
    schema_cases = check_schema(typed.select(ROW, *contract), load_schema(schemas_dir, SCHEMA_FILE))
    problems = drop_shadowed(pl.concat([flags.cast(schema_cases.schema), schema_cases]))
    described = describe_problems(problems, descriptor, config)
    return typed.drop(flagged).join(described, on=ROW, how="left").select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA)


def describe_problems(problems: pl.DataFrame, descriptor: Descriptor, config: dict) -> pl.DataFrame:
    """_row -> problem_rule, problem_ko, problem_en: every problem of the row, '[label] message hint'."""
    rename = {"target_file": "source_file", "target_row": "source_row"}
    specs = {c["name"]: c for c in config["columns"]}
    labels = pl.DataFrame(
        [{"column": rename.get(n, n), "label_ko": c["label_ko"], "hint_ko": c.get("hint_ko", ""), "hint_en": c.get("hint_en", "")}
         for n, c in specs.items()] + [{"column": "ledger_row", "label_ko": "행", "hint_ko": "", "hint_en": ""}]
    )
    messages = pl.DataFrame([{"rule": r, "text_ko": m["message_ko"], "text_en": m["message_en"]}
                             for r, m in config["problems"].items()])
    return (
        problems.join(labels, on="column", how="left").join(messages, on="rule", how="left")
        .with_columns(
            pl.concat_str(pl.format("[{}] ", pl.col("label_ko").fill_null(pl.col("column"))),
                          pl.col("text_ko").fill_null(pl.col("rule")), pl.lit(" "), pl.col("hint_ko")).str.strip_chars().alias("ko"),
            pl.concat_str(pl.format("[{}] ", pl.col("column")), pl.col("text_en").fill_null(pl.col("rule")),
                          pl.lit(" "), pl.col("hint_en")).str.strip_chars().alias("en"),
        )
        .sort(ROW, "column", "rule")
        .group_by(ROW, maintain_order=True)
        .agg(pl.col("rule").str.join(",").alias("problem_rule"), pl.col("ko").str.join("; ").alias("problem_ko"),
             pl.col("en").str.join("; ").alias("problem_en"))
    )


# ---- appending (the steward's command; the pipeline never writes raw/) ----------------------------


def append_decision(ledger_path: Path, decision: dict, schemas_dir: Path | None = None) -> str:
    """Append one decision to a CSV ledger and return its new decision_id (D-000001 …).

    The row is written in the ledger's own encoding (UTF-8 with or without BOM, or CP949), line ending
    and header order; earlier bytes are never rewritten. A missing ledger is created as UTF-8 with BOM
    (so Excel opens it in Korean) with Korean headers. Ids are numbered past every ledger in the folder.
    `schemas_dir` defaults to the project's `schemas/` (the ledger lives in `<root>/raw/decisions/`).
    Raises LedgerError, with Korean and English messages, for a decision that cannot be recorded.
    """
    ledger_path = Path(ledger_path)
    if ledger_path.suffix.lower() != ".csv":
        raise LedgerError("CSV 결정 대장에만 추가할 수 있습니다(Excel 파일은 다시 쓰지 않습니다).",
                          "Decisions are appended to a CSV ledger only (an Excel file would have to be rewritten).")
    descriptor, _ = load_ledger_config(Path(schemas_dir) if schemas_dir else ledger_path.resolve().parents[2] / "schemas")
    row = prepare_decision(decision)
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(ledger_path.parent / ".decisions.lock"):
        row["decision_id"] = next_decision_id(ledger_path.parent, descriptor)
        if not ledger_path.exists() or ledger_path.stat().st_size == 0:
            header = [c.label_ko for c in descriptor.columns]
            ledger_path.write_bytes("\ufeff".encode() + csv_line(header, "\r\n").encode("utf-8"))
        append_row(ledger_path, row, descriptor)
    return row["decision_id"]


def prepare_decision(decision: dict) -> dict[str, str]:
    """The decision as ledger cells (canonical names; target_file / target_row), or LedgerError."""
    cells = {name: "" if decision.get(name) is None else str(decision[name]).strip() for name in (
        "decided_by", "action", "dataset", "source_file", "source_row", "record_id", "column", "new_value", "reason")}
    cells["action"] = {"수정": "correct", "면제": "waive", "제외": "exclude"}.get(cells["action"], cells["action"].lower())
    expires, stamp = decision.get("expires_date"), decision.get("decided_at") or datetime.now(KST)
    cells["expires_date"] = expires.isoformat() if isinstance(expires, date) else str(expires or "").strip()
    cells["decided_at"] = stamp.isoformat(timespec="seconds") if isinstance(stamp, datetime) else str(stamp)
    problems = [
        (cells["action"] not in ACTIONS, "조치는 correct|waive|exclude(수정|면제|제외) 중 하나", "action must be correct|waive|exclude"),
        (not re.fullmatch(r"[0-9a-f]{16}", cells["record_id"]), "레코드ID는 16자리 영숫자", "record_id must be 16 hex characters"),
        (not cells["dataset"], "데이터셋이 필요합니다", "dataset is required"),
        (not cells["decided_by"], "결정자가 필요합니다", "who decided (decided_by) is required"),
        (not cells["reason"], "사유가 필요합니다", "a reason is required"),
        (cells["action"] == "correct" and not (cells["column"] and cells["new_value"]),
         "수정에는 열과 새 값이 필요합니다", "a correction needs a column and a new value"),
        (any(re.match(_FORMULA_LIKE, v) for v in cells.values()), "'=', '@' 등으로 시작하는 값은 Excel 수식으로 실행될 수 있어 기록하지 않습니다",
         "values starting like an Excel formula ('=', '@', ...) are not recorded"),
        (bool(pl.select(contains_personal_number(pl.lit(cells["new_value"] + " " + cells["reason"]))).item()),
         "새 값이나 사유에 주민등록번호·전화번호로 보이는 값이 있습니다", "the new value or reason holds what looks like a personal number"),
    ]
    failed = [(ko, en) for bad, ko, en in problems if bad]
    if failed:
        raise LedgerError("; ".join(ko for ko, _ in failed) + ".", "; ".join(en for _, en in failed) + ".")
    cells["target_file"], cells["target_row"] = cells.pop("source_file"), cells.pop("source_row")
    return cells


def next_decision_id(folder: Path, descriptor: Descriptor) -> str:
    """One past the highest decision number in any ledger of `folder`."""
    numbers = [0]
    for path in list_delivery_files(folder, descriptor):
        if path.stat().st_size:
            try:
                frame = read_delivery(path, descriptor, path.name).frame
            except DeliveryError as error:
                raise LedgerError(f"결정 대장 {path.name}을(를) 읽을 수 없어 번호를 매길 수 없습니다: {error.message_ko}",
                                  f"Cannot number the decision: ledger {path.name} is unreadable: {error.message_en}") from None
            numbers.append(frame.select(decision_number(pl.col("decision_id")).max()).item() or 0)
    return f"D-{max(numbers) + 1:06d}"


def decision_number(expr: pl.Expr) -> pl.Expr:
    """D-000012 -> 12: decisions are ordered by number, not by the hand-editable decided_at."""
    return expr.str.extract(r"(\d+)$", 1).cast(pl.Int64)


def append_row(ledger_path: Path, row: dict[str, str], descriptor: Descriptor) -> None:
    """Append `row` under the ledger's header, in its encoding and line ending."""
    data = ledger_path.read_bytes()
    grid, encoding = read_csv_grid(ledger_path, ledger_path.name)
    try:
        header = find_header_index(grid, descriptor, ledger_path.name)
        mapping, _ = map_headers(list(grid.row(header)), grid.columns, descriptor, ledger_path.name)
    except DeliveryError as error:
        raise LedgerError(error.message_ko, error.message_en) from None
    lost = [descriptor.column(n).label_ko for n, v in row.items() if v and n not in mapping.values()]
    if lost:
        raise LedgerError(f"결정 대장 머리글에 열이 없습니다: {', '.join(lost)}. 열을 추가해 주세요.",
                          f"The ledger header lacks column(s) {', '.join(lost)}; add them.")
    newline = "\r\n" if b"\r\n" in data else "\n"
    line = csv_line([row.get(mapping.get(c, ""), "") for c in grid.columns], newline)
    prefix = "" if data.endswith(b"\n") else newline
    try:
        encoded = (prefix + line).encode("utf-8" if encoding.startswith("utf-8") else encoding)
    except UnicodeEncodeError:
        raise LedgerError("CP949 결정 대장에 저장할 수 없는 문자가 있습니다. 대장을 'CSV UTF-8'로 다시 저장해 주세요.",
                          "A character cannot be stored in this CP949 ledger; re-save the ledger as 'CSV UTF-8'.") from None
    with ledger_path.open("ab") as handle:
        handle.write(encoded)


def csv_line(cells: list[str], newline: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerow(cells)
    return buffer.getvalue()
