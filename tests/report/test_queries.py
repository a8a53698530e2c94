"""The report's SQL (src/pledgeflow/report/queries/*.sql) on a tiny curated version written by the test."""

from __future__ import annotations

from importlib import resources

import pytest

from pledgeflow.report.data import VersionError, load_query, open_version, read_version_info, run_query

QUERIES = sorted(p.name.removesuffix(".sql") for p in resources.files("pledgeflow.report").joinpath("queries").iterdir()
                 if p.name.endswith(".sql"))
PARAMS = {"pledge": "p-1", "version": "v000007"}


@pytest.fixture
def connection(tiny_version):
    with open_version(tiny_version) as conn:
        yield conn


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_runs_and_documents_itself(connection, name):
    text = load_query(name)
    assert text.lstrip().startswith("--"), "each query opens with a comment saying what it is for"
    run_query(connection, name, **{k: v for k, v in PARAMS.items() if f"${k}" in text})


def test_progress_counts_actuals_to_the_as_of_date_and_the_targets_still_open(connection):
    rows = {r["pledge_id"]: r for r in run_query(connection, "progress")}
    one, two = rows["p-1"], rows["p-2"]
    assert (one["total_target"], one["actual_to_date"], one["target_due"]) == (60, 35, 30)
    assert (one["periods_started"], one["open_periods"], one["open_period_labels"]) == (2, 1, "2020")
    assert one["achievement_pct"] == 58.3 and one["excluded_records"] == 1
    assert (two["total_target"], two["actual_to_date"], two["target_due"]) == (80, 15, 40)


def test_budget_checks_find_totals_that_are_not_the_sum_of_their_parts(connection):
    checks = run_query(connection, "budget_checks", pledge="p-1")
    failed = {(c["check_kind"], c["subproject_id"], c["funding_source"], c["period"]): (c["printed"], c["parts"])
              for c in checks if not c["adds_up"]}
    assert failed == {("period_sum", "total", "total", "total"): (30, 35),
                      ("source_sum", "total", "total", "2019"): (25, 20),
                      ("subproject_sum", "total", "total", "2019"): (25, 20)}
    assert any(c["adds_up"] and c["period"] == "2018" for c in checks)


def test_findings_are_the_non_matching_rows_each_under_its_pledge(connection):
    findings = run_query(connection, "findings")
    assert [(f["check_id"], f["pledge_id"]) for f in findings] == [("c1", "p-1"), ("c2", "p-2")]
    assert findings[0]["observed_text"] == "185" and findings[0]["expected"] == 220.0


def test_holdbacks_attributes_activities_and_printed_totals(connection):
    assert run_query(connection, "holdbacks")[0] | {} == {
        "pledge_id": "p-1", "subproject_id": "a", "subproject_name_ko": "가 사업", "indicator_id": "jobs",
        "period": "2019", "rule": "required", "held_back_records": 1}
    assert [a["option_ko"] for a in run_query(connection, "attributes", pledge="p-1") if a["selected"]] == ["완료(지속)"]
    assert run_query(connection, "activities", pledge="p-1")[0]["subproject_name_ko"] == "가 사업"
    assert run_query(connection, "printed_totals")[0]["printed_rate_text"] == "58%"
    assert run_query(connection, "budget_planned")[0]["planned_text"] == "30"


def test_the_version_names_its_run_and_review_pack(tiny_version, connection):
    info = read_version_info(tiny_version, connection)
    assert (info.version, info.run["run_id"]) == ("v000007", "run-000007")
    assert info.review_pack == tiny_version / "review" / "review_pack.html"


def test_a_version_without_its_duckdb_file_is_read_from_parquet(tiny_version):
    with open_version(tiny_version) as conn:
        expected = {n: run_query(conn, n, **{k: v for k, v in PARAMS.items() if f"${k}" in load_query(n)}) for n in QUERIES}
    (tiny_version / "pledgeflow.duckdb").unlink()
    with open_version(tiny_version) as conn:
        for name in QUERIES:
            assert run_query(conn, name, **{k: v for k, v in PARAMS.items() if f"${k}" in load_query(name)}) == expected[name]


def test_a_version_missing_a_table_is_refused_clearly(tiny_version):
    (tiny_version / "pledgeflow.duckdb").unlink()
    (tiny_version / "pledges.parquet").unlink()
    with pytest.raises(VersionError, match="missing tables: pledges"):
        open_version(tiny_version)


def test_progress_reads_a_distinct_counts_total_to_date_and_a_cumulative_targets_last_due():
    """Distinct employers 3 and 2 by period but 4 to date; cumulative targets 3 then 5 (totals to date, not 8)."""
    import duckdb
    import polars as pl
    from datetime import date

    from pledgeflow.contracts import conform
    from tests.report.conftest import indicator_rows
    from tests.conftest import CURATED

    rows = indicator_rows("p-9", "s", "사업", [3, 5, 8], [3, 2, 0])
    for row, cumulative in zip(rows, (3, 4, 4)):
        row |= {"cumulative_actual": cumulative, "measure_kind": "distinct", "target_semantics": "cumulative"}
    indicators = conform(pl.DataFrame(rows), CURATED["indicators"])  # noqa: F841 - read by the query through DuckDB
    pledges = pl.DataFrame({"pledge_id": ["p-9"], "as_of_date": [date(2019, 12, 31)]})  # noqa: F841
    with duckdb.connect() as conn:
        conn.execute("CREATE TABLE indicators AS SELECT * FROM indicators; CREATE TABLE pledges AS SELECT * FROM pledges")
        (row,) = run_query(conn, "progress")
    assert (row["actual_to_date"], row["target_due"]) == (4, 5)
