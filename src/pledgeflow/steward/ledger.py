"""The steward decisions ledger, read: typed, every problem named (appending is `ledger_writer`).

A decision is one ledger row (`raw/decisions/*.csv|xlsx`, editable in Excel): correct (set a delivered
column to a new text), waive (accept a quarantined record as it is, optionally until an expiry date) or
exclude (keep a record out of the indicators). Every decision names its record by `record_id`, the
content digest of the record as delivered.

Reading never raises on bad content: a row with a problem keeps what could be read and says why in
problem_rule / problem_ko / problem_en (`pledgeflow.steward.decisions` then reports it `invalid`, never applies
it); a ledger file that cannot be read at all becomes one such row.
Matching decisions to records and applying them is `pledgeflow.steward.decisions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl


from pledgeflow import korean
from pledgeflow.catalog import ID_COLUMNS, Catalog, Descriptor, normalise_label, normalise_label_expr, pseudonym_column
from pledgeflow.clock import naive_as_seoul
from pledgeflow.contracts import ROW, conform
from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.read import list_delivery_files, read_delivery
from pledgeflow.privacy import mask_personal_numbers

if TYPE_CHECKING:
    from pledgeflow.project import Project

LEDGER_FILE = "decisions.csv"
ACTIONS = ("correct", "waive", "exclude")
LEDGER_SCHEMA = {
    "ledger_file": pl.String, "ledger_row": pl.Int64, "decision_id": pl.String,
    "decided_at": pl.Datetime("us", "UTC"), "decided_by": pl.String, "action": pl.String, "dataset": pl.String,
    "source_file": pl.String, "source_row": pl.Int64, "record_id": pl.String, "column": pl.String,
    "new_value": pl.String, "reason": pl.String, "expires_date": pl.Date,
    "problem_rule": pl.String, "problem_ko": pl.String, "problem_en": pl.String,
}
# A cell Excel would run as a formula: never written into a ledger a steward opens.
FORMULA_LIKE = r"^(?:[=@]|[+\-][^\d\s.,])"


# ---- reading ----------------------------------------------------------------------------------


def load_decisions(path_or_dir: Path, project: Project) -> pl.DataFrame:
    """Every ledger row, typed (LEDGER_SCHEMA), sorted by ledger file and row; never raises on bad content.

    A row with problems keeps what could be read and says why in problem_rule / problem_ko / problem_en;
    a ledger file that cannot be read at all becomes one such row with a null ledger_row.
    """
    descriptor, config = project.ledger_descriptor, project.ledger_config
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
    typed = check_ledger(text, project)
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
    return pl.coalesce(aware, naive_as_seoul(naive)).dt.cast_time_unit("us")


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


def check_ledger(text: pl.DataFrame, project: Project) -> pl.DataFrame:
    """Type the ledger rows and attach each row's problems (parse, consistency, pandera contract)."""
    from pledgeflow.ingest.validate import check_schema, drop_shadowed

    descriptor, config, catalog = project.ledger_descriptor, project.ledger_config, project.catalog
    typed = resolve_columns(type_ledger(text, config, catalog), catalog)
    contract = [c for c in LEDGER_SCHEMA if not c.startswith("problem_")]
    flagged = [c for c in typed.columns if c.startswith("!")]
    flags = (
        typed.select(ROW, *flagged).unpivot(index=ROW, variable_name="cell", value_name="failed").filter("failed")
        .select(ROW, pl.col("cell").str.extract(r"^!([^:]+):", 1).alias("column"),
                pl.col("cell").str.extract(r":(.+)$", 1).alias("rule"))
    )
    schema_cases = check_schema(typed.select(ROW, *contract), project.ledger_schema())
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


def decision_number(expr: pl.Expr) -> pl.Expr:
    """D-000012 -> 12: decisions are ordered by number, not by the hand-editable decided_at."""
    return expr.str.extract(r"(\d+)$", 1).cast(pl.Int64)
