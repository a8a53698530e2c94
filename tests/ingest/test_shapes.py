"""Real delivery shapes (issue 12): totals and sub-header rows, sheets, two-row headers, source profiles,
sidecar defaults, unknown columns, range messages and cancelled cohorts. Files are written by the tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from pledgeflow.card.delivery_totals import check_delivery_totals
from pledgeflow.errors import ConservationError, DeliveryError
from pledgeflow.ingest.deliver import process_delivery
from pledgeflow.ingest.profiles import suggest_column
from pledgeflow.ingest.read import read_delivery
from pledgeflow.publish.manifest import build_manifest
from tests.conftest import make_project
from tests.ingest.shaped_files import HRD_EXTRA, hrd_net_rows, write_hrd_csv, write_shaped_workbook

SIDECAR = "delivered_by: 일자리정책과\ndelivered_on: 2020-01-10\ndistrict: 영등포구\npledge: '15'\ndefaults:\n  세부사업: {sub}\n"


@pytest.fixture(scope="module")
def project():
    return make_project()


def folder(tmp_path: Path, sub: str | None = "중장년 일자리 창출") -> Path:
    path = tmp_path / "training_cohorts"
    path.mkdir()
    if sub:
        (path / "_delivery.yaml").write_text(SIDECAR.format(sub=sub), encoding="utf-8")
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949"])
def test_an_hrd_net_export_reads_whole(tmp_path, project, encoding):
    path = write_hrd_csv(folder(tmp_path) / "hrd.csv", hrd_net_rows(300), encoding)
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    counts = result.counts
    assert (counts["rows_read"], counts["rows_valid"], counts["rows_quarantined"]) == (300, 300, 0)
    assert counts["profile"] == "hrd_net_training_courses"
    assert counts["total_rows"] == 1 and counts["rows_below_header"] == 301
    assert all(t["declared"] == t["observed"] for t in counts["declared_totals"]) and len(counts["declared_totals"]) == 2
    assert counts["cancelled_rows"] == 1
    assert counts["defaults_applied"] == ["subproject_name_ko=중장년 일자리 창출"]
    assert dict(counts["delivery_facts"])["district"] == "영등포구"
    assert [u["header"] for u in counts["unknown_columns"]] == HRD_EXTRA
    assert {"header": "과정시작일자(요일)", "suggestion": "개강일", "column": "start_date"} in counts["unknown_columns"]
    valid = result.valid
    assert valid["cohort_id"].head(2).to_list() == ["AIG2019000000-1", "AIG2019000000-2"]
    assert valid["subproject_id"].unique().to_list() == ["midcareer"]
    assert valid["start_date"].null_count() == 0 and valid["end_date"].null_count() == 0


def test_a_totals_row_that_disagrees_is_a_reconciliation_finding_not_a_failure(tmp_path, project):
    rows = hrd_net_rows(20)
    rows[-1][6] = "9,999"
    path = write_hrd_csv(folder(tmp_path) / "hrd.csv", rows)
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    assert result.failures.height == 0 and result.counts["rows_valid"] == 20
    counts = pl.DataFrame([result.counts]).select("declared_totals")
    found = check_delivery_totals(counts, project.contract("reconciliation"))
    enrolled = found.filter(pl.col("subject") == "training_cohorts/hrd.csv/enrolled_count").row(0, named=True)
    assert (enrolled["kind"], enrolled["rule"], enrolled["status"], enrolled["observed"]) == ("delivery_totals", "declared_total", "mismatch", 9999)
    assert enrolled["source_ref"] == "raw/training_cohorts/hrd.csv:22"
    assert found.filter(pl.col("subject").str.ends_with("completed_count"))["status"].to_list() == ["match"]


def test_a_workbook_with_sheets_group_headers_subtotals_and_page_breaks(tmp_path, project):
    path = write_shaped_workbook(folder(tmp_path, sub=None) / "wb.xlsx")
    result = process_delivery(path, "training_cohorts", "training_cohorts/wb.xlsx", project)
    counts = result.counts
    assert counts["sheets"] == ["상반기", "하반기"]  # the cover sheet has no header: not read, but listed
    assert counts["skipped_sheets"] == ["표지 (1 rows)"]
    assert (counts["rows_read"], counts["rows_valid"], counts["rows_quarantined"]) == (5, 5, 0)
    assert (counts["total_rows"], counts["repeated_header_rows"], counts["blank_rows"]) == (4, 1, 1)
    assert counts["rows_below_header"] == 5 + 4 + 1 + 1
    assert counts["header_row"] == 4  # the column row under the group header
    valid = result.valid.sort("cohort_id")
    assert valid["enrolled_count"].to_list() == [20, 15, 0, 12, 9]  # "수강인원" over "신청"
    assert valid["start_date"].cast(pl.String).to_list()[:2] == ["2019-03-04", "2019-05-15"]  # date cell, serial
    # rows keep the row number Excel shows on their own sheet, and name the sheet
    assert valid.select("source_file", "source_row").row(0) == ("training_cohorts/wb.xlsx#상반기", 6)
    assert valid.filter(pl.col("cohort_id") == "C-5")["source_file"].item() == "training_cohorts/wb.xlsx#하반기"
    assert all(t["declared"] == t["observed"] for t in counts["declared_totals"])


def test_the_descriptor_names_the_sheet(tmp_path, project):
    path = write_shaped_workbook(folder(tmp_path, sub=None) / "wb.xlsx")
    descriptor = replace(project.catalog.descriptors["training_cohorts"], sheet="하*")
    delivery = read_delivery(path, descriptor, "training_cohorts/wb.xlsx")
    assert delivery.sheets == ("하반기",) and delivery.rows_read == 2
    assert delivery.frame["source_file"].unique().to_list() == ["training_cohorts/wb.xlsx"]  # one sheet: the plain name


def test_a_sheet_without_a_header_names_what_was_expected_and_what_was_seen(tmp_path, project):
    path = tmp_path / "x.csv"
    path.write_text("제목\n과정번호,이름,날짜\nA,B,C\n", encoding="utf-8")
    with pytest.raises(DeliveryError) as raised:
        read_delivery(path, project.catalog.descriptors["training_cohorts"], "x.csv")
    assert "과정명" in raised.value.message_ko and "2행(과정번호, 이름, 날짜)" in raised.value.message_ko
    assert "Closest row: row 2" in raised.value.message_en


def test_a_total_label_with_text_in_other_columns_stays_a_record(tmp_path, project):
    rows = hrd_net_rows(3, cancelled=0)
    rows[2][0], rows[2][2] = "계", "계약학과 과정"  # an id that happens to read 계, in a real row
    path = write_hrd_csv(folder(tmp_path) / "hrd.csv", rows)
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    assert result.counts["rows_read"] == 3 and result.counts["total_rows"] == 1  # only the 합계 row


def test_range_failures_name_their_range_and_a_cancelled_cohort_is_valid(tmp_path, project):
    rows = hrd_net_rows(3, cancelled=1)
    rows[2][6] = "20000"
    rows[3][0] = "X" * 60
    path = write_hrd_csv(folder(tmp_path) / "hrd.csv", rows[:-1])
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    messages = dict(zip(result.failures["rule"], result.failures["message_ko"]))
    english = dict(zip(result.failures["rule"], result.failures["message_en"]))
    assert "허용 범위: 0 이상 10000 이하" in messages["in_range"] and "at least 0 and at most 10000" in english["in_range"]
    assert "길이 1자 이상 40자 이하" in messages["str_length"]
    assert result.counts["rows_valid"] == 1 and result.counts["cancelled_rows"] == 1


def test_a_failing_sidecar_default_says_where_the_value_came_from(tmp_path, project):
    path = write_hrd_csv(folder(tmp_path, sub="없는 사업") / "hrd.csv", hrd_net_rows(2)[:-1])
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    unknown = result.failures.filter(pl.col("rule") == "unknown_subproject")
    assert unknown.height == 2 and unknown["message_ko"].str.contains("_delivery.yaml").all()


def test_a_malformed_sidecar_is_a_file_level_failure(tmp_path, project):
    target = folder(tmp_path, sub=None)
    (target / "hrd.csv.meta.yaml").write_text("defaults:\n  없는열: 1\n", encoding="utf-8")
    path = write_hrd_csv(target / "hrd.csv", hrd_net_rows(2))
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    assert result.file_error and "hrd.csv.meta.yaml" in result.file_error


def test_unknown_headers_get_the_closest_known_column(project):
    descriptor = project.catalog.descriptors["training_cohorts"]
    assert suggest_column("과정시작일", descriptor).column == "start_date"
    assert suggest_column("과정시작일", descriptor).suggestion in ("개강일",)
    assert suggest_column("NCS코드", descriptor).column is None


def test_rows_under_the_header_that_are_unaccounted_break_conservation():
    inputs = pl.DataFrame({"dataset": ["d"], "source_file": ["f.csv"], "sha256": ["x"], "size_bytes": [1]})
    counts = {"dataset": ["d"], "source_file": ["f.csv"], "rows_read": [3], "rows_valid": [3], "rows_quarantined": [0],
              "file_error": [None], "total_rows": [1], "repeated_header_rows": [0], "blank_rows": [0]}
    ok = pl.DataFrame({**counts, "rows_below_header": [4]})
    assert build_manifest(1, "r", "t", None, inputs, ok, {}, "completed", {})["file_counts"][0]["total_rows"] == 1
    with pytest.raises(ConservationError, match="rows under the header 5"):
        build_manifest(1, "r", "t", None, inputs, ok.with_columns(pl.lit(5).alias("rows_below_header")), {}, "completed", {})


def test_the_review_pack_lists_unknown_columns_with_suggestions(tmp_path, project):
    from pledgeflow.steward.review_pack import unknown_columns_frame, write_review_pack

    path = write_hrd_csv(folder(tmp_path) / "hrd.csv", hrd_net_rows(3))
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    unknown = unknown_columns_frame(pl.DataFrame([result.counts]))
    assert unknown.height == len(HRD_EXTRA)
    paths = write_review_pack(tmp_path / "review", result.failures, {}, project.catalog, "run-1",
                              contract=project.contract("validation_failures"), unknown_columns=unknown)
    html = paths["html"].read_text(encoding="utf-8")
    assert "과정시작일자(요일)" in html and "start_date" in html


def test_validate_prints_sheets_totals_and_unknown_columns(tmp_path):
    from typer.testing import CliRunner

    from pledgeflow.cli.commands import app
    from tests.conftest import REPO

    target = folder(tmp_path)
    rows = hrd_net_rows(30)
    rows[-1][6] = "1"
    write_hrd_csv(target / "hrd.csv", rows)
    out = CliRunner().invoke(app, ["validate", str(target / "hrd.csv"), "--root", str(REPO)], terminal_width=400).output
    assert "read 30, valid 30, quarantined 0" in out
    assert "source profile: hrd_net_training_courses" in out and "1 totals row(s)" in out
    assert "enrolled_count declared 1, rows sum to" in out and "DISAGREES" in out
    assert "completed_count declared" in out and "agrees" in out
    assert "과정시작일자(요일) → 개강일 (start_date)" in out and "defaults from _delivery.yaml" in out
    wb = write_shaped_workbook(tmp_path / "training_cohorts" / "wb.xlsx")
    out = CliRunner().invoke(app, ["validate", str(wb), "--root", str(REPO)], terminal_width=400).output
    assert "sheet(s) read: 상반기, 하반기" in out and "1 repeated header row(s)" in out
    assert "sheet(s) not read, no header among their first rows: 표지 (1 rows)" in out


def test_a_sheet_that_continues_the_data_without_a_header_is_said_and_kept_through_the_cache(tmp_path, project):
    """A second sheet of rows with no header row cannot be read, so its rows are listed, never dropped in silence."""
    import xlsxwriter

    from pledgeflow.ingest.cache import cache_result, load_result
    from pledgeflow.ingest.shape_report import shape_lines

    path = folder(tmp_path, sub=None) / "two.xlsx"
    book = xlsxwriter.Workbook(str(path))
    first, second = book.add_worksheet("1"), book.add_worksheet("2")
    first.write_row(0, 0, ["과정번호", "과정명", "세부사업", "개강일", "종강일", "수강인원", "수료인원"])
    first.write_row(1, 0, ["C-1", "용접", "중장년 일자리 창출", "2019-03-04", "2019-05-31", "20", "18"])
    for row in range(3):  # the continuation: data rows only
        second.write_row(row, 0, [f"C-{row + 2}", "용접", "중장년 일자리 창출", "2019-06-03", "2019-08-30", "20", "18"])
    book.close()
    result = process_delivery(path, "training_cohorts", "training_cohorts/two.xlsx", project)
    assert result.counts["sheets"] == ["1"] and result.counts["skipped_sheets"] == ["2 (3 rows)"]
    (level, line), = [said for said in shape_lines(result.counts) if "not read" in said[1]]
    assert level == "warning" and "2 (3 rows)" in line and "copy the header row onto it" in line
    cached = cache_result(tmp_path / "cache", "k", result, refresh=True)
    assert load_result(tmp_path / "cache", "k").counts["skipped_sheets"] == cached.counts["skipped_sheets"] == ["2 (3 rows)"]


def test_a_sidecar_is_part_of_the_cache_key_and_the_shape_survives_the_cache(tmp_path, project):
    from pledgeflow.ingest.cache import cache_result, delivery_key, load_result

    target = folder(tmp_path, sub=None)
    path = write_hrd_csv(target / "hrd.csv", hrd_net_rows(5))
    delivery = {"dataset": "training_cohorts", "source_file": "training_cohorts/hrd.csv", "sha256": "abc", "path": str(path)}
    bare = delivery_key(delivery, "ctx")
    (target / "_delivery.yaml").write_text(SIDECAR.format(sub="중장년 일자리 창출"), encoding="utf-8")
    assert delivery_key(delivery, "ctx") != bare
    result = process_delivery(path, "training_cohorts", "training_cohorts/hrd.csv", project)
    cache_result(tmp_path / "cache", "k", result)
    loaded = load_result(tmp_path / "cache", "k")
    assert loaded.counts == result.counts
