"""Identify a delivery by its bytes before any reader touches it.

A file's name says what its sender meant; its first bytes say what it is. An encrypted workbook and a
legacy `.xls` are OLE2 (compound file) containers that the XLSX reader does not refuse quickly: it may
allocate gigabytes first. A zip without a workbook's parts, a web page saved as `.xls`, a PDF or a
scanned image are no deliveries either. Each becomes a `DeliveryError` that names the cause and the fix,
and the zip directory is checked against the read budget (a zip bomb is refused before it is inflated).
"""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath
from typing import BinaryIO

from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.limits import ReadLimits, size_text

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
HEAD_BYTES = 1 << 16
# OLE2 directory entries are UTF-16LE names: these streams say what the container holds
ENCRYPTED_STREAMS = ("EncryptedPackage", "EncryptionInfo")
LEGACY_STREAMS = ("Workbook", "Book")
HWP_STREAMS = ("HwpSummaryInformation", "BodyText")
WORKBOOK_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
FOREIGN = {  # magic bytes -> (what it is in Korean, in English)
    b"%PDF": ("PDF 문서", "a PDF document"),
    b"\x89PNG": ("PNG 이미지", "a PNG image"),
    b"\xff\xd8\xff": ("JPEG 이미지", "a JPEG image"),
    b"GIF8": ("GIF 이미지", "a GIF image"),
    b"II*\x00": ("TIFF 이미지", "a TIFF image"),
    b"MM\x00*": ("TIFF 이미지", "a TIFF image"),
    b"\x1f\x8b": ("gzip 압축 파일", "a gzip archive"),
    b"Rar!": ("RAR 압축 파일", "a RAR archive"),
    b"7z\xbc\xaf": ("7z 압축 파일", "a 7z archive"),
    b"{\\rtf": ("RTF 문서", "an RTF document"),
}
HTML_MARKS = (b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def sniff_kind(handle: BinaryIO, name: str, size: int, source_file: str, limits: ReadLimits) -> str:
    """"xlsx" or "csv": how the delivery must be read; anything else raises a `DeliveryError`."""
    if size == 0:
        raise refused(source_file, "빈 파일입니다(0바이트)", "the file is empty (0 bytes)",
                      "내용이 있는 파일을 다시 제출해 주세요", "deliver the file again with its content")
    if size > limits.max_file_bytes:
        raise too_large(source_file, f"파일 크기 {size_text(size)}", f"file size {size_text(size)}", limits.max_file_bytes)
    head = handle.read(HEAD_BYTES)
    handle.seek(0)
    suffix = PurePosixPath(name).suffix.lower()
    if head.startswith(OLE2):
        raise ole2_error(handle, source_file, limits)
    if head.startswith(ZIP):
        check_workbook_zip(handle, source_file, limits)
        if suffix == ".csv":
            raise refused(source_file, "이름은 .csv이지만 내용은 Excel 통합 문서(.xlsx)입니다",
                          "it is named .csv but holds an Excel workbook (.xlsx)",
                          "파일 이름의 확장자를 .xlsx로 바꿔 주세요", "rename it to .xlsx")
        return "xlsx"
    foreign = next((what for magic, what in FOREIGN.items() if head.startswith(magic)), None)
    if foreign:
        raise refused(source_file, f"{foreign[0]}입니다", f"it is {foreign[1]}",
                      "원본 Excel 파일(.xlsx)이나 CSV를 제출해 주세요", "deliver the original Excel (.xlsx) or CSV file")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(HTML_MARKS):
        raise refused(source_file, "웹 페이지(HTML/XML)를 Excel 이름으로 저장한 파일입니다",
                      "it is a web page (HTML/XML) saved under a spreadsheet name",
                      "Excel에서 열어 '다른 이름으로 저장' → 'Excel 통합 문서(.xlsx)'로 저장해 주세요",
                      "open it in Excel and 'Save As' an Excel Workbook (.xlsx)")
    if head.startswith(UTF16_BOMS):
        raise refused(source_file, "UTF-16 텍스트('유니코드 텍스트')입니다", "it is UTF-16 text ('Unicode Text')",
                      "Excel에서 'CSV UTF-8'로 다시 저장해 주세요", "re-save it from Excel as 'CSV UTF-8'")
    if b"\x00" in head:
        raise refused(source_file, "텍스트가 아닌 이진 데이터가 들어 있습니다", "it holds binary data, not text",
                      "원본 Excel 파일(.xlsx)이나 CSV를 제출해 주세요", "deliver the original Excel (.xlsx) or CSV file")
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raise refused(source_file, "이름은 Excel 파일이지만 내용은 텍스트(CSV)입니다",
                      "it is named as an Excel file but holds plain text (CSV)",
                      "확장자를 .csv로 바꾸거나 Excel에서 .xlsx로 저장해 주세요", "rename it to .csv or save it as .xlsx")
    return "csv"


def ole2_error(handle: BinaryIO, source_file: str, limits: ReadLimits) -> DeliveryError:
    """An OLE2 container: a password-protected workbook, a legacy .xls, a Hangul (HWP) document or other."""
    directory = handle.read(limits.max_file_bytes if limits.max_file_bytes < (8 << 20) else 8 << 20)
    handle.seek(0)
    if has_stream(directory, ENCRYPTED_STREAMS):
        return refused(source_file, "암호로 보호된 파일입니다", "it is password protected",
                       "Excel에서 열어 암호 없이 다시 저장해 주세요(파일 → 정보 → 통합 문서 보호 → 암호 설정 해제)",
                       "save it without a password (File → Info → Protect Workbook → Encrypt with Password: clear it)")
    if has_stream(directory, HWP_STREAMS):
        return refused(source_file, "한글(HWP) 문서입니다", "it is a Hangul (HWP) document",
                       "표를 Excel로 옮겨 .xlsx로 저장해 주세요", "copy the table into Excel and save it as .xlsx")
    if has_stream(directory, LEGACY_STREAMS):
        return refused(source_file, "Excel 97-2003 형식(.xls)입니다", "it is a legacy Excel 97-2003 workbook (.xls)",
                       "Excel에서 열어 'Excel 통합 문서(.xlsx)'로 다시 저장해 주세요",
                       "open it in Excel and save it again as an Excel Workbook (.xlsx)")
    return refused(source_file, "Office 97-2003 복합 문서(OLE2)입니다", "it is an Office 97-2003 compound document (OLE2)",
                   "Excel 통합 문서(.xlsx)나 CSV로 저장해 주세요", "save it as an Excel Workbook (.xlsx) or CSV")


def has_stream(data: bytes, names: tuple[str, ...]) -> bool:
    return any(name.encode("utf-16-le") in data for name in names)


def check_workbook_zip(handle: BinaryIO, source_file: str, limits: ReadLimits) -> None:
    """A zip is a workbook when it holds a workbook's parts, and readable when it inflates within budget."""
    try:
        with zipfile.ZipFile(handle) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise refused(source_file, "손상된 zip(xlsx) 파일입니다", "it is a damaged zip (xlsx) file",
                      "Excel에서 열어 .xlsx로 다시 저장해 주세요", "open it in Excel and save it again as .xlsx") from None
    finally:
        handle.seek(0)
    names = {entry.filename for entry in entries}
    if not all(part in names for part in WORKBOOK_PARTS):
        raise refused(source_file, "zip 파일이지만 Excel 통합 문서가 아닙니다", "it is a zip archive, not an Excel workbook",
                      "압축을 풀어 안의 .xlsx나 CSV를 제출해 주세요", "unpack it and deliver the .xlsx or CSV inside")
    inflated = sum(entry.file_size for entry in entries)
    if inflated > limits.max_uncompressed_bytes:
        raise too_large(source_file, f"압축을 풀면 {size_text(inflated)}", f"{size_text(inflated)} once unzipped",
                        limits.max_uncompressed_bytes)


def too_large(source_file: str, what_ko: str, what_en: str, limit: int) -> DeliveryError:
    return refused(source_file, f"너무 큽니다({what_ko}, 한도 {size_text(limit)})",
                   f"it is too large ({what_en}, limit {size_text(limit)})",
                   "파일을 기간별로 나누어 제출해 주세요", "split it into smaller deliveries (e.g. by period)")


def refused(source_file: str, cause_ko: str, cause_en: str, fix_ko: str, fix_en: str) -> DeliveryError:
    """The cause and the fix, in both languages: what a steward tells the sender."""
    return DeliveryError(source_file, f"읽을 수 없는 파일: {cause_ko}. {fix_ko}.", f"Cannot read the file: {cause_en}. {fix_en[0].upper()}{fix_en[1:]}.")
