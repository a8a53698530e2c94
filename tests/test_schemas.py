"""Tests for the raw-dataset pandera schemas, rules.yaml and their agreement with catalog.yaml and the code."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest
import yaml

from pledgeflow.catalog import load_catalog
from pledgeflow.ingest.checks import register_checks
from pledgeflow.ingest.validate import PANDERA_RULE_ALIASES, ROW, parse_columns, pseudonym_column

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
CATALOG = load_catalog(SCHEMAS)
DATASETS = ("placements", "training_cohorts", "job_fairs")
RULES = yaml.safe_load((SCHEMAS / "rules.yaml").read_text(encoding="utf-8"))["rules"]
CATALOG_YAML = yaml.safe_load((SCHEMAS / "catalog.yaml").read_text(encoding="utf-8"))
# Rules the code emits itself (parsing, cross-checks, ingestion), besides the checks named in the schemas.
HANGUL = re.compile("[\uac00-\ud7a3]")
CODE_RULES = {
    "parse_date", "parse_number", "unknown_subproject", "unknown_channel", "required", "duplicate_record",
    "event_not_found", "hired_before_event", "outside_mid_career_age", "file_unreadable",
}


def load(dataset: str) -> pa.DataFrameSchema:
    """The schema as a run validates with it: the YAML, its catalog checks compiled from the catalog."""
    from tests.conftest import make_project

    return make_project().raw_schema(dataset)


def load_yaml(dataset: str) -> pa.DataFrameSchema:
    register_checks()
    return pa.DataFrameSchema.from_yaml(SCHEMAS / f"{dataset}.schema.yaml")


def check_names(schema: pa.DataFrameSchema) -> set[str]:
    """The rule each check reports as: its error's leading name when it has one (as validation reads it), else its name."""
    checks = [*schema.checks, *(check for column in schema.columns.values() for check in column.checks)]
    return {re.match(r"[A-Za-z_]+", check.error).group() if check.error else check.name for check in checks}


@pytest.mark.parametrize("dataset", DATASETS)
def test_schema_round_trips_through_yaml(dataset):
    schema = load_yaml(dataset)
    text = schema.to_yaml()
    again = pa.DataFrameSchema.from_yaml(text)
    assert again == schema
    assert again.to_yaml() == text
    assert check_names(again) == check_names(schema)


@pytest.mark.parametrize("dataset", DATASETS)
def test_schema_and_columns_are_described(dataset):
    schema = load(dataset)
    assert schema.name == dataset and schema.description
    undescribed = [name for name, column in schema.columns.items() if not (column.description or "").strip()]
    assert undescribed == []


SUBPROJECT_IDS = [s["subproject_id"] for p in CATALOG_YAML["pledges"] for s in p["subprojects"]]
CHANNEL_IDS = [c["channel_id"] for c in CATALOG_YAML["channels"]]


@pytest.mark.parametrize(
    ("dataset", "column", "catalog_ids"),
    [
        ("placements", "subproject_id", SUBPROJECT_IDS),
        ("placements", "channel_id", CHANNEL_IDS),
        ("training_cohorts", "subproject_id", SUBPROJECT_IDS),
        ("job_fairs", "subproject_id", SUBPROJECT_IDS),
    ],
)
def test_isin_lists_equal_the_catalog_ids(dataset, column, catalog_ids):
    isin = [check for check in load(dataset).columns[column].checks if check.name == "isin"]
    assert len(isin) == 1
    assert sorted(isin[0].statistics["allowed_values"]) == sorted(catalog_ids)


@pytest.mark.parametrize("dataset", DATASETS)
def test_date_in_term_bounds_equal_the_catalog_term(dataset):
    term = {s["subproject_id"]: [str(p["term_start_date"]), str(p["term_end_date"])] for p in CATALOG_YAML["pledges"] for s in p["subprojects"]}
    bounds = [
        check.statistics["terms"]
        for column in load(dataset).columns.values()
        for check in column.checks
        if check.name == "date_in_pledge_term"
    ]
    assert bounds and all(b == term for b in bounds)


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_yaml_names_no_pledge_sub_project_or_term(dataset):
    """A pledge is added by configuration alone: the dataset schemas never list what the catalog says."""
    text = (SCHEMAS / f"{dataset}.schema.yaml").read_text(encoding="utf-8")
    for word in (*SUBPROJECT_IDS, "2018-07-01", "2022-06-30"):
        assert word not in text, word
    names = check_names(load_yaml(dataset))
    assert {"known_subproject", "in_pledge_term"} <= names


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_typed_frame_fits_the_schema(dataset):
    descriptor = CATALOG.descriptors[dataset]
    raw = pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int64, **{c.name: pl.String for c in descriptor.columns}})
    typed, _ = parse_columns(raw.with_row_index(ROW), descriptor, CATALOG, "k")
    schema = load(dataset)
    produced = {name: dtype for name, dtype in typed.schema.items() if name not in (ROW, "row_digest")}
    declared = {name: column.dtype.type for name, column in schema.columns.items()}
    assert produced == declared


@pytest.mark.parametrize("dataset", DATASETS)
def test_nullable_in_the_schema_matches_required_in_the_descriptor(dataset):
    schema = load(dataset)
    for spec in CATALOG.descriptors[dataset].columns:
        if spec.type in ("subproject", "channel"):
            # a looked-up column is required through its id, so an empty cell is reported once
            assert schema.columns[f"{spec.type}_id"].nullable is (not spec.required), (dataset, spec.name)
            assert schema.columns[spec.name].nullable, (dataset, spec.name)
            continue
        name = pseudonym_column(spec.name) if spec.personal == "pseudonymise" else spec.name
        assert schema.columns[name].nullable is (not spec.required), (dataset, name)


def emitted_rules() -> set[str]:
    from_schemas = set().union(*(check_names(load(d)) for d in DATASETS))
    return CODE_RULES | {PANDERA_RULE_ALIASES.get(name, name) for name in from_schemas}


def test_every_rule_the_code_can_emit_has_korean_and_english_messages():
    missing = sorted(emitted_rules() - set(RULES))
    assert missing == []
    for name in emitted_rules():
        rule = RULES[name]
        assert rule["severity"] in ("error", "warning"), name
        assert HANGUL.search(rule["message_ko"]), name
        assert rule["message_en"].strip() and not HANGUL.search(rule["message_en"]), name


def test_the_schemas_use_the_custom_checks():
    used = set().union(*(check_names(load(d)) for d in DATASETS))
    assert {"brn_check_digit", "date_in_term", "no_personal_number", "completed_le_enrolled", "start_le_end"} <= used


def test_a_rules_column_exists_in_some_schema():
    columns = set().union(*(load(d).columns for d in DATASETS))
    for name, rule in RULES.items():
        if rule.get("column"):
            assert rule["column"] in columns, name


def test_the_catalog_term_matches_its_periods():
    periods = CATALOG.periods_frame
    assert periods["start_date"].min() == dt.date.fromisoformat(CATALOG.term_start_date)
    assert periods["end_date"].max() == dt.date.fromisoformat(CATALOG.term_end_date)
