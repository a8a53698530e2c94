"""The steward decisions ledger: read it, append to it, match it to records, apply it, report lineage.

A decision is one ledger row (`raw/decisions/*.csv|xlsx`, editable in Excel): correct (set a delivered
column to a new text), waive (accept a quarantined record as it is, optionally until an expiry date) or
exclude (keep a record out of the indicators). Every decision names its record by `record_id`, the
content digest of the record as delivered, so it follows the record across re-deliveries and is
never applied to a record whose content changed: that is reported as `stale_changed`.

Rules, in order: a ledger row with a problem is `invalid` (never applied, never fatal); of several
decisions on the same record and slot (a correct's column, or the record's disposition for waive /
exclude) the one with the highest decision number wins and the others are `superseded`; a waive past
its `expires_date` is `expired`; then the record is looked up by record_id (`stale_changed` /
`stale_no_match` when that fails). Corrections are applied first and re-validated, then waivers and
exclusions. Only `append_decision` (the steward's command) writes to `raw/`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import yaml
from filelock import FileLock

from pledgeflow import korean
from pledgeflow.catalog import Catalog, Descriptor, load_catalog, load_descriptor, normalise_label
from pledgeflow.frames import DECISIONS_SCHEMA, conform
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
ROW = "_row"  # = validation.ROW, which is not imported at module top: pandera costs ~2 s to import
KEY = ["source_file", "source_row"]
LEDGER_SCHEMA = {
    "ledger_file": pl.String, "ledger_row": pl.Int64, "decision_id": pl.String,
    "decided_at": pl.Datetime("us", "UTC"), "decided_by": pl.String, "action": pl.String, "dataset": pl.String,
    "source_file": pl.String, "source_row": pl.Int64, "record_id": pl.String, "column": pl.String,
    "new_value": pl.String, "reason": pl.String, "expires_date": pl.Date,
    "problem_rule": pl.String, "problem_ko": pl.String, "problem_en": pl.String,
}
# The curated `decisions` table: one row per decision and what became of it.
LINEAGE_SCHEMA = DECISIONS_SCHEMA
OUTCOME_SCHEMA = {"decision_id": pl.String, "outcome": pl.String, "detail": pl.String}
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
        korean.parse_date(text).cast(pl.Datetime("us")),
    )
    return pl.coalesce(aware, naive.dt.replace_time_zone("Asia/Seoul").dt.convert_time_zone("UTC")).dt.cast_time_unit("us")


def column_catalog(catalog: Catalog) -> pl.DataFrame:
    """dataset, label (normalised), column, correctable: every name a steward may give a delivered column.

    Derived ids of failure reports (subproject_id) point at the delivered column they come from; a
    pseudonymised person column is known but not correctable (its raw value never reaches the pipeline).
    """
    from pledgeflow.validation import _ID_COLUMNS, pseudonym_column  # pandera-heavy: imported only when needed

    rows = []
    for dataset, descriptor in catalog.descriptors.items():
        for spec in descriptor.columns:
            names = {spec.name, spec.label_ko, *spec.aliases}
            names |= {_ID_COLUMNS[spec.type]} if spec.type in _ID_COLUMNS else set()
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


# ---- matching -----------------------------------------------------------------------------------


def decision_number(expr: pl.Expr) -> pl.Expr:
    """D-000012 -> 12: decisions are ordered by number, not by the hand-editable decided_at."""
    return expr.str.extract(r"(\d+)$", 1).cast(pl.Int64)


def record_locations(delivered: dict[str, pl.DataFrame], valid: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """dataset, found_file, found_row, current_record_id, matched_set for every record of this run."""
    parts = [
        frame.select(pl.lit(dataset).alias("dataset"), pl.col("source_file").alias("found_file"),
                     pl.col("source_row").alias("found_row"), pl.col("row_digest").str.slice(0, 16).alias("current_record_id"),
                     pl.lit(kind).alias("matched_set"))
        for kind, frames in (("quarantined", delivered), ("valid", valid))
        for dataset, frame in sorted(frames.items()) if frame.width
    ]
    schema = {"dataset": pl.String, "found_file": pl.String, "found_row": pl.Int64, "current_record_id": pl.String,
              "matched_set": pl.String}
    return pl.concat([pl.DataFrame(schema=schema), *(p.cast(schema) for p in parts)])


def match_decisions(decisions: pl.DataFrame, delivered: dict[str, pl.DataFrame], valid: dict[str, pl.DataFrame],
                    as_of: date) -> pl.DataFrame:
    """Each decision with its target record and an outcome so far.

    outcome: invalid | superseded | expired | stale_changed | stale_no_match | matched (to be applied);
    plus superseded_by, current_record_id, matched_set (quarantined | valid), matched_source_file / _row.
    By record_id, a record at the decision's own file and row is preferred, then a quarantined one.
    """
    base = decisions.with_row_index("_i").with_columns(
        pl.when(pl.col("action") == "correct").then(pl.col("column")).otherwise(pl.lit("*")).alias("_slot"))
    ok = base.filter(pl.col("problem_rule").is_null())
    winners = ok.group_by("dataset", "record_id", "_slot").agg(
        pl.col("decision_id").sort_by(decision_number(pl.col("decision_id"))).last().alias("superseded_by"))
    ok = ok.join(winners, on=["dataset", "record_id", "_slot"], how="left").with_columns(
        pl.when(pl.col("superseded_by") != pl.col("decision_id")).then("superseded_by").alias("superseded_by"))
    expired = (pl.col("action") == "waive") & (pl.col("expires_date") < pl.lit(as_of))
    pending = ok.filter(pl.col("superseded_by").is_null() & ~expired.fill_null(False))
    places = record_locations(delivered, valid)
    exact = (pl.col("found_file") == pl.col("source_file")) & (pl.col("found_row") == pl.col("source_row"))
    by_id = (
        pending.select("_i", "dataset", "record_id", "source_file", "source_row")
        .join(places, left_on=["dataset", "record_id"], right_on=["dataset", "current_record_id"], how="inner")
        .sort("_i", exact.fill_null(False), pl.col("matched_set") == "quarantined", "found_file", "found_row",
              descending=[False, True, True, False, False])
        .unique("_i", keep="first", maintain_order=True)
        .select("_i", "matched_set", pl.col("found_file").alias("matched_source_file"),
                pl.col("found_row").alias("matched_source_row"), pl.col("record_id").alias("current_record_id"))
    )
    by_place = (
        pending.join(by_id.select("_i"), on="_i", how="anti").select("_i", "dataset", "source_file", "source_row")
        .join(places.drop("matched_set"), left_on=["dataset", "source_file", "source_row"],
              right_on=["dataset", "found_file", "found_row"], how="inner")
        .select("_i", "current_record_id")
    )
    outcome = (
        pl.when(pl.col("problem_rule").is_not_null()).then(pl.lit("invalid"))
        .when(pl.col("superseded_by").is_not_null()).then(pl.lit("superseded"))
        .when(expired.fill_null(False)).then(pl.lit("expired"))
        .when(pl.col("matched_set").is_not_null()).then(pl.lit("matched"))
        .when(pl.col("current_record_id").is_not_null()).then(pl.lit("stale_changed"))
        .otherwise(pl.lit("stale_no_match"))
    )
    return (
        base.join(ok.select("_i", "superseded_by"), on="_i", how="left")
        .join(pl.concat([by_id, by_place], how="diagonal"), on="_i", how="left")
        .with_columns(outcome.alias("outcome"))
        .sort("_i").drop("_i", "_slot")
    )


# ---- applying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """The settled frames with corrected records replaced by their re-validated selves."""

    valid: dict[str, pl.DataFrame]
    quarantined: dict[str, pl.DataFrame]
    failures: pl.DataFrame
    delivered: dict[str, pl.DataFrame]
    corrected_failures: pl.DataFrame  # failures of corrected records that no longer occur: state `corrected`


def apply_corrections(delivered: dict[str, pl.DataFrame], corrections: pl.DataFrame, catalog: Catalog, schemas_dir: Path,
                      key: str, valid: dict[str, pl.DataFrame] | None = None) -> tuple[dict, pl.DataFrame]:
    """Patch each matched correction into its record's delivered view and re-validate those records.

    Returns ({dataset: ValidatedFrame of the patched records}, outcomes[decision_id, outcome, detail]) with
    outcome `applied` (now valid) or `still_failing` (detail lists the rules it still breaks). Records are
    found in `delivered` (quarantined, as delivered) and, when given, in `valid` (rebuilt from typed rows).
    Cross-dataset checks are not part of this re-validation (see `merge_corrections`).
    """
    from pledgeflow.validation import ValidatedFrame, typed_view, validate_frame

    todo = corrections.filter((pl.col("outcome") == "matched") & (pl.col("action") == "correct")).select(
        "decision_id", "dataset", pl.col("matched_source_file").alias("source_file"),
        pl.col("matched_source_row").alias("source_row"), "column", "new_value")
    revalidated, outcomes = {}, [pl.DataFrame(schema=OUTCOME_SCHEMA)]
    for dataset in sorted(set(todo["dataset"].to_list())):
        mine, descriptor = todo.filter(pl.col("dataset") == dataset), catalog.descriptors[dataset]
        views = [delivered[dataset].drop(ROW, strict=False)] if delivered.get(dataset) is not None and delivered[dataset].width else []
        views += [typed_view(valid[dataset], descriptor)] if valid and dataset in valid else []
        view = pl.concat([v.select(views[0].columns).cast(views[0].schema) for v in views]).join(
            mine.select(KEY).unique(), on=KEY, how="semi")
        checked = validate_frame(patch_view(view, mine), descriptor, catalog, Path(schemas_dir), key)
        result = ValidatedFrame(valid=checked.valid.drop(ROW), quarantined=checked.quarantined.drop(ROW),
                                failures=checked.failures.drop(ROW), delivered=checked.delivered.drop(ROW))
        revalidated[dataset] = result
        outcomes.append(correction_outcomes(mine, result.valid, result.failures))
    return revalidated, pl.concat(outcomes)


def patch_view(view: pl.DataFrame, corrections: pl.DataFrame) -> pl.DataFrame:
    """column := new_value for each (record, column) of `corrections`; other cells stay as delivered."""
    wide = corrections.pivot(on="column", index=KEY, values="new_value", aggregate_function="last")
    patched = [c for c in wide.columns if c not in KEY]
    return (
        view.join(wide.rename({c: f"__new_{c}" for c in patched}), on=KEY, how="left")
        .with_columns(pl.coalesce(f"__new_{c}", c).alias(c) for c in patched)
        .drop(f"__new_{c}" for c in patched)
    )


def correction_outcomes(corrections: pl.DataFrame, now_valid: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    still = (
        failures.filter(pl.col("severity") == "error")
        .select(*KEY, pl.format("{} ({})", "rule", pl.col("column").fill_null("-")).alias("failed"))
        .unique().sort("failed").group_by(KEY).agg(pl.col("failed").str.join(", ").alias("detail"))
    )
    return (
        corrections.join(now_valid.select(*KEY, pl.lit(True).alias("now_valid")), on=KEY, how="left")
        .join(still, on=KEY, how="left")
        .select("decision_id",
                pl.when(pl.col("now_valid")).then(pl.lit("applied")).otherwise(pl.lit("still_failing")).alias("outcome"),
                pl.when(pl.col("now_valid")).then(None).otherwise(pl.col("detail")).alias("detail"))
        .cast(OUTCOME_SCHEMA)
    )


def merge_corrections(valid: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame], failures: pl.DataFrame,
                      delivered: dict[str, pl.DataFrame], revalidated: dict) -> Merged:
    """Replace every re-validated record (by dataset, source_file, source_row) with its new self.

    Row conservation holds: each record leaves exactly one of valid / quarantined and re-enters one.
    Cross-dataset checks (duplicates, cited events, age band) are not re-run here: a pipeline that needs
    them for corrected records runs `crosscheck.apply_cross_checks` on the merged valid rows.
    """
    valid, quarantined, delivered = dict(valid), dict(quarantined), dict(delivered)
    kept, added, corrected = [failures], [], []
    for dataset, result in sorted(revalidated.items()):
        keys = pl.concat([result.valid.select(KEY), result.quarantined.select(KEY)])
        valid[dataset] = _replace(valid[dataset], keys, result.valid)
        quarantined[dataset] = _replace(quarantined[dataset], keys, result.quarantined)
        if delivered.get(dataset) is not None and delivered[dataset].width:
            delivered[dataset] = _replace(delivered[dataset], keys, result.delivered)
        touched = keys.with_columns(pl.lit(dataset).alias("dataset"))
        old = failures.join(touched, on=["dataset", *KEY], how="semi")
        kept = [kept[0].join(touched, on=["dataset", *KEY], how="anti")]
        added.append(result.failures.select(failures.columns))
        corrected.append(old.join(result.failures.select("fingerprint"), on="fingerprint", how="anti"))
    return Merged(valid, quarantined, pl.concat([*kept, *added]), delivered,
                  pl.concat([failures.clear(), *corrected]))


def _replace(frame: pl.DataFrame, keys: pl.DataFrame, new_rows: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame.join(keys, on=KEY, how="anti"), new_rows.select(frame.columns).cast(frame.schema)]).sort(KEY)


def apply_waivers_and_exclusions(valid: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                                 decisions_matched: pl.DataFrame) -> tuple[dict, dict, dict, pl.DataFrame]:
    """Waive moves a quarantined record to valid; exclude moves a valid or quarantined record to excluded.

    Returns (valid, quarantined, excluded {dataset: typed rows + decision_id}, outcomes[decision_id,
    outcome, detail]). Records are located by the matched file and row (corrections keep them). Every
    record stays in exactly one of valid / quarantined / excluded.
    """
    todo = decisions_matched.filter((pl.col("outcome") == "matched") & pl.col("action").is_in(["waive", "exclude"])).select(
        "decision_id", "action", "dataset", pl.col("matched_source_file").alias("source_file"),
        pl.col("matched_source_row").alias("source_row"))
    out_valid, out_held, excluded, outcomes = {}, {}, {}, [pl.DataFrame(schema=OUTCOME_SCHEMA)]
    for dataset in sorted(valid):
        mine = todo.filter(pl.col("dataset") == dataset)
        drop = mine.filter(pl.col("action") == "exclude").select("decision_id", *KEY)
        waive = mine.filter(pl.col("action") == "waive").select(KEY)
        good, held = valid[dataset], quarantined[dataset]
        excluded[dataset] = pl.concat([good.join(drop, on=KEY, how="inner"), held.join(drop, on=KEY, how="inner")]).sort(KEY)
        moved = held.join(waive, on=KEY, how="semi").join(drop, on=KEY, how="anti")
        out_valid[dataset] = pl.concat([good.join(drop, on=KEY, how="anti"), moved]).sort(KEY)
        out_held[dataset] = held.join(drop, on=KEY, how="anti").join(waive, on=KEY, how="anti").sort(KEY)
        outcomes.append(disposition_outcomes(mine, good.select(KEY), held.select(KEY)))
    return out_valid, out_held, excluded, pl.concat(outcomes)


def disposition_outcomes(decisions: pl.DataFrame, valid_keys: pl.DataFrame, held_keys: pl.DataFrame) -> pl.DataFrame:
    located = decisions.join(valid_keys.with_columns(pl.lit("valid").alias("found")), on=KEY, how="left").join(
        held_keys.with_columns(pl.lit("quarantined").alias("held")), on=KEY, how="left")
    found = pl.coalesce("held", "found")
    return located.select(
        "decision_id",
        pl.when(found.is_null()).then(pl.lit("stale_no_match")).otherwise(pl.lit("applied")).alias("outcome"),
        pl.when((pl.col("action") == "waive") & (found == "valid")).then(pl.lit("already_valid")).alias("detail"),
    ).cast(OUTCOME_SCHEMA)


# ---- lineage ------------------------------------------------------------------------------------


def decision_lineage(matched: pl.DataFrame, *outcomes: pl.DataFrame) -> pl.DataFrame:
    """The curated `decisions` table (LINEAGE_SCHEMA): one row per decision, its outcome and why.

    `matched` is `match_decisions`' result; `outcomes` are those of `apply_corrections` and
    `apply_waivers_and_exclusions` (a later one overrides an earlier one for the same decision).
    """
    results = pl.concat([pl.DataFrame(schema=OUTCOME_SCHEMA), *(o.select(list(OUTCOME_SCHEMA)) for o in outcomes)])
    results = results.unique("decision_id", keep="last", maintain_order=True).rename({"outcome": "result"})
    settled = matched.join(results, on="decision_id", how="left").with_columns(
        pl.when(pl.col("outcome") == "matched").then("result").otherwise("outcome").alias("outcome"))
    unsettled = settled.filter(pl.col("outcome").is_null())["decision_id"].to_list()
    if unsettled:
        raise ValueError(f"decisions matched but never applied (pipeline wiring): {', '.join(unsettled)}")
    at_record = pl.col("matched_source_file").is_not_null()
    masked = settled.with_columns(
        mask_personal_numbers(pl.col("new_value")).alias("new_value"), mask_personal_numbers(pl.col("reason")).alias("reason"),
        pl.when(at_record).then("matched_source_file").otherwise("source_file").alias("source_file"),
        pl.when(at_record).then("matched_source_row").otherwise("source_row").alias("source_row"),
    )
    return (
        masked.with_columns(*lineage_messages())
        .select(list(LINEAGE_SCHEMA)).cast(LINEAGE_SCHEMA)
        .sort("decision_id", "ledger_file", "ledger_row", nulls_last=True)
    )


def lineage_messages() -> tuple[pl.Expr, pl.Expr]:
    """message_ko, message_en for every outcome, naming what the steward needs to act on."""
    def text(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String).fill_null("-")

    outcome, action, detail = pl.col("outcome"), pl.col("action"), pl.col("detail")
    place_ko = pl.format("{} {}행", text("source_file"), text("source_row"))
    place_en = pl.format("{} row {}", text("source_file"), text("source_row"))
    cases = [
        (outcome == "invalid",
         pl.format("결정 대장 {} {}행에 문제가 있어 적용하지 않았습니다: {}", text("ledger_file"), text("ledger_row"), text("problem_ko")),
         pl.format("Ledger {} row {} has a problem, not applied: {}", text("ledger_file"), text("ledger_row"), text("problem_en"))),
        (outcome == "superseded",
         pl.format("같은 레코드에 대한 이후 결정 {}(으)로 대체되었습니다.", text("superseded_by")),
         pl.format("Superseded by the later decision {} on the same record.", text("superseded_by"))),
        (outcome == "expired",
         pl.format("면제가 만료되었습니다(만료일 {}). 레코드는 격리 상태로 남습니다.", text("expires_date")),
         pl.format("The waiver expired on {}; the record stays quarantined.", text("expires_date"))),
        (outcome == "stale_changed",
         pl.format("결정 이후 {} 레코드의 내용이 바뀌었습니다(레코드ID {} → {}). 적용하지 않았습니다. 다시 검토해 새로 결정하세요.",
                   place_ko, text("record_id"), text("current_record_id")),
         pl.format("The record at {} changed since the decision (record_id {} -> {}); not applied. Review it and decide again.",
                   place_en, text("record_id"), text("current_record_id"))),
        (outcome == "stale_no_match",
         pl.format("레코드ID {}인 레코드가 이번 실행에 없습니다(다시 제출되며 바뀌었거나 삭제됨). 적용하지 않았습니다.", text("record_id")),
         pl.format("No record with record_id {} in this run (re-delivered with other content, or removed); not applied.",
                   text("record_id"))),
        (outcome == "still_failing",
         pl.format("[{}] 값을 '{}'(으)로 고쳐 다시 검증했지만 여전히 실패합니다: {}", text("column"), text("new_value"), text("detail")),
         pl.format("{} set to '{}' and re-validated, but the record still fails: {}", text("column"), text("new_value"), text("detail"))),
        (action == "correct",
         pl.format("수정 적용: [{}] 값을 '{}'(으)로 고쳐 다시 검증했고 통과했습니다.", text("column"), text("new_value")),
         pl.format("Correction applied: {} set to '{}'; the re-validated record is valid.", text("column"), text("new_value"))),
        ((action == "waive") & (detail == "already_valid"),
         pl.lit("면제할 실패가 없습니다(이미 유효한 레코드)."), pl.lit("Nothing to waive: the record is already valid.")),
        (action == "waive",
         pl.format("면제 적용: 검증 실패가 있는 그대로 유효 레코드로 인정했습니다(만료일 {}).", text("expires_date")),
         pl.format("Waiver applied: the record is accepted as it is (expires {}).", text("expires_date"))),
    ]
    default_ko = pl.lit("제외 적용: 이 레코드를 지표 집계에서 제외했습니다.")
    default_en = pl.lit("Exclusion applied: the record is kept out of the indicators.")
    ko, en = pl.when(cases[0][0]).then(cases[0][1]), pl.when(cases[0][0]).then(cases[0][2])
    for condition, message_ko, message_en in cases[1:]:
        ko, en = ko.when(condition).then(message_ko), en.when(condition).then(message_en)
    return ko.otherwise(default_ko).alias("message_ko"), en.otherwise(default_en).alias("message_en")


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
