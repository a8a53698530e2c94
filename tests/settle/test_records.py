"""Settling a run's deliveries: cached (lazy) results settle exactly as in-memory ones, decisions included.

Three settlements of the bundled deliveries under the same seven decisions: from in-memory results, from
results just cached (`cache_result`: valid rows as scans), and from results reloaded as an incremental run
reloads them (`load_unchanged`).
"""

from __future__ import annotations

import polars as pl
import pytest

from pledgeflow.aggregate import count_indicators
from pledgeflow.card import load_report, reconcile_settled
from pledgeflow.ingest import cache, discover_deliveries, ingest_cached, load_unchanged
from pledgeflow.run.bookkeeping import start_run
from pledgeflow.settle import settle_records
from pledgeflow.settings import Settings
from tests.conftest import copy_project, make_project

KEY = ["source_file", "source_row"]


def write_ledger(settings: Settings, failures: pl.DataFrame, valid: pl.DataFrame) -> None:
    """One decision of every kind: waive (a schema and a cross-dataset failure), correct and exclude quarantined
    records, exclude and correct valid ones, exclude a training cohort."""
    def failing(rule: str, dataset: str = "placements") -> dict:
        return failures.filter((pl.col("dataset") == dataset) & (pl.col("rule") == rule)).row(0, named=True)

    first, second = valid.sort(KEY).head(2).iter_rows(named=True)
    digest = lambda row: row["row_digest"][:16]  # noqa: E731
    rows = [
        ("D-000001", "waive", failing("brn_check_digit"), None, None),
        ("D-000002", "correct", failing("unknown_channel"), "channel_name_ko", "기타"),
        ("D-000003", "exclude", {**first, "record_id": digest(first)}, None, None),
        ("D-000004", "correct", {**second, "record_id": digest(second)}, "note_ko", "확인함"),
        ("D-000005", "waive", failing("duplicate_record"), None, None),
        ("D-000006", "exclude", failing("date_in_term"), None, None),
        ("D-000007", "exclude", failing("start_le_end", "training_cohorts"), None, None),
    ]
    lines = ["결정번호,결정일시,결정자,조치,데이터셋,파일,행,레코드ID,열,새 값,사유,만료일"] + [
        f"{number},2024-01-02T10:00:00+09:00,김담당,{action},{r['source_file'].split('/')[0]},{r['source_file']},"
        f"{r['source_row']},{r['record_id']},{column or ''},{value or ''},검토함,"
        for number, action, r, column, value in rows]
    (settings.raw_dir / "decisions" / "decisions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def settlements(tmp_path_factory):
    """{in_memory, cached, reloaded: Settled} of the bundled deliveries, plus the catalog and settings."""
    project = make_project(copy_project(tmp_path_factory.mktemp("settle")))
    settings, catalog = project.settings, project.catalog
    deliveries = discover_deliveries(settings.raw_dir, catalog).to_dicts()
    as_of = start_run(project).local_date
    in_memory = [ingest_cached(d, project)[0] for d in deliveries]
    plain = settle_records(in_memory, project, as_of)
    write_ledger(settings, plain.failures, plain.valid["placements"])
    context = cache.project_context(project)
    cached = [ingest_cached(d, project, context)[0] for d in deliveries]
    reloaded = [result for result, _ in load_unchanged(discover_deliveries(settings.raw_dir, catalog), project,
                                                       context).values()]
    assert len(reloaded) == len(deliveries)
    settled = {name: settle_records(results, project, as_of)
               for name, results in (("in_memory", in_memory), ("cached", cached), ("reloaded", reloaded))}
    return settled, catalog, project


@pytest.fixture(params=["cached", "reloaded"])
def settled_both(settlements, request):
    """(in memory, lazy) settlements, catalog, settings."""
    settled, catalog, settings = settlements
    return settled["in_memory"], settled[request.param], catalog, settings


def test_cached_results_keep_valid_rows_lazy(settled_both):
    eager, lazy, _, _ = settled_both
    assert all(isinstance(frame, pl.DataFrame) for frame in eager.valid.values())
    assert all(isinstance(frame, pl.LazyFrame) for frame in lazy.valid.values())


def test_every_decision_is_applied_on_both_paths(settled_both):
    eager, lazy, _, _ = settled_both
    assert eager.decisions["outcome"].to_list() == ["applied"] * 7
    assert lazy.decisions.equals(eager.decisions)
    assert lazy.dispositions.sort(KEY).equals(eager.dispositions.sort(KEY))


def test_lazy_settlement_equals_the_in_memory_one(settled_both):
    eager, lazy, _, _ = settled_both
    for dataset, frame in eager.valid.items():
        assert lazy.valid[dataset].collect().sort(KEY).equals(frame.sort(KEY)), dataset
        assert lazy.quarantined[dataset].sort(KEY).equals(eager.quarantined[dataset].sort(KEY)), dataset
        assert lazy.excluded[dataset].sort(KEY).equals(eager.excluded[dataset].sort(KEY)), dataset
        assert lazy.delivered[dataset].equals(eager.delivered[dataset]), dataset
    assert lazy.file_counts.equals(eager.file_counts)
    order = ["dataset", *KEY, "rule", "column"]
    assert lazy.failures.sort(order, nulls_last=True).equals(eager.failures.sort(order, nulls_last=True))
    assert lazy.corrected_failures.sort(order).equals(eager.corrected_failures.sort(order))


def test_decisions_move_the_rows_they_name(settled_both):
    _, lazy, _, _ = settled_both
    counts = lazy.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined", "rows_excluded").sum()).row(0)
    read, valid, quarantined, excluded = counts
    assert read == valid + quarantined + excluded and excluded == 3
    placements = lazy.valid["placements"].collect()
    states = lazy.dispositions.filter(pl.col("dataset") == "placements")
    for state, valid_rows in (("corrected", 2), ("waived", 2), ("excluded", 0)):
        mine = states.filter(pl.col("state") == state)
        assert mine.join(placements, on=KEY, how="semi").height == valid_rows, state
    # the waived duplicate is counted, the excluded rows are nowhere but in `excluded`
    waived_duplicate = lazy.failures.filter(pl.col("rule") == "duplicate_record").select(KEY)
    assert waived_duplicate.join(placements, on=KEY, how="semi").height == 1
    for dataset, rows in lazy.excluded.items():
        held = lazy.quarantined[dataset].join(rows, on=KEY, how="semi").height
        kept = lazy.valid[dataset].collect().join(rows, on=KEY, how="semi").height
        assert held == kept == 0, dataset
    assert {d: f.height for d, f in lazy.excluded.items()} == {"job_fairs": 0, "placements": 2, "training_cohorts": 1}


def test_indicators_and_reconciliation_agree_on_both_paths(settled_both):
    eager, lazy, catalog, project = settled_both
    report = load_report(project)
    indicators = count_indicators(eager, report, project)
    assert count_indicators(lazy, report, project).equals(indicators)
    # the date_in_term record excluded lies outside every period: only the valid one is counted as excluded
    assert indicators.select(pl.col("waived_records", "corrected_records", "decision_excluded_records").sum()).row(0) == (2, 2, 1)
    assert reconcile_settled(indicators, lazy, report, project).equals(
        reconcile_settled(indicators, eager, report, project))
