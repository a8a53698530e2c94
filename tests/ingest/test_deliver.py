"""Tests for ingesting one delivery file: valid, defective, unreadable; every row accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest

from pledgeflow.catalog import load_catalog
from pledgeflow.contracts import FAILURE_SCHEMA
from pledgeflow.ingest.deliver import combine_results, process_delivery
from tests.conftest import make_project

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CATALOG = load_catalog(SCHEMAS)
KEY = "test-pseudonym-key"
HEADER = "과정번호,과정명,세부사업,운영기관,후원기관,개강일,종강일,수강인원,수료인원,비고"
CLEAN = [
    "C-01,용접 기능사,중장년 일자리,영등포 직업학교,-,2019. 3. 4.,2019. 6. 28.,20,18,",
    'C-02,바리스타,기업과 연계한 일자리 창출,카페협회,,\'19. 4. 1.,2019-07-31,"1,200",900,-',
]


def write_csv(folder: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def ingest(path: Path, source_file: str = "training_cohorts/delivery.csv", dataset: str = "training_cohorts"):
    return process_delivery(path, dataset, source_file, make_project(key=KEY))


def assert_rows_add_up(result) -> None:
    assert result.rows_read == result.valid.height + result.quarantined.height
    counts = result.counts
    assert counts["rows_read"] == counts["rows_valid"] + counts["rows_quarantined"]


def test_a_clean_delivery_is_all_valid(tmp_path):
    result = ingest(write_csv(tmp_path, "clean.csv", [HEADER, *CLEAN]))
    assert_rows_add_up(result)
    assert (result.rows_read, result.valid.height, result.failures.height) == (2, 2, 0)
    assert result.valid["source_row"].to_list() == [2, 3]
    assert result.valid["enrolled_count"].to_list() == [20, 1200]
    assert result.valid["sponsor_name_ko"].to_list() == [None, None]
    assert "_row" not in result.valid.columns and "_row" not in result.failures.columns
    assert result.counts["encoding"] == "utf-8" and result.counts["file_error"] is None


def test_a_delivery_with_defects_keeps_every_row_and_names_the_excel_row(tmp_path):
    lines = [
        "2019년 교육과정 운영 현황",  # title line and a blank line above the header, as real deliveries have
        "",
        HEADER,
        CLEAN[0],
        "C-03,지게차,중장년 일자리,,,2019. 2. 30.,2019. 6. 1.,20,18,",  # impossible date
        "C-04,지게차,중장년 일자리,,,2019. 3. 1.,2019. 6. 1.,20,25,문의 010-1234-5678",  # completed > enrolled + phone
        ",,,,,,,,,",  # blank row: not a record
        "C-05,지게차,청년 일자리,,,2019. 3. 1.,2019. 6. 1.,20,18,",  # unknown sub-project
        CLEAN[1],
    ]
    result = ingest(write_csv(tmp_path, "defects.csv", lines, encoding="cp949"), "training_cohorts/2019.csv")
    assert_rows_add_up(result)
    assert (result.rows_read, result.valid.height, result.quarantined.height, result.blank_rows) == (5, 2, 3, 1)
    assert result.header_row == 3 and result.encoding == "cp949"
    assert set(result.failures.select("source_row", "rule").iter_rows()) == {
        (5, "parse_date"), (6, "completed_le_enrolled"), (6, "no_personal_number"), (8, "unknown_subproject"),
    }
    assert set(result.quarantined["source_row"]) == {5, 6, 8}
    assert set(result.valid["source_row"]) == {4, 9}
    assert set(result.failures["source_file"]) == {"training_cohorts/2019.csv"}
    assert not result.failures["value"].str.contains("010-1234-5678").any()


def test_an_empty_file_is_one_file_level_failure(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = ingest(path, "training_cohorts/empty.csv")
    assert result.rows_read == 0 and result.valid.is_empty() and result.quarantined.is_empty()
    assert_rows_add_up(result)
    assert result.failures.height == 1
    failure = result.failures.row(0, named=True)
    assert failure["rule"] == "file_unreadable" and failure["severity"] == "error"
    assert failure["source_file"] == "training_cohorts/empty.csv" and failure["source_row"] is None
    assert failure["message_ko"].startswith("파일을 읽을 수 없습니다.") and "빈 파일" in failure["message_ko"]
    assert failure["message_en"].startswith("The file cannot be read.")
    assert list(result.failures.columns) == [*FAILURE_SCHEMA, "fingerprint"]
    assert result.file_error is not None and result.counts["file_error"] == result.file_error


def test_an_unreadable_file_still_has_the_typed_columns(tmp_path):
    result = ingest(write_csv(tmp_path, "noheader.csv", ["아무 내용", "1,2,3"]))
    assert result.failures["rule"].to_list() == ["file_unreadable"]
    clean = ingest(write_csv(tmp_path, "clean.csv", [HEADER, *CLEAN]))
    assert result.valid.schema == clean.valid.schema
    assert result.quarantined.schema == clean.quarantined.schema


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949"])
def test_the_same_content_gives_the_same_rows_whatever_the_encoding(tmp_path, encoding):
    lines = [HEADER, *CLEAN, "C-09,x,중장년 일자리,,,2019. 2. 30.,2019. 6. 1.,20,18,"]
    plain = ingest(write_csv(tmp_path, "u.csv", lines))
    other = ingest(write_csv(tmp_path, "o.csv", lines, encoding=encoding))
    assert other.valid.equals(plain.valid)
    assert other.failures["fingerprint"].to_list() == plain.failures["fingerprint"].to_list()


def test_combine_results_concatenates_per_dataset_in_file_order(tmp_path):
    second = ingest(write_csv(tmp_path, "b.csv", [HEADER, CLEAN[1]]), "training_cohorts/b.csv")
    first = ingest(write_csv(tmp_path, "a.csv", [HEADER, CLEAN[0], "C-03,x,중장년 일자리,,,x,2019. 6. 1.,20,18,"]),
                   "training_cohorts/a.csv")
    empty_path = tmp_path / "e.csv"
    empty_path.write_bytes(b"")
    empty = ingest(empty_path, "training_cohorts/c.csv")
    valid, held, failures = combine_results([second, empty, first], make_project(key=KEY))
    assert set(valid) == set(CATALOG.descriptors) == set(held)
    assert valid["training_cohorts"].select("source_file", "source_row").rows() == [("training_cohorts/a.csv", 2), ("training_cohorts/b.csv", 2)]
    assert held["training_cohorts"].select("source_file", "source_row").rows() == [("training_cohorts/a.csv", 3)]
    assert valid["placements"].is_empty() and "person_id" in valid["placements"].columns
    assert failures["source_file"].to_list() == ["training_cohorts/a.csv", "training_cohorts/c.csv"]


def test_a_file_level_failure_never_echoes_a_personal_number_from_its_message():
    from pledgeflow.errors import DeliveryError
    from pledgeflow.ingest.deliver import unreadable_delivery

    error = DeliveryError("placements/홍길동 850115-2345678.csv", "연락처 010-1234-5678 행을 읽을 수 없습니다.",
                          "Cannot read the row of 010-1234-5678 (850115-2345678).")
    result = unreadable_delivery("placements", "placements/a.csv", error, make_project(key=KEY))
    echoed = " ".join([result.file_error, *result.failures.select("message_ko", "message_en").row(0)])
    assert "010-1234-5678" not in echoed and "2345678" not in echoed
    assert "***-****-****" in echoed and "******-*******" in echoed
