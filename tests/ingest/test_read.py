"""Tests for the reading stage: discovery, encodings, Excel grids, header detection, row numbers."""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from pledgeflow.catalog import Catalog, ColumnSpec, Descriptor
from pledgeflow.korean import parse_date, parse_int
from pledgeflow.ingest.read import DeliveryError, detect_encoding, discover_deliveries, read_delivery

HEADER = ["박람회번호", "박람회명", "개최일", "참여인원", "비고"]


def make_descriptor(dataset: str = "job_fairs", folder: str = "job_fairs") -> Descriptor:
    columns = (
        ColumnSpec("fair_id", "박람회 번호", ("박람회번호", "행사번호"), "str", required=True),
        ColumnSpec("fair_name_ko", "박람회명", ("행사명",), "str", required=True),
        ColumnSpec("fair_date", "개최일", ("행사일",), "date", required=True),
        ColumnSpec("participant_count", "참여인원", ("참가인원",), "int", required=True),
        ColumnSpec("format_ko", "개최방식", (), "str"),
        ColumnSpec("note_ko", "비고", ("특이사항",), "text", personal="mask"),
    )
    return Descriptor(
        dataset=dataset,
        title_ko="취업박람회 개최 현황",
        title_en="job fairs",
        folder=folder,
        file_patterns=("*.xlsx", "*.csv"),
        schema=f"{dataset}.schema.yaml",
        record_key=("fair_id",),
        dedupe_key=("fair_id",),
        columns=columns,
    )


DESCRIPTOR = make_descriptor()


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def write_xlsx(path: Path, cells: dict[tuple[int, int], object]) -> Path:
    """cells: (0-based row, 0-based col) -> value; datetimes become real Excel date cells."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for (row, col), value in cells.items():
        if isinstance(value, dt.datetime):
            sheet.write_datetime(row, col, value, date_format)
        else:
            sheet.write(row, col, value)
    workbook.close()
    return path


def header_cells(row: int, labels: list[str] = HEADER) -> dict[tuple[int, int], object]:
    return {(row, col): label for col, label in enumerate(labels)}


# ---- DeliveryError ----


def test_delivery_error_is_readable_and_survives_pickling():
    error = DeliveryError("job_fairs/a.csv", "빈 파일입니다.", "The file is empty.")
    assert str(error) == "job_fairs/a.csv: 빈 파일입니다. / The file is empty."
    restored = pickle.loads(pickle.dumps(error))
    assert (restored.source_file, restored.message_ko, restored.message_en) == (
        "job_fairs/a.csv",
        "빈 파일입니다.",
        "The file is empty.",
    )


# ---- detect_encoding ----


def test_detect_encoding_bom_utf8_and_cp949():
    text = "박람회명,똠방각하"
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"
    assert detect_encoding(text.encode("utf-8")) == "utf-8"
    cp949 = text.encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        cp949.decode("euc-kr")  # why euc-kr must never be used
    assert detect_encoding(cp949) == "cp949"


def test_detect_encoding_rejects_undecodable_bytes():
    with pytest.raises(DeliveryError) as info:
        detect_encoding(b"\xff\xfe\xff\x80\x80", source_file="job_fairs/bad.csv")
    assert info.value.source_file == "job_fairs/bad.csv"
    assert "CP949" in info.value.message_ko and "CP949" in info.value.message_en


def test_a_cp949_file_behind_a_utf8_byte_order_mark_is_named_as_such():
    with pytest.raises(DeliveryError) as info:
        detect_encoding(b"\xef\xbb\xbf" + "행사번호,행사명\r\nJF-1,박람회\r\n".encode("cp949"), source_file="job_fairs/mark.csv")
    assert "BOM" in info.value.message_ko and "CP949" in info.value.message_ko
    assert "byte-order mark but its text is CP949" in info.value.message_en


@pytest.mark.parametrize(("encoding", "name"), [("utf-8", "UTF-8"), ("cp949", "CP949")])
def test_an_undecodable_file_names_the_line_where_its_own_encoding_breaks(encoding, name):
    lines = [f"행사번호,행사명,{i}번째 줄".encode(encoding) for i in range(1, 6)]
    lines[3] += b"\xff\xff"  # one bad stretch on line 4 of an otherwise clean file
    with pytest.raises(DeliveryError) as info:
        detect_encoding(b"\r\n".join(lines), source_file="job_fairs/bad.csv")
    assert f"read as {name}, line 4 is the first that breaks" in info.value.message_en
    assert f"{name}로 읽으면 4번째 줄" in info.value.message_ko


# ---- CSV ----


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp949", "cp949")]
)
def test_read_csv_in_each_encoding(tmp_path, encoding, expected):
    path = write_csv(
        tmp_path / "f.csv",
        [",".join(HEADER), "JF-1,똠 박람회,2019. 5. 15.,\"1,233\",-"],
        encoding,
    )
    delivery = read_delivery(path, DESCRIPTOR, "job_fairs/f.csv")
    assert delivery.encoding == expected
    assert delivery.header_row == 1  # a BOM must not hide the first header cell
    row = delivery.frame.row(0, named=True)
    assert row["fair_id"] == "JF-1"
    assert row["fair_name_ko"] == "똠 박람회"
    assert row["participant_count"] == "1,233"
    assert row["source_row"] == 2


def test_read_csv_frame_is_all_text_in_descriptor_order(tmp_path):
    path = write_csv(tmp_path / "f.csv", [",".join(HEADER), "JF-1,A,2019-05-15,12,"])
    frame = read_delivery(path, DESCRIPTOR, "job_fairs/f.csv").frame
    assert frame.columns == [c.name for c in DESCRIPTOR.columns] + ["source_file", "source_row", "extra_fields"]
    assert all(dtype == pl.String for name, dtype in frame.schema.items() if name != "source_row")
    assert frame.schema["source_row"] == pl.Int64
    assert frame["source_file"].to_list() == ["job_fairs/f.csv"]
    # the optional column absent from the file is present and empty
    assert frame["format_ko"].to_list() == [None]


def test_read_csv_title_lines_blank_rows_and_ragged_rows(tmp_path):
    lines = [
        "2019년 취업박람회 현황",
        "",
        ",".join(HEADER),
        "JF-1,A,2019-05-15,10",  # short row
        ",,,,",  # blank row: dropped, counted
        'JF-2,"여러 줄\r\n이름",2019-06-01,20,비고,extra,cells',  # long row, quoted line break
        "",
        "JF-3,C,2019-07-01,30,",
    ]
    delivery = read_delivery(write_csv(tmp_path / "f.csv", lines), DESCRIPTOR, "job_fairs/f.csv")
    assert delivery.header_row == 3
    assert delivery.rows_read == 3
    assert delivery.blank_rows == 2
    frame = delivery.frame
    assert frame["fair_id"].to_list() == ["JF-1", "JF-2", "JF-3"]
    assert frame["source_row"].to_list() == [4, 6, 8]  # Excel shows a quoted line break inside one cell
    assert frame["fair_name_ko"][1] == "여러 줄\r\n이름"
    assert frame["note_ko"].to_list() == [None, "비고", None]


def test_read_csv_undecodable_raises(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(",".join(HEADER).encode("utf-8") + b"\r\n\xff\xfe\x80\x80,\xff\r\n")
    with pytest.raises(DeliveryError) as info:
        read_delivery(path, DESCRIPTOR, "job_fairs/bad.csv")
    assert info.value.source_file == "job_fairs/bad.csv"


@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx"])
def test_empty_file_raises(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(DeliveryError, match="empty"):
        read_delivery(path, DESCRIPTOR, f"job_fairs/{name}")


def test_whitespace_only_csv_raises(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\r\n  \r\n")
    with pytest.raises(DeliveryError, match="empty"):
        read_delivery(path, DESCRIPTOR, "job_fairs/blank.csv")


# ---- headers ----


def test_header_aliases_and_spacing_variants_are_mapped(tmp_path):
    path = write_csv(tmp_path / "f.csv", ["행사번호,행 사 명,행사일,참가 인원,특이사항", "JF-1,A,2019-05-15,12,메모"])
    delivery = read_delivery(path, DESCRIPTOR, "job_fairs/f.csv")
    row = delivery.frame.row(0, named=True)
    assert (row["fair_id"], row["fair_name_ko"], row["fair_date"], row["participant_count"], row["note_ko"]) == (
        "JF-1",
        "A",
        "2019-05-15",
        "12",
        "메모",
    )
    assert delivery.unmapped_headers == ()


def test_unknown_header_is_listed_not_fatal(tmp_path):
    path = write_csv(tmp_path / "f.csv", [",".join([*HEADER, "담당자 연락처"]), "JF-1,A,2019-05-15,12,,홍길동"])
    delivery = read_delivery(path, DESCRIPTOR, "job_fairs/f.csv")
    assert delivery.unmapped_headers == ("담당자 연락처",)
    assert "담당자 연락처" not in delivery.frame.columns


def test_missing_required_column_names_it(tmp_path):
    path = write_csv(tmp_path / "f.csv", ["박람회번호,박람회명,참여인원", "JF-1,A,12"])
    with pytest.raises(DeliveryError) as info:
        read_delivery(path, DESCRIPTOR, "job_fairs/f.csv")
    assert "개최일" in info.value.message_ko
    assert "fair_date" in info.value.message_en
    assert "참여인원" not in info.value.message_ko


def test_no_header_in_first_rows_raises(tmp_path):
    lines = ["제목", *[""] * 9, ",".join(HEADER), "JF-1,A,2019-05-15,12,"]
    with pytest.raises(DeliveryError, match="header row"):
        read_delivery(write_csv(tmp_path / "f.csv", lines), DESCRIPTOR, "job_fairs/f.csv")


def test_single_known_label_is_not_a_header(tmp_path):
    # a title that happens to equal one column name must not be taken for the header
    lines = ["비고", ",".join(HEADER), "JF-1,A,2019-05-15,12,"]
    delivery = read_delivery(write_csv(tmp_path / "f.csv", lines), DESCRIPTOR, "job_fairs/f.csv")
    assert delivery.header_row == 2


def test_duplicate_column_under_two_aliases_raises(tmp_path):
    path = write_csv(tmp_path / "f.csv", [",".join([*HEADER, "행사번호"]), "JF-1,A,2019-05-15,12,,JF-9"])
    with pytest.raises(DeliveryError, match="fair_id"):
        read_delivery(path, DESCRIPTOR, "job_fairs/f.csv")


# ---- XLSX ----


def test_xlsx_row_numbers_match_excel_with_title_and_blank_lines(tmp_path):
    cells = {
        (0, 0): "2018년 하반기 취업박람회 현황",
        **header_cells(2),
        (3, 0): "JF-1", (3, 1): "A", (3, 2): dt.datetime(2018, 11, 20), (3, 3): 12,
        (5, 0): "JF-2", (5, 1): "B", (5, 2): "2018. 12. 3.", (5, 3): 1233, (5, 4): "메모",
        (7, 0): "JF-3", (7, 1): "C", (7, 2): dt.datetime(2018, 12, 24), (7, 3): 12.0,
    }  # fmt: skip
    delivery = read_delivery(write_xlsx(tmp_path / "f.xlsx", cells), DESCRIPTOR, "job_fairs/f.xlsx")
    assert delivery.encoding == "xlsx"
    assert delivery.header_row == 3
    assert delivery.rows_read == 3
    assert delivery.blank_rows == 2
    frame = delivery.frame
    assert frame["source_row"].to_list() == [4, 6, 8]
    typed = frame.select(
        parse_date(pl.col("fair_date")).alias("fair_date"),
        parse_int(pl.col("participant_count")).alias("participant_count"),
    )
    assert typed["fair_date"].to_list() == [dt.date(2018, 11, 20), dt.date(2018, 12, 3), dt.date(2018, 12, 24)]
    assert typed["participant_count"].to_list() == [12, 1233, 12]
    assert frame["note_ko"].to_list() == [None, "메모", None]


def test_xlsx_leading_empty_rows_still_count(tmp_path):
    # calamine drops leading empty rows unless told otherwise; Excel still numbers them
    cells = {**{(4, col + 1): label for col, label in enumerate(HEADER)}, (5, 1): "JF-1", (5, 2): "A"}
    delivery = read_delivery(write_xlsx(tmp_path / "f.xlsx", cells), DESCRIPTOR, "job_fairs/f.xlsx")
    assert delivery.header_row == 5
    assert delivery.frame["source_row"].to_list() == [6]
    assert delivery.frame["fair_name_ko"].to_list() == ["A"]


def test_corrupt_xlsx_raises(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DeliveryError) as info:
        read_delivery(path, DESCRIPTOR, "job_fairs/broken.xlsx")
    assert "Excel" in info.value.message_ko and "Excel" in info.value.message_en


def test_xlsx_without_cells_raises(tmp_path):
    with pytest.raises(DeliveryError, match="empty"):
        read_delivery(write_xlsx(tmp_path / "f.xlsx", {}), DESCRIPTOR, "job_fairs/f.xlsx")


# ---- discovery ----


def make_catalog() -> Catalog:
    descriptors = {
        "placements": make_descriptor("placements", "placements"),
        "job_fairs": make_descriptor("job_fairs", "job_fairs"),
    }
    return Catalog(pledges=(), periods=(), mid_career_age={}, channels=(), descriptors=descriptors)


def test_discover_deliveries_orders_filters_and_hashes(tmp_path):
    files = {
        "placements/2019_채용실적.csv": b"a,b\n",
        "placements/sub/2018.XLSX": b"xlsx bytes",
        "placements/README.md": b"readme",
        "placements/README.csv": b"readme",
        "placements/~$2019.xlsx": b"lock",
        "placements/.hidden.csv": b"hidden",
        "placements/.cache/x.csv": b"hidden dir",
        "placements/notes.txt": b"not a delivery",
        "job_fairs/fairs.csv": b"fairs\n",
        "reported/card.csv": b"not a delivery dataset",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    found = discover_deliveries(tmp_path, make_catalog())
    # catalog.DATASETS order: training_cohorts (absent folder), job_fairs, placements
    assert found["source_file"].to_list() == [
        "job_fairs/fairs.csv",
        "placements/2019_채용실적.csv",
        "placements/sub/2018.XLSX",
    ]
    assert found["dataset"].to_list() == ["job_fairs", "placements", "placements"]
    row = found.row(1, named=True)
    assert row["size_bytes"] == 4
    assert row["sha256"] == hashlib.sha256(b"a,b\n").hexdigest()
    assert Path(row["path"]) == tmp_path / "placements/2019_채용실적.csv"


def test_discover_deliveries_with_no_files_is_an_empty_typed_frame(tmp_path):
    found = discover_deliveries(tmp_path, make_catalog())
    assert found.height == 0
    assert found.schema == pl.Schema(
        {"dataset": pl.String, "source_file": pl.String, "path": pl.String, "size_bytes": pl.Int64, "sha256": pl.String}
    )
