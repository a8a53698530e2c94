"""Tests for the steward's review pack: workbook sheets and rows, summary counts, and masking, formula
neutralisation and byte-identical output in both files (the HTML page itself: test_review_html.py)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from pledgeflow.catalog import load_catalog

from pledgeflow.steward.review_pack import neutralise_formula, sheet_name, write_review_pack
from pledgeflow.steward.xlsx_frames import FrameSheet, rows_xml
from tests.conftest import CURATED, PLACEMENTS_FILE, delivered, failure, failures, placement

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "schemas")
RRN = "800101-1234567"
PHONE = "010-1234-5678"
# what must never reach either file unmasked (the same shapes pledgeflow.privacy masks)
PERSONAL = re.compile(r"\d{6}\s*-?\s*[1-8]\d{6}|01[016789][-. ]?\d{3,4}[-. ]?\d{4}")
FORMULAS = ['=HYPERLINK("evil.example","click")', "+1", "-2", "@SUM(A1)"]


def records(path: Path, sheet: str) -> list[dict]:
    """A dataset sheet as dicts keyed by the English header (row 2), data from row 3."""
    rows = list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[1], r)) for r in rows[2:]]


def summary_table(path: Path, title: str) -> list[dict]:
    """A table of the summary sheet: the rows under its title's header row, up to the blank row."""
    rows = list(openpyxl.load_workbook(path)["요약 Summary"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith(title))
    header = [h for h in rows[start + 1] if h]
    body = []
    for r in rows[start + 2:]:
        if r[0] is None:
            break
        body.append(dict(zip(header, r)))
    return body


def xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


@pytest.fixture
def pack(tmp_path: Path) -> dict[str, Path]:
    """Two failing placements (one with two rules), one failing job fair with no delivered values."""
    table = failures(
        failure(11, "parse_date", "hire_date"),
        failure(11, "event_not_found", "event_id", state="persisting"),
        failure(36, "unknown_channel", "channel_id", state="waived"),
        failure(2, "parse_date", "fair_date", dataset="job_fairs", source_file="job_fairs/2020.csv"),
    )
    trend = pl.DataFrame({"run_number": [2, 1], "dataset": ["placements"] * 2, "new": [1, 3], "persisting": [1, 0],
                          "waived": [1, 0], "corrected": [0, 0], "resolved": [0, 0]})
    return write_review_pack(tmp_path / "review", table, delivered(placement(11), placement(36, note="정규직 전환")),
                             CATALOG, "run-000002", trend, contract=CURATED["validation_failures"])


def test_neutralise_formula_prefixes_only_formula_starts():
    values = [*FORMULAS, "\tx", "\rx", "-", "1,150", "주민번호 확인", "a=b", "", None]
    out = pl.select(neutralise_formula(pl.Series(values, dtype=pl.String))).to_series().to_list()
    assert out == [*["'" + v for v in FORMULAS], "'\tx", "'\rx", "'-", "1,150", "주민번호 확인", "a=b", "", None]


def test_workbook_has_summary_first_then_one_sheet_per_dataset(pack):
    book = openpyxl.load_workbook(pack["xlsx"])
    assert book.sheetnames == ["요약 Summary", *[d.title_ko for d in CATALOG.descriptors.values()]]
    sheet = book["취업자(채용) 명부"]
    korean = [c.value for c in sheet[1]]
    english = [c.value for c in sheet[2]]
    assert korean[:5] == ["파일", "행 번호", "레코드 ID", "레코드 키", "구직자 관리번호"]
    assert english[:5] == ["file", "row", "record_id", "record_key", "person_id"]
    assert {"출생연도", "사업자등록번호", "채용일", "비고", "위반 규칙"} <= set(korean)
    assert "person_key" not in english  # the pseudonym is shown, never the delivered key
    assert sheet.freeze_panes == "D3"
    assert sheet.auto_filter.ref == "A2:S4"


def test_one_row_per_failing_record_with_all_its_rules(pack):
    rows = records(pack["xlsx"], "취업자(채용) 명부")
    assert [(r["file"], r["row"]) for r in rows] == [(PLACEMENTS_FILE, 11), (PLACEMENTS_FILE, 36)]
    first = rows[0]
    assert first["rules"] == "event_not_found; parse_date"
    assert first["states"] == "persisting; new"  # aligned with the rules
    assert first["fingerprints"] == "fp-11-event_not_found; fp-11-parse_date"
    assert first["messages (Korean)"].splitlines() == ["[event_id] 규칙 event_not_found 위반", "[hire_date] 규칙 parse_date 위반"]
    assert first["record_id"] == f"{11:016x}"
    # values as delivered, joined on file and row
    assert (first["hire_date"], first["employer_brn"], first["event_id"]) == ("2019. 2. 30.", "1178114553", "TC-2019-01")
    assert rows[1]["note_ko"] == "정규직 전환"


def test_record_without_delivered_values_still_gets_its_row(pack):
    rows = records(pack["xlsx"], "취업박람회 개최 현황")
    assert len(rows) == 1
    assert (rows[0]["file"], rows[0]["row"], rows[0]["rules"]) == ("job_fairs/2020.csv", 2, "parse_date")
    assert rows[0]["fair_date"] is None
    assert records(pack["xlsx"], "교육과정 운영 현황") == []


def test_summary_counts_by_dataset_rule_and_state(pack):
    by_rule = {(r["데이터셋 (dataset)"], r["규칙 (rule)"]): r for r in summary_table(pack["xlsx"], "데이터셋·규칙별 실패")}
    assert set(by_rule) == {("job_fairs", "parse_date"), ("placements", "event_not_found"),
                            ("placements", "parse_date"), ("placements", "unknown_channel")}
    channel = by_rule[("placements", "unknown_channel")]
    assert (channel["실패 건수 (failures)"], channel["예외 인정 (waived)"], channel["신규 (new)"]) == (1, 1, 0)
    assert channel["안내(한국어) (message (Korean))"] == "규칙 unknown_channel 위반"  # rule message without the cell
    totals = {r["데이터셋 (dataset)"]: r for r in summary_table(pack["xlsx"], "데이터셋별 합계")}
    assert (totals["placements"]["실패 레코드 수 (failing records)"], totals["placements"]["실패 건수 (failures)"]) == (2, 3)
    assert (totals["placements"]["신규 (new)"], totals["placements"]["지속 (persisting)"]) == (1, 1)
    assert totals["training_cohorts"]["실패 건수 (failures)"] == 0


def test_summary_shows_the_trend_when_given(pack, tmp_path):
    trend = summary_table(pack["xlsx"], "실행별 추이")
    assert [(r["실행 번호 (run)"], r["신규 (new)"]) for r in trend] == [(1, 3), (2, 1)]
    untrended = write_review_pack(tmp_path / "plain", failures(failure(11, "parse_date", "hire_date")), {}, CATALOG, "r", contract=CURATED["validation_failures"])
    cells = [c for r in openpyxl.load_workbook(untrended["xlsx"])["요약 Summary"].iter_rows(values_only=True) for c in r]
    assert not any(isinstance(c, str) and c.startswith("실행별 추이") for c in cells)


def test_personal_numbers_never_reach_either_file(tmp_path):
    table = failures(failure(11, "no_personal_number", "note_ko", value=f"연락처 {PHONE}"))
    paths = write_review_pack(tmp_path, table, delivered(placement(11, note=f"주민번호{RRN} 확인")), CATALOG, "r", contract=CURATED["validation_failures"])
    for text in (xlsx_text(paths["xlsx"]), paths["html"].read_text(encoding="utf-8")):
        assert not PERSONAL.search(text)
        assert "******-*******" in text
    assert records(paths["xlsx"], "취업자(채용) 명부")[0]["note_ko"] == "주민번호******-******* 확인"


def test_formula_like_values_are_neutralised_in_both_files(tmp_path):
    rows = [placement(10 + i, note=formula) for i, formula in enumerate(FORMULAS)]
    table = failures(*[failure(10 + i, "parse_date", "hire_date") for i in range(len(FORMULAS))])
    paths = write_review_pack(tmp_path, table, delivered(*rows), CATALOG, "r", contract=CURATED["validation_failures"])
    sheet = openpyxl.load_workbook(paths["xlsx"])["취업자(채용) 명부"]
    note = [c.value for c in sheet[2]].index("note_ko")
    cells = [sheet.cell(row=3 + i, column=note + 1) for i in range(len(FORMULAS))]
    assert [c.value for c in cells] == ["'" + f for f in FORMULAS]
    assert {c.data_type for c in cells} == {"s"}  # text, never a formula
    assert "<f>" not in xlsx_text(paths["xlsx"])
    page = paths["html"].read_text(encoding="utf-8")
    assert "<td>&#x27;=HYPERLINK(&quot;evil.example&quot;" in page
    assert all(f"<td>&#x27;{f}</td>" in page for f in ("+1", "-2", "@SUM(A1)"))
    assert "<td>=" not in page and "<td>+1" not in page


def test_same_inputs_give_the_same_bytes(tmp_path):
    table = failures(failure(36, "unknown_channel", "channel_id"), failure(11, "parse_date", "hire_date"))
    rows = delivered(placement(36), placement(11))
    first = write_review_pack(tmp_path / "a", table, rows, CATALOG, "r", contract=CURATED["validation_failures"])
    second = write_review_pack(tmp_path / "b", table.reverse(), rows, CATALOG, "r", contract=CURATED["validation_failures"])
    for kind in ("xlsx", "html"):
        assert first[kind].read_bytes() == second[kind].read_bytes()
    assert openpyxl.load_workbook(first["xlsx"]).properties.created.year == 2000


def test_sheet_names_are_valid_and_unique():
    used: set[str] = set()
    long = "교육과정 운영 현황 " * 5
    names = [sheet_name("a/b[c]:d*e?f\\g", used), sheet_name(long, used), sheet_name(long, used)]
    assert names[0] == "a_b_c__d_e_f_g"
    assert all(len(n) <= 31 for n in names) and len(set(names)) == 3


def test_a_run_without_failures_still_writes_both_files(tmp_path):
    paths = write_review_pack(tmp_path, pl.DataFrame(schema=CURATED["validation_failures"]), {}, CATALOG, "r", contract=CURATED["validation_failures"])
    book = openpyxl.load_workbook(paths["xlsx"])
    assert len(book.sheetnames) == 1 + len(CATALOG.descriptors)
    assert all(records(paths["xlsx"], d.title_ko) == [] for d in CATALOG.descriptors.values())
    assert {r["실패 건수 (failures)"] for r in summary_table(paths["xlsx"], "데이터셋별 합계")} == {0}
    assert "<tbody>\n\n</tbody>" in paths["html"].read_text(encoding="utf-8")


def test_a_frame_sheet_reads_back_like_cell_by_cell_writes(tmp_path):
    frame = pl.DataFrame({
        "text": ["<a & b>", " leading", "ctrl\x01x", "tab\tx", None, "줄\n바꿈", "😀" * 20000],
        "n": [1, None, 3, 40000, 5, 6, 7],
        "tail": ["x", "y", None, "'=1", "z", "trailing ", "w"],
    })
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    book = xlsxwriter.Workbook(str(fast))
    wrap = book.add_format({"text_wrap": True})
    book.add_worksheet("s", worksheet_class=FrameSheet).write_frame(1, frame, [wrap, None, None])
    book.close()
    book = xlsxwriter.Workbook(str(slow))
    wrap, sheet = book.add_format({"text_wrap": True}), book.add_worksheet("s")
    for r, row in enumerate(frame.iter_rows(), start=1):  # the reference: xlsxwriter, one call per cell
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, c, value, wrap if c == 0 else None)
            elif value is not None:
                sheet.write_number(r, c, value)
    book.close()
    fast_sheet, slow_sheet = (openpyxl.load_workbook(p)["s"] for p in (fast, slow))
    assert fast_sheet.dimensions == slow_sheet.dimensions == "A2:C8"
    for fast_row, slow_row in zip(fast_sheet.iter_rows(), slow_sheet.iter_rows(), strict=True):
        assert [(c.value, c.data_type, c.alignment.wrap_text) for c in fast_row] == [
            (c.value, c.data_type, c.alignment.wrap_text) for c in slow_row]
    assert len(fast_sheet["A8"].value) == 16383  # cut to Excel's 32,767 UTF-16 units, as xlsxwriter does
    # a literal escape look-alike is itself escaped (openpyxl undoes this for shared strings only, so not compared above)
    assert "<t>_x005F_x0041_ &amp; _x0001_</t>" in rows_xml(pl.DataFrame({"t": ["_x0041_ & \x01"]}), 0, [0])


def test_a_frame_past_the_sheet_limit_is_refused_not_written_corrupt(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "big.xlsx"))
    sheet = book.add_worksheet("s", worksheet_class=FrameSheet)
    with pytest.raises(ValueError, match="do not fit an Excel sheet"):
        sheet.write_frame(sheet.xls_rowmax - 1, pl.DataFrame({"n": [1, 2]}), [None])
    assert sheet.frames == []
    book.close()


def test_a_dataset_sheet_past_excels_rows_ends_with_a_note_and_the_html_keeps_everything(tmp_path, monkeypatch):
    from pledgeflow.steward import review_pack as review
    from pledgeflow.steward.review_html import Table

    original = FrameSheet.__init__

    def small_sheet(self) -> None:  # an Excel of 10 rows stands in for one of 1,048,576
        original(self)
        self.xls_rowmax = 10

    monkeypatch.setattr(FrameSheet, "__init__", small_sheet)
    table = Table("배치", "placements", pl.DataFrame({"source_row": list(range(20)), "rule": ["x"] * 20}),
                  (("행", "row"), ("규칙", "rule")))
    book = xlsxwriter.Workbook(str(tmp_path / "pack.xlsx"))
    formats = {name: book.add_format({}) for name in ("head_ko", "head_en", "text", "wrap")}
    review.write_dataset_sheet(book, formats, table, "placements")
    book.close()
    rows = list(openpyxl.load_workbook(tmp_path / "pack.xlsx")["placements"].iter_rows(values_only=True))
    assert [r[0] for r in rows[2:9]] == list(range(7)) and "13 more" in rows[9][0]


def test_valid_records_no_indicator_counts_get_a_section_of_their_own(tmp_path):
    """Issue 11: nothing valid vanishes silently; the steward sees the unassigned records and why."""
    from tests.conftest import REPO

    unassigned = pl.DataFrame({
        "dataset": ["training_cohorts"], "source_file": ["training_cohorts/2023.csv"], "source_row": [6],
        "record_id": ["0123456789abcdef"], "pledge_id": ["ydp-2018-15"], "subproject_id": ["midcareer"],
        "reason": ["no_pledge_indicator"], "message_ko": ["이 세부사업의 공약에는 이 자료를 세는 지표가 없습니다."],
        "message_en": ["No indicator of this sub-project's pledge reads this dataset."]}, schema=CURATED["unassigned_records"])
    empty = pl.DataFrame(schema=CURATED["validation_failures"])
    paths = write_review_pack(tmp_path, empty, {}, load_catalog(REPO / "schemas"), "run-1",
                              contract=CURATED["validation_failures"], unassigned=unassigned)
    html = paths["html"].read_text(encoding="utf-8")
    assert "지표 미배정 기록" in html and "training_cohorts/2023.csv" in html and "no_pledge_indicator" in html
    summary = openpyxl.load_workbook(paths["xlsx"]).worksheets[0]
    cells = {str(c.value) for row in summary.iter_rows() for c in row if c.value is not None}
    assert any("지표 미배정 기록" in c for c in cells) and "training_cohorts/2023.csv" in cells

