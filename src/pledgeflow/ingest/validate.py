"""Validation: text cells -> typed columns -> pandera -> failures, valid rows, quarantine.

Parsing comes first (pandera's string coercion stops at the first bad column and
cannot parse Korean dates), keeping every cell that does not parse as a failure.
The typed frame is then checked against the dataset's pandera YAML schema with
`lazy=True`, so every failure of every row is collected. Every row ends in
exactly one of `valid` or `quarantined`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import pandera.errors
import polars as pl

from pledgeflow import korean
from pledgeflow.catalog import ID_COLUMNS, Catalog, Descriptor, normalise_label_expr, pseudonym_column
from pledgeflow.contracts import FAILURE_SCHEMA, ROW, record_id, record_key
from pledgeflow.ingest.ranges import name_ranges, name_terms
from pledgeflow.ingest.guard import echo_extra_fields, extra_field_failures
from pledgeflow.privacy import contains_personal_number, keyed_digest, mask_columns, mask_personal_numbers, pseudonymise

if TYPE_CHECKING:
    import pandera.polars as pa

    from pledgeflow.project import Project

PANDERA_RULE_ALIASES = {"not_nullable": "required"}
PARSERS = {"int": korean.parse_int, "date": korean.parse_date}
# A delivery fits in memory, where polars 2's default streaming engine costs more to start than it saves
# (BENCHMARKS.md); queries over the whole history (settle, aggregate) keep the default: it holds less at once.
ENGINE = "in-memory"


@dataclass(frozen=True)
class ValidatedFrame:
    """One dataset's rows after validation: typed valid rows, typed quarantined rows, failures."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    failures: pl.DataFrame
    delivered: pl.DataFrame  # quarantined rows as delivered: text, masked, person keys pseudonymised


def parse_columns(raw: pl.DataFrame, descriptor: Descriptor, catalog: Catalog, key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Text frame -> (typed frame, parse failures[_row, column, rule]).

    The typed frame keeps `_row`, the source columns and a keyed `row_digest` of the delivered
    content (for failure fingerprints that survive re-deliveries); pseudonymised columns are replaced.
    A frame that is already pseudonymised (a delivered view, re-validated after a steward's
    correction) keeps its pseudonyms and its original `row_digest`.
    """
    digest = pl.col("row_digest") if "row_digest" in raw.columns else _row_digest(descriptor, key)
    typed: list[pl.Expr] = [pl.col(ROW), pl.col("source_file"), pl.col("source_row"), digest]
    flags: list[tuple[str, str, pl.Expr]] = []
    # numbers and dates are parsed once, in a first step, with their parse-failure flag
    parsed = {spec.name: korean.parse_distinct(
                  pl.col(spec.name), partial(_parse_cell, parse=PARSERS[spec.type], none_means=spec.none_means))
              for spec in descriptor.columns if spec.type in PARSERS and spec.personal != "pseudonymise"}
    for spec in descriptor.columns:
        raw_col = pl.col(spec.name)
        if spec.personal == "pseudonymise" and pseudonym_column(spec.name) in raw.columns:
            typed.append(pl.col(pseudonym_column(spec.name)))
        elif spec.personal == "pseudonymise":
            typed.append(pseudonymise(_text(raw_col), key).alias(pseudonym_column(spec.name)))
        elif spec.type in ("int", "date"):
            cell = pl.col(_parsed(spec.name))
            typed.append(cell.struct.field("value").alias(spec.name))
            flags.append((spec.name, "parse_number" if spec.type == "int" else "parse_date", cell.struct.field("invalid")))
        elif spec.type == "brn":
            typed.append(_text(raw_col).str.replace_all(r"[-\s]", "").alias(spec.name))
        elif spec.type in ID_COLUMNS:
            mapping = catalog.subproject_aliases if spec.type == "subproject" else catalog.channel_aliases
            label = korean.parse_distinct(raw_col, _text)  # a handful of labels over thousands of rows
            resolved = korean.parse_distinct(raw_col, lambda cell, m=mapping: _resolve_label(cell, m))
            typed += [label.alias(spec.name), resolved.alias(ID_COLUMNS[spec.type])]
            flags.append((ID_COLUMNS[spec.type], f"unknown_{spec.type}", label.is_not_null() & resolved.is_null()))
        else:
            # names, event ids and notes repeat from row to row (many hires per employer and event)
            typed.append(korean.parse_distinct(raw_col, _text).alias(spec.name))
    # one lazy query: numbers and dates are parsed in a first step, the typed columns and flags read them
    marks = [flag.alias(f"{col}\x1f{rule}") for col, rule, flag in flags]
    both = raw.lazy().with_columns(expr.alias(_parsed(name)) for name, expr in parsed.items()).select(*typed, *marks).collect(engine=ENGINE)
    frame = both.select([name for name in both.columns if "\x1f" not in name])
    return frame, _flagged_cells(both.select(ROW, *[m.meta.output_name() for m in marks]))


def _parse_cell(cell: pl.Expr, parse, none_means: str = "none") -> pl.Expr:
    # a cell is invalid when it is not "none" and did not parse; a count column's "-" (Excel's accounting
    # zero " - ") is 0 when its descriptor says `none_means: zero`, an empty cell stays null
    value = parse(cell)
    if none_means == "zero":
        value = pl.when(korean.is_dash(cell)).then(pl.lit(0, dtype=pl.Int64)).otherwise(value)
    return pl.struct(value.alias("value"), (~korean.is_none_marker(cell) & value.is_null()).alias("invalid"))


def _text(cell: pl.Expr) -> pl.Expr:
    # "-" means none on Korean forms, in text cells as much as in numbers
    return pl.when(korean.is_none_marker(cell)).then(None).otherwise(korean.clean_text(cell))


def _resolve_label(cell: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    return normalise_label_expr(_text(cell)).replace_strict(mapping, default=None, return_dtype=pl.String)


def _parsed(name: str) -> str:
    return f"{name}\x1eparsed"


def _row_digest(descriptor: Descriptor, key: str) -> pl.Expr:
    # the cells exactly as delivered (no cleaning: it would cost more than the hash itself)
    cells = [pl.col(c.name).fill_null("") for c in descriptor.columns]
    # 128 bits identify a record among billions; the full 256-bit hex doubled the memory it takes
    return keyed_digest(pl.concat_str(cells, separator="\x1f"), key).str.slice(0, 32).alias("row_digest")


def _flagged_cells(marked: pl.DataFrame) -> pl.DataFrame:
    """Boolean columns named "column\x1frule", one row per cell -> the cells that failed."""
    schema = {ROW: pl.UInt32, "column": pl.String, "rule": pl.String}
    if marked.width == 1:
        return pl.DataFrame(schema=schema)
    long = marked.unpivot(index=ROW, variable_name="cell", value_name="failed").filter(pl.col("failed"))
    parts = pl.col("cell").str.split_exact("\x1f", 1)
    return long.select(pl.col(ROW), parts.struct.field("field_0").alias("column"),
                       parts.struct.field("field_1").alias("rule")).cast(schema)


def check_schema(typed: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """pandera (lazy) over the typed frame -> failures[_row, column, rule]."""
    try:
        schema.validate(typed.drop(ROW), lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pl.DataFrame(schema={ROW: pl.UInt32, "column": pl.String, "rule": pl.String})
    if cases.filter(pl.col("index").is_null()).height:
        # a column missing or of the wrong type means the code, not the data, is wrong
        raise RuntimeError(f"schema {schema.name} does not fit the typed frame:\n{cases.filter(pl.col('index').is_null())}")
    rule = pl.col("check").str.extract(r"^([A-Za-z_]+)", 1)
    positions = typed.select(pl.col(ROW)).with_row_index("index")
    return (
        cases.select(pl.col("index").cast(pl.UInt32), pl.col("column"), rule.replace(PANDERA_RULE_ALIASES).alias("rule"),
                     (pl.col("schema_context") == "DataFrameSchema").alias("frame_level"))
        .join(positions, on="index", how="left")
        .with_columns(pl.when("frame_level").then(None).otherwise(pl.col("column")).alias("column"))
        .select(ROW, "column", "rule")
    )


def describe_failures(cells: pl.DataFrame, raw: pl.DataFrame, typed: pl.DataFrame, descriptor: Descriptor, rules: pl.DataFrame) -> pl.DataFrame:
    """failures[_row, column, rule] -> the steward's failure rows (FAILURE_SCHEMA + fingerprint, _row).

    `value` echoes the cell as delivered (masked); a pseudonymised column echoes the pseudonym.
    """
    located = cells.join(rules.select("rule", "rule_column"), on="rule", how="left").with_columns(
        pl.coalesce("column", "rule_column").alias("column")
    )
    failing = typed.filter(pl.col(ROW).is_in(cells[ROW].implode()))  # keys for the failing rows only
    keys = failing.select(ROW, "source_file", "source_row", "row_digest", record_key(descriptor.record_key))
    values = _echo_values(located, raw, typed, descriptor)
    with_values = located.join(keys, on=ROW, how="left").join(values, on=[ROW, "column"], how="left")
    return finish_failures(with_values, descriptor, rules).unique(
        subset=[ROW, "column", "rule"], keep="first", maintain_order=True
    )


def column_labels(descriptor: Descriptor) -> dict[str, str]:
    """Column (typed or derived) -> the Korean header a steward sees in the delivered file."""
    labels = {c.name: c.label_ko for c in descriptor.columns}
    labels |= {ID_COLUMNS[c.type]: c.label_ko for c in descriptor.columns if c.type in ID_COLUMNS}
    labels |= {pseudonym_column(c.name): c.label_ko for c in descriptor.columns if c.personal == "pseudonymise"}
    return labels


def finish_failures(cells: pl.DataFrame, descriptor: Descriptor, rules: pl.DataFrame) -> pl.DataFrame:
    """Add severity, messages and a stable fingerprint to located failures; FAILURE_SCHEMA + fingerprint.

    Messages start with the column's Korean header, so a steward finds the cell in the file they opened.

    `cells` has source_file, source_row, record_key, row_digest, column, rule, value (already masked).
    The fingerprint depends on the delivered content, not on file names or row numbers, so it survives
    reruns and re-deliveries.
    """
    fingerprint = keyed_digest(
        pl.concat_str([pl.lit(descriptor.dataset), "rule", pl.col("column").fill_null(""), "row_digest"], separator="\x1f"),
        "fingerprint",
    ).str.slice(0, 16)
    extra = [c for c in (ROW,) if c in cells.columns]
    label = pl.col("column").replace_strict(column_labels(descriptor), default=pl.col("column"), return_dtype=pl.String)
    prefix_ko = pl.when(pl.col("column").is_not_null()).then(pl.format("[{}] ", label)).otherwise(pl.lit(""))
    prefix_en = pl.when(pl.col("column").is_not_null()).then(pl.format("[{}] ", "column")).otherwise(pl.lit(""))
    return (
        cells.drop([c for c in ("rule_column", "rule_severity", "message_ko", "message_en") if c in cells.columns])
        .join(rules, on="rule", how="left")
        .with_columns(
            pl.lit(descriptor.dataset).alias("dataset"),
            pl.col("rule_severity").fill_null("error").alias("severity"),
            (prefix_ko + pl.col("message_ko").fill_null("검증 규칙 위반: " + pl.col("rule"))).alias("message_ko"),
            (prefix_en + pl.col("message_en").fill_null("Validation rule failed: " + pl.col("rule"))).alias("message_en"),
            fingerprint.alias("fingerprint"),
            record_id(pl.col("row_digest")).alias("record_id"),
        )
        .select(*FAILURE_SCHEMA, "fingerprint", *extra)
        .cast(FAILURE_SCHEMA)
    )


def _echo_values(failures: pl.DataFrame, raw: pl.DataFrame, typed: pl.DataFrame, descriptor: Descriptor) -> pl.DataFrame:
    """(_row, column) -> masked value as delivered, for the failing cells only."""
    source_of = {ID_COLUMNS.get(c.type, c.name): c.name for c in descriptor.columns if c.personal != "pseudonymise"}
    pseudonyms = [pseudonym_column(c.name) for c in descriptor.columns if c.personal == "pseudonymise"]
    rows = failures.select(ROW).unique()
    delivered = raw.join(rows, on=ROW, how="semi").select(ROW, *[pl.col(src).alias(col) for col, src in source_of.items()])
    delivered = delivered.join(typed.join(rows, on=ROW, how="semi").select(ROW, *pseudonyms), on=ROW)
    return (
        delivered.unpivot(index=ROW, variable_name="column", value_name="value")
        .with_columns(mask_personal_numbers(pl.col("value")).alias("value"))
    )


def drop_shadowed(failures: pl.DataFrame) -> pl.DataFrame:
    """A cell that did not parse is null in the typed frame: drop pandera's echo of that null."""
    primary = failures.filter(pl.col("rule").str.starts_with("parse_") | pl.col("rule").str.starts_with("unknown_"))
    shadow = failures.filter(pl.col("rule") == "required").join(primary, on=[ROW, "column"], how="semi")
    return failures.join(shadow, on=[ROW, "column", "rule"], how="anti")


def delivered_view(raw: pl.DataFrame, typed: pl.DataFrame, descriptor: Descriptor) -> pl.DataFrame:
    """Rows as delivered, safe to show: every cell masked, person keys replaced by their pseudonym.

    This is what a steward sees in the review pack and what a correction is applied to.
    """
    columns = []
    for spec in descriptor.columns:
        if spec.personal == "pseudonymise":
            columns.append(pl.col(pseudonym_column(spec.name)))
        else:
            columns.append(mask_personal_numbers(korean.clean_text(pl.col(spec.name))).alias(spec.name))
    pseudonyms = [pseudonym_column(c.name) for c in descriptor.columns if c.personal == "pseudonymise"]
    ids = typed.select(ROW, "row_digest", *pseudonyms)
    rows = raw.drop([c for c in ("row_digest", *pseudonyms) if c in raw.columns])
    return rows.join(ids, on=ROW, how="inner").select(ROW, "source_file", "source_row", "row_digest", *columns)


def typed_view(typed: pl.DataFrame, descriptor: Descriptor) -> pl.DataFrame:
    """The delivered view's columns rebuilt from typed rows (rows that passed their own schema but were
    quarantined by a cross-dataset check: their text is no longer kept, their parsed values are)."""
    columns = [
        pl.col(pseudonym_column(c.name)) if c.personal == "pseudonymise"
        else mask_personal_numbers(pl.col(c.name).cast(pl.String)).alias(c.name)
        for c in descriptor.columns
    ]
    return typed.select("source_file", "source_row", "row_digest", *columns)


def split_quarantine(typed: pl.DataFrame, failures: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows with any error-severity failure go to quarantine; the rest are valid."""
    held = pl.col(ROW).is_in(failures.filter(pl.col("severity") == "error")[ROW].implode())
    return typed.filter(~held), typed.filter(held)


def validate_frame(raw: pl.DataFrame, descriptor: Descriptor, project: Project) -> ValidatedFrame:
    """Parse, validate and split one delivery's text frame (source_file, source_row + text columns)."""
    raw = raw.with_row_index(ROW)
    typed, parse_failures = parse_columns(raw, descriptor, project.catalog, project.key)
    schema_failures = check_schema(typed, project.raw_schema(descriptor.dataset))
    cells = drop_shadowed(pl.concat([parse_failures, schema_failures, extra_field_failures(raw)]))
    described = echo_extra_fields(describe_failures(cells, raw, typed, descriptor, project.rules), raw)
    failures = name_terms(name_ranges(described, project.raw_schema(descriptor.dataset)), typed, project.catalog)
    valid, quarantined = (mask_text_columns(rows, descriptor) for rows in split_quarantine(typed, failures))
    delivered = delivered_view(raw.join(quarantined.select(ROW), on=ROW, how="semi"), typed, descriptor)
    return ValidatedFrame(valid=valid, quarantined=quarantined, failures=failures, delivered=delivered)


def mask_text_columns(typed: pl.DataFrame, descriptor: Descriptor) -> pl.DataFrame:
    """Once checked, every text cell is kept masked: no personal number travels on (cache, decisions, tables),
    whichever column it was typed into. Pseudonyms and digests are hex and never match."""
    keep = {"source_file", "row_digest", *(pseudonym_column(c.name) for c in descriptor.columns if c.personal == "pseudonymise")}
    text = [name for name, dtype in typed.schema.items() if dtype == pl.String and name not in keep]
    # masking runs its detection over every cell: over the distinct cells first, to skip columns with nothing to mask
    if not text:
        return typed
    looked = typed.lazy().select(contains_personal_number(pl.col(name).unique()).any() for name in text)
    found = looked.collect(engine=ENGINE).row(0, named=True)
    return mask_columns(typed, pl.col(name for name in text if found[name]))
