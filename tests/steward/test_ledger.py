"""Tests for the decisions ledger: reading (BOM, CP949, xlsx, bad rows) and appending."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pledgeflow.errors import LedgerError
from pledgeflow.steward import ledger as L
from pledgeflow.steward import ledger_writer as W
from tests.conftest import make_project

PROJECT = make_project()
FILE = "placements/2019_채용실적.csv"
HEADER = "결정번호,결정일시,결정자,조치,데이터셋,파일,행,레코드ID,열,새 값,사유,만료일"


def ledger(tmp_path: Path, *lines: str, name: str = "decisions.csv", encoding: str = "utf-8-sig") -> Path:
    folder = tmp_path / "decisions"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes("\r\n".join([HEADER, *lines, ""]).encode(encoding))
    return folder


def line(number: int, action: str, rid: str, row: int = 2, column: str = "", value: str = "", expires: str = "") -> str:
    return f"D-{number:06d},2021-03-02 14:05,김민영,{action},placements,{FILE},{row},{rid},{column},{value},확인함,{expires}"


# ---- reading ----


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949", "utf-8"])
def test_csv_ledger_is_read_in_any_excel_encoding(tmp_path, encoding):
    folder = ledger(tmp_path, line(1, "수정", "0123456789abcdef", 47, "채용일", "2019. 3. 2."), encoding=encoding)
    frame = L.load_decisions(folder, PROJECT)
    row = frame.row(0, named=True)
    assert frame.schema == pl.Schema(L.LEDGER_SCHEMA)
    assert row["action"] == "correct" and row["column"] == "hire_date" and row["source_row"] == 47
    assert row["decided_at"].isoformat() == "2021-03-02T05:05:00+00:00"  # naive times are Seoul time
    assert row["problem_rule"] is None and row["ledger_file"] == "decisions/decisions.csv" and row["ledger_row"] == 2


def test_xlsx_ledger_with_title_line_and_english_headers(tmp_path):
    folder = tmp_path / "decisions"
    folder.mkdir()
    pl.DataFrame({"decision_id": ["D-000003"], "decided_at": ["2021-03-02T14:05:00+09:00"], "decided_by": ["박"],
                  "action": ["exclude"], "dataset": ["placements"], "record id": ["0123456789ABCDEF"], "reason": ["중복"],
                  }).write_excel(folder / "대장.xlsx", position="A3")
    frame = L.load_decisions(folder, PROJECT)
    assert frame.select("decision_id", "action", "record_id", "ledger_row").row(0) == (
        "D-000003", "exclude", "0123456789abcdef", 4)
    assert frame["problem_rule"][0] is None


def test_bad_rows_are_invalid_with_file_row_and_rule_not_errors(tmp_path):
    folder = ledger(tmp_path, line(1, "fix", "0123456789abcdef"), line(1, "waive", "zz", expires="내일"),
                    "D-000002,2021-03-02,김,correct,placements,,,0123456789abcdef,person_id,x,사유,")
    frame = L.load_decisions(folder, PROJECT).sort("ledger_row")
    assert frame["problem_rule"].to_list() == ["isin", "duplicate_decision_id,parse_date,str_matches",
                                               "column_not_correctable"]
    assert frame["problem_ko"][0].startswith("[조치] 허용된 값이 아닙니다")
    assert "[decided_at]" not in frame["problem_en"][1] and "[record_id] wrong format" in frame["problem_en"][1]


def test_unreadable_ledger_becomes_an_invalid_row(tmp_path):
    folder = tmp_path / "decisions"
    folder.mkdir()
    (folder / "decisions.csv").write_text("아무 내용,없음\n1,2\n", encoding="utf-8")
    frame = L.load_decisions(folder, PROJECT)
    assert frame.height == 1 and frame["problem_rule"][0] == "ledger_unreadable" and frame["ledger_row"][0] is None


# ---- appending ----


def test_append_creates_a_bom_ledger_and_numbers_past_every_ledger(tmp_path):
    folder = ledger(tmp_path, line(7, "exclude", "0123456789abcdef"), name="old.csv")
    path = folder / "decisions.csv"
    first = W.append_decision(path, {"action": "면제", "dataset": "placements", "source_file": FILE, "source_row": 3,
                                     "record_id": "0123456789abcdef", "decided_by": "김", "reason": "확인",
                                     "expires_date": date(2030, 1, 1)}, PROJECT.ledger_descriptor)
    assert first == "D-000008"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + HEADER.encode())
    frame = L.load_decisions(folder, PROJECT).filter(pl.col("decision_id") == first)
    assert frame.select("action", "expires_date", "source_row").row(0) == ("waive", date(2030, 1, 1), 3)


@pytest.mark.parametrize("encoding", ["cp949", "utf-8-sig"])
def test_append_keeps_earlier_bytes_encoding_and_column_order(tmp_path, encoding):
    folder = tmp_path / "decisions"
    folder.mkdir()
    path = folder / "decisions.csv"
    before = "사유,결정번호,결정일시,결정자,조치,데이터셋,레코드ID,열,새 값\r\n확인,D-000002,2021-03-02,김,exclude,placements,0123456789abcdef,,\r\n"
    path.write_bytes(before.encode(encoding))
    new = W.append_decision(path, {"action": "correct", "dataset": "placements", "record_id": "fedcba9876543210",
                                   "column": "hire_date", "new_value": "2019. 3. 2.", "decided_by": "이",
                                   "reason": "원본, 확인"}, PROJECT.ledger_descriptor)
    data = path.read_bytes()
    assert new == "D-000003" and data.startswith(before.encode(encoding))
    added = data[len(before.encode(encoding)):].decode("cp949" if encoding == "cp949" else "utf-8")
    assert added.startswith('"원본, 확인",D-000003,') and added.endswith("hire_date,2019. 3. 2.\r\n")


@pytest.mark.parametrize(("change", "said"), [
    ({"reason": ""}, "a reason is required"), ({"action": "fix"}, "action must be correct|waive|exclude"),
    ({"new_value": "=HYPERLINK(1)"}, "like an Excel formula"), ({"reason": "연락처 010-1234-5678"}, "looks like a personal number"),
    ({"record_id": "xyz"}, "record_id must be 16 hex"),
])
def test_append_refuses_bad_decisions_without_writing(tmp_path, change, said):
    path = tmp_path / "decisions" / "decisions.csv"
    decision = {"action": "correct", "dataset": "placements", "record_id": "0123456789abcdef", "column": "hire_date",
                "new_value": "2019. 3. 2.", "decided_by": "김", "reason": "확인"} | change
    with pytest.raises(LedgerError, match=said):
        W.append_decision(path, decision, PROJECT.ledger_descriptor)
    assert not path.exists()


def test_append_refuses_an_excel_ledger(tmp_path):
    with pytest.raises(LedgerError, match="CSV ledger only"):
        W.append_decision(tmp_path / "decisions.xlsx", {}, PROJECT.ledger_descriptor)
