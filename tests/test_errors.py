"""The verdict hierarchy: each error's exit code, and verdicts kept apart from unexpected failures."""

from __future__ import annotations

import pickle

import pytest

from pledgeflow.errors import (
    BlockedByAudit, BlockedByData, DeliveryError, LedgerError, NotPublished, PublishError, ReportError, RunLocked, exit_code_of,
)


@pytest.mark.parametrize(("error", "code"), [
    (BlockedByData("x"), 3), (ReportError("reported/a.csv", "가", "a"), 3), (BlockedByAudit("x"), 4), (RunLocked("x"), 5),
    (PublishError("version 'v000001' already exists"), 1), (ImportError("gx"), 1), (OSError(28, "No space left on device"), 1),
])
def test_every_error_maps_to_its_documented_exit_code(error, code):
    assert exit_code_of(error) == code


def test_a_publish_error_is_a_failure_never_a_verdict():
    assert not isinstance(PublishError("x"), NotPublished) and exit_code_of(None) == 0


@pytest.mark.parametrize("error", [DeliveryError("a.csv", "가", "a"), LedgerError("가", "a", "ledger.csv"),
                                   ReportError("reported/a.csv", "가", "a"), BlockedByData("x")])
def test_errors_cross_process_boundaries_intact(error):
    # Prefect and Dask workers hand errors back pickled: the type, the messages and the exit code survive
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and exit_code_of(copy) == exit_code_of(error)


def test_an_error_for_a_person_names_its_file_then_says_it_in_korean_and_english():
    error = DeliveryError("placements/a.csv", "빈 파일입니다.", "The file is empty.")
    assert str(error) == "placements/a.csv: 빈 파일입니다. / The file is empty."
    assert (error.source_file, error.message_ko, error.message_en) == ("placements/a.csv", "빈 파일입니다.", "The file is empty.")
    assert str(LedgerError("사유가 필요합니다.", "a reason is required.")) == "사유가 필요합니다. / a reason is required."


def test_a_broken_catalog_blocks_the_run_and_keeps_every_problem_across_processes():
    from pledgeflow.errors import CatalogError

    issues = (("schemas/catalog.yaml", 12, "unknown dataset"), ("schemas/catalog.yaml", 30, "overlapping periods"))
    error = CatalogError("schemas/catalog.yaml", "공약 목록 오류", "catalog error", issues)
    copy = pickle.loads(pickle.dumps(error))
    assert exit_code_of(error) == exit_code_of(copy) == 3 and isinstance(error, BlockedByData)
    assert copy.issues == issues and (copy.source, copy.message_ko, copy.message_en) == (
        "schemas/catalog.yaml", "공약 목록 오류", "catalog error")
    assert str(copy) == str(error) and "catalog error" in str(error)
