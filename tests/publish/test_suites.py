"""The GX suites say more than types, but never about a column the curated contract does not have."""

from __future__ import annotations

import json

import polars as pl
import pytest

from pledgeflow.publish.audit import load_suites
from pledgeflow.publish.audit_checks import derive_check_columns
from tests.conftest import CURATED, REPO

SUITES = load_suites(REPO / "gx")
COLUMN_KEYS = ("column", "column_A", "column_B")
COLUMN_LIST_KEYS = ("column_list", "column_set")


def named_columns(suite: dict) -> set[str]:
    """Every column an expectation of `suite` names in its kwargs."""
    names = set()
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        names |= {kwargs[k] for k in COLUMN_KEYS if k in kwargs}
        names |= {c for k in COLUMN_LIST_KEYS for c in kwargs.get(k) or []}
    return names


def test_every_curated_table_has_a_suite_and_every_suite_a_table():
    assert set(SUITES) == set(CURATED)


@pytest.mark.parametrize("table", sorted(SUITES))
def test_every_column_a_suite_names_is_in_the_contract_or_derived_for_the_audit(table):
    empty = {name: pl.DataFrame(schema=schema) for name, schema in CURATED.items()}
    checked, problems = derive_check_columns(empty)
    assert problems == {}
    unknown = named_columns(SUITES[table]) - set(checked[table].columns)
    assert unknown == set(), f"{table}: the suite names columns the contract does not have: {sorted(unknown)}"


def test_a_suite_naming_a_column_outside_the_contract_is_caught(tmp_path):
    suite = json.loads((REPO / "gx" / "expectations" / "runs.json").read_text(encoding="utf-8"))
    suite["expectations"].append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "run_numbr"},
                                  "meta": {"severity": "critical"}})
    assert "run_numbr" in named_columns(suite) - set(CURATED["runs"])
