"""Tests for the steward's review pack: workbook sheets and rows, summary counts, masking, text kept as text
without visible marks, corrections before → after, how to decide, print layout and byte-identical output in
both files (the HTML page itself: test_review_html.py)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from pledgeflow.catalog import load_catalog

from pledgeflow.steward.review_pack import sheet_name, write_review_pack
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


def test_workbook_has_summary_first_then_one_sheet_per_dataset(pack):
    book = openpyxl.load_workbook(pack["xlsx"])
    assert book.sheetnames == ["요약 Summary", *[d.title_ko for d in CATALOG.descriptors.values()]]
    sheet = book["취업자(채용) 명부"]
    korean = [c.value for c in sheet[1]]
    english = [c.value for c in sheet[2]]
    # what the steward acts on first: where, what rule, what it says, its state; the keys last
    assert korean[:5] == ["파일", "행 번호", "위반 규칙", "안내(한국어)", "안내(영어)"]
    assert english[:8] == ["file", "row", "rules", "messages (Korean)", "messages (English)", "states", "columns",
                           "corrections (before → after)"]
    assert english[8] == "person_id" and english[-3:] == ["record_id", "record_key", "fingerprints"]
    assert {"출생연도", "사업자등록번호", "채용일", "비고", "위반 규칙"} <= set(korean)
    assert "person_key" not in english  # the pseudonym is shown, never the delivered key
    assert sheet.freeze_panes == "C3"
    assert sheet.auto_filter.ref == "A2:T4"


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


def test_text_stays_text_without_visible_marks_in_both_files(tmp_path):
    values = [*FORMULAS, "-", "20. 10. 12."]
    rows = [placement(10 + i, note=value) for i, value in enumerate(values)]
    table = failures(*[failure(10 + i, "parse_date", "hire_date") for i in range(len(values))])
    paths = write_review_pack(tmp_path, table, delivered(*rows), CATALOG, "r", contract=CURATED["validation_failures"])
    sheet = openpyxl.load_workbook(paths["xlsx"])["취업자(채용) 명부"]
    note = [c.value for c in sheet[2]].index("note_ko")
    cells = [sheet.cell(row=3 + i, column=note + 1) for i in range(len(values))]
    assert [c.value for c in cells] == values  # no "'" stored in the text
    assert {c.data_type for c in cells} == {"s"}  # text, never a formula
    assert all(c.quotePrefix for c in cells)  # and it stays text when a steward edits the cell
    assert "<f>" not in xlsx_text(paths["xlsx"])
    page = paths["html"].read_text(encoding="utf-8")
    assert "<td>=HYPERLINK(&quot;evil.example&quot;" in page
    assert all(f"<td>{v}</td>" in page for v in ("+1", "-2", "@SUM(A1)", "-", "20. 10. 12."))
    assert "&#x27;-" not in page and "&#x27;+1" not in page


def test_a_corrected_record_shows_its_values_as_delivered_and_the_correction(tmp_path):
    table = failures(failure(11, "parse_date", "hire_date", state="corrected"), failure(36, "unknown_channel", "channel_id"))
    corrections = pl.DataFrame({"dataset": ["placements"], "source_file": [PLACEMENTS_FILE], "source_row": [11],
                                "column": ["hire_date"], "new_value": ["2019. 2. 28."], "outcome": ["applied"]})
    paths = write_review_pack(tmp_path, table, delivered(placement(11), placement(36)), CATALOG, "r",
                              contract=CURATED["validation_failures"], corrections=corrections)
    rows = records(paths["xlsx"], "취업자(채용) 명부")
    assert (rows[0]["row"], rows[0]["states"], rows[0]["hire_date"]) == (11, "corrected", "2019. 2. 30.")
    assert rows[0]["employer_brn"] == "1178114553"  # every value as delivered, not blanks
    assert rows[0]["corrections (before → after)"] == "hire_date: 2019. 2. 30. → 2019. 2. 28. (applied)"
    assert rows[1]["corrections (before → after)"] is None
    assert "hire_date: 2019. 2. 30. → 2019. 2. 28. (applied)" in paths["html"].read_text(encoding="utf-8")


def test_both_files_say_how_to_record_each_decision_in_korean_first(pack):
    howto = summary_table(pack["xlsx"], "결정 기록 방법")
    assert [r["조치 (action)"] for r in howto] == ["correct", "waive", "exclude"]
    for row in howto:
        assert row["명령 (command)"].startswith(f"uv run pledgeflow review {row['조치 (action)']} --file ")
        assert f"조치={row['조치 (action)']}" in row["결정 대장에 쓸 값 (ledger row (Excel))"]
    page = pack["html"].read_text(encoding="utf-8")
    assert page.index("결정을 기록하는 방법") < page.index("How to record a decision")
    assert "raw/decisions/decisions.csv" in page and "uv run pledgeflow review waive --file" in page


def test_the_workbook_prints_landscape_a4_fit_to_width_in_malgun_gothic(pack):
    book = openpyxl.load_workbook(pack["xlsx"])
    for sheet in book.worksheets:
        assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0  # 1 is the default: omitted
    assert book["취업자(채용) 명부"].print_title_rows == "$1:$2"
    styles = zipfile.ZipFile(pack["xlsx"]).read("xl/styles.xml").decode()
    assert "Calibri" not in styles and "맑은 고딕" in styles


def test_a_blocked_runs_pack_says_why_it_was_blocked(tmp_path):
    paths = write_review_pack(tmp_path, failures(failure(11, "parse_date", "hire_date")), {}, CATALOG, "run-000007",
                              contract=CURATED["validation_failures"], blocked_reason="placements: 41.2% of rows quarantined")
    assert "차단" in paths["html"].read_text(encoding="utf-8") and "41.2%" in paths["html"].read_text(encoding="utf-8")
    cells = [c for r in openpyxl.load_workbook(paths["xlsx"])["요약 Summary"].iter_rows(values_only=True) for c in r if c]
    assert any("차단" in str(c) and "41.2%" in str(c) for c in cells)


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
    from pledgeflow.steward import review_xlsx as review
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
    from pledgeflow.steward.review_html import write_html

    write_html(tmp_path / "pack.html", [], [table.__class__(table.title_ko, table.title_en,
                                                            table.frame.with_columns(states=pl.lit("new"), rules=pl.lit("x")),
                                                            table.headers + (("상태", "states"), ("규칙들", "rules")))], "r")
    page = (tmp_path / "pack.html").read_text(encoding="utf-8")
    shown = [int(cell) for cell in re.findall(r'<tr data-rules="x" data-states="new"><td class="n">(\d+)</td>', page)]
    assert shown == list(range(20))  # the page is not cut at the sheet's row limit


def test_a_run_keeps_a_corrected_records_values_as_delivered_for_the_next_pack(tmp_path):
    """A correction makes the record valid: the next version's pack still shows what was delivered."""
    from pledgeflow.catalog import load_descriptor
    from pledgeflow.project import LEDGER_DESCRIPTOR_FILE
    from pledgeflow.run.tables import pack_corrections, pack_values
    from pledgeflow.steward.ledger_writer import append_decision
    from tests.conftest import copy_project, settle_project

    root = copy_project(tmp_path / "project")
    decision = {"action": "correct", "dataset": "placements", "source_file": PLACEMENTS_FILE, "source_row": 47,
                "record_id": "90996f0f152856da", "column": "hire_date", "new_value": "2019. 2. 28.",
                "decided_by": "김민영", "reason": "원본 서류 확인"}
    append_decision(root / "raw/decisions/decisions.csv", decision, load_descriptor(root / "schemas" / LEDGER_DESCRIPTOR_FILE))
    _, settled, _ = settle_project(root)
    values = pack_values(settled)["placements"].filter(pl.col("source_file") == PLACEMENTS_FILE, pl.col("source_row") == 47)
    assert values["hire_date"].to_list()[:1] == ["2019. 2. 30."]  # as delivered, first: the pack keeps the first
    corrections = pack_corrections(settled)
    assert corrections.select("source_row", "column", "new_value", "outcome").rows() == [(47, "hire_date", "2019. 2. 28.", "applied")]


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
    book = openpyxl.load_workbook(paths["xlsx"])
    summary = {str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value is not None}
    assert any("지표 미배정 기록" in c for c in summary) and "training_cohorts/2023.csv" not in summary  # counts only
    # the records on a sheet of their own, after the datasets' sheets, with both header rows
    listed = book.worksheets[-1]
    assert listed.title == "지표 미배정 기록 목록"
    rows = [[c.value for c in row] for row in listed.iter_rows()]
    assert rows[1][:3] == ["dataset", "file", "row"]
    assert rows[2][:3] == ["training_cohorts", "training_cohorts/2023.csv", 6] and len(rows) == 3

