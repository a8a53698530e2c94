"""Tests for applying steward decisions: matching ledger rows to records, applying them, lineage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pledgeflow.steward import decisions as D
from pledgeflow.catalog import load_catalog

from pledgeflow.steward.ledger import load_decisions
from pledgeflow.steward.lineage import decision_lineage
from pledgeflow.ingest.validate import ROW, validate_frame
from tests.conftest import CURATED, make_project

from tests.steward.test_ledger import FILE, ledger, line

CATALOG = load_catalog(make_project().schemas_dir)
KEY = "test-pseudonym-key"


def placement(**cells: str | None) -> dict[str, str | None]:
    row = {"person_key": "JS-0001", "birth_year": "1970", "employer_brn": "124-81-00998", "employer_name_ko": "영등포상사",
           "hire_date": "2019. 3. 4.", "subproject_name_ko": "중장년 일자리 창출", "channel_name_ko": "기업간담회",
           "event_id": None, "note_ko": None}
    return row | cells


def settled(*rows: dict) -> tuple[dict, dict, dict, pl.DataFrame]:
    """(delivered, valid, quarantined, failures) of one placements file with `rows` at rows 2, 3, …"""
    raw = pl.DataFrame([r | {"source_file": FILE, "source_row": i + 2} for i, r in enumerate(rows)],
                       schema={**{k: pl.String for k in placement()}, "source_file": pl.String, "source_row": pl.Int64})
    out = validate_frame(raw, CATALOG.descriptors["placements"], make_project(key=KEY))
    drop = [f.drop(ROW) for f in (out.delivered, out.valid, out.quarantined, out.failures)]
    return {"placements": drop[0]}, {"placements": drop[1]}, {"placements": drop[2]}, drop[3]


def record_id(frames: dict, row: int) -> str:
    frame = pl.concat([f.select("source_row", "row_digest") for f in frames.values()])
    return frame.filter(pl.col("source_row") == row)["row_digest"][0][:16]


# ---- matching ----


def test_matching_by_record_id_changed_no_match_expired_and_superseded(tmp_path):
    delivered, valid, _, _ = settled(placement(hire_date="2019. 2. 30."), placement(person_key="JS-2"))
    bad, good = record_id(delivered, 2), record_id(valid, 3)
    folder = ledger(tmp_path,
                    line(1, "correct", bad, 9, "hire_date", "2019. 3. 1."),  # superseded by D-000002
                    line(2, "correct", bad, 9, "hire_date", "2019. 3. 2."),  # found by id although the row moved
                    line(3, "waive", bad, expires="2020-12-31"),              # expired
                    line(4, "exclude", "0" * 16, 3),                          # row 3 holds another record
                    line(5, "exclude", "1" * 16, 99),                         # nothing there
                    line(6, "exclude", good, 3))
    matched = D.match_decisions(load_decisions(folder, make_project()), delivered, valid, date(2021, 6, 1)).sort("decision_id")
    assert matched["outcome"].to_list() == ["superseded", "matched", "expired", "stale_changed", "stale_no_match", "matched"]
    assert matched["superseded_by"][0] == "D-000002"
    assert matched.select("matched_set", "matched_source_row").rows()[1] == ("quarantined", 2)
    assert matched["current_record_id"][3] == good
    assert matched.select("matched_set", "matched_source_row").rows()[5] == ("valid", 3)


def test_waive_before_expiry_matches_and_different_columns_do_not_supersede(tmp_path):
    delivered, valid, _, _ = settled(placement(hire_date="2019. 2. 30.", employer_brn="bad"))
    bad = record_id(delivered, 2)
    folder = ledger(tmp_path, line(1, "correct", bad, 2, "hire_date", "2019. 3. 2."),
                    line(2, "correct", bad, 2, "사업자등록번호", "124-81-00998"), line(3, "waive", bad, expires="2021-06-01"))
    matched = D.match_decisions(load_decisions(folder, make_project()), delivered, valid, date(2021, 6, 1))
    assert matched["outcome"].to_list() == ["matched"] * 3


# ---- applying ----


def apply_all(folder: Path, delivered: dict, valid: dict, quarantined: dict, failures: pl.DataFrame):
    matched = D.match_decisions(load_decisions(folder, make_project()), delivered, valid, date(2021, 6, 1))
    revalidated, corrected = D.apply_corrections(delivered, matched, make_project(key=KEY), valid=valid)
    merged = D.merge_corrections(valid, quarantined, failures, delivered, revalidated)
    result = D.apply_waivers_and_exclusions(merged.valid, merged.quarantined, matched)
    return matched, merged, result, decision_lineage(CURATED["decisions"], matched, corrected, result[3])


def test_correction_that_fixes_the_record_is_applied_and_valid(tmp_path):
    delivered, valid, quarantined, failures = settled(placement(hire_date="2019. 2. 30."), placement(person_key="JS-2"))
    bad = record_id(delivered, 2)
    folder = ledger(tmp_path, line(1, "correct", bad, 2, "채용일", "2019. 3. 2."))
    _, merged, (good, held, excluded, _), lineage = apply_all(folder, delivered, valid, quarantined, failures)
    assert lineage.select("outcome", "column").row(0) == ("applied", "hire_date")
    assert good["placements"].filter(pl.col("source_row") == 2)["hire_date"].to_list() == [date(2019, 3, 2)]
    assert good["placements"].filter(pl.col("source_row") == 2)["row_digest"][0][:16] == bad  # identity is kept
    assert held["placements"].height == 0 and merged.failures.height == 0
    assert merged.corrected_failures["rule"].to_list() == ["parse_date"]


def test_correction_that_does_not_fix_is_still_failing_with_new_failures(tmp_path):
    delivered, valid, quarantined, failures = settled(placement(hire_date="2019. 2. 30.", employer_brn="bad"))
    folder = ledger(tmp_path, line(1, "correct", record_id(delivered, 2), 2, "hire_date", "2019. 3. 2."))
    _, merged, (good, held, _, _), lineage = apply_all(folder, delivered, valid, quarantined, failures)
    assert lineage["outcome"][0] == "still_failing" and "str_matches (employer_brn)" in lineage["message_en"][0]
    assert good["placements"].height == 0 and held["placements"]["hire_date"].to_list() == [date(2019, 3, 2)]
    assert "parse_date" not in merged.failures["rule"].to_list()  # the fixed date no longer fails
    assert "str_matches" in merged.failures["rule"].to_list()
    assert merged.delivered["placements"]["hire_date"].to_list() == ["2019. 3. 2."]


def test_waive_and_exclude_conserve_rows(tmp_path):
    delivered, valid, quarantined, failures = settled(
        placement(hire_date="2019. 2. 30."), placement(person_key="JS-2", employer_brn="bad"), placement(person_key="JS-3"),
        placement(person_key="JS-4"))
    folder = ledger(tmp_path, line(1, "waive", record_id(delivered, 2), 2), line(2, "exclude", record_id(delivered, 3), 3),
                    line(3, "exclude", record_id(valid, 4), 4))
    _, _, (good, held, excluded, _), lineage = apply_all(folder, delivered, valid, quarantined, failures)
    assert good["placements"]["source_row"].to_list() == [2, 5]
    assert held["placements"].height == 0
    assert excluded["placements"].select("source_row", "decision_id").rows() == [(3, "D-000002"), (4, "D-000003")]
    assert good["placements"].height + held["placements"].height + excluded["placements"].height == 4
    assert lineage["outcome"].to_list() == ["applied"] * 3


def test_lineage_masks_values_and_explains_every_outcome(tmp_path):
    delivered, valid, quarantined, failures = settled(placement(note_ko="메모"))
    folder = ledger(tmp_path, line(1, "correct", record_id(valid, 2), 2, "비고", "연락 010-1234-5678"),
                    line(2, "exclude", "1" * 16, 9), line(1, "exclude", "2" * 16))
    _, _, _, lineage = apply_all(folder, delivered, valid, quarantined, failures)
    assert lineage.schema == pl.Schema(CURATED["decisions"])
    assert lineage["outcome"].to_list() == ["still_failing", "invalid", "stale_no_match"]  # by decision_id, ledger row
    assert "010-1234-5678" not in " ".join(lineage.select(pl.concat_str(pl.all().cast(pl.String), ignore_nulls=True)).to_series())
    assert lineage.filter(pl.col("outcome") == "invalid")["message_ko"][0].startswith("결정 대장 decisions/decisions.csv 4행")
    assert lineage["message_en"].null_count() == 0 and lineage["message_ko"].null_count() == 0


def test_lineage_refuses_matched_decisions_that_were_never_applied(tmp_path):
    delivered, valid, _, _ = settled(placement())
    folder = ledger(tmp_path, line(1, "exclude", record_id(valid, 2), 2))
    matched = D.match_decisions(load_decisions(folder, make_project()), delivered, valid, date(2021, 6, 1))
    with pytest.raises(ValueError, match="D-000001"):
        decision_lineage(CURATED["decisions"], matched)
