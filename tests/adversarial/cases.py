"""A generator of hostile deliveries and project states, and the independent checks of what became of them.

Each `Case` plants something into a copied project (a file under a dataset folder, a ledger row, a register
figure) and says what must come of it: the rule of its file-level or row failure, or the reason it was
skipped. Cases of one group are planted side by side into one project and published once (they cannot
interfere: each lives in its own file or row), which keeps 60+ cases affordable.

The checks do not trust the reader: data rows are counted from the bytes with Python's csv module and
openpyxl, and leaks are searched in every byte written, for the planted numbers in every spelling.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Planted personal numbers: distinctive, so that a hit is a leak and never a coincidence.
RRN = "850115-2345678"
PHONE = "010-9876-5432"
SPELLINGS = {
    "ascii": RRN, "no_hyphen": RRN.replace("-", ""), "full_width_hyphen": RRN.replace("-", "－"),
    "full_width": unicodedata.normalize("NFKC", RRN).translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
    "minus_sign": RRN.replace("-", "\u2212"), "spaced": RRN.replace("-", " - "),
}
# a leak is the number's digits with at most a few separators between its parts, in the NFKC form
LEAKS = (re.compile(r"850115\D{0,3}2345678"), re.compile(r"010\D{0,3}9876\D{0,3}5432"))

HEADER = ["구직자 관리번호", "출생연도", "사업자등록번호", "사업체명", "채용일", "세부사업", "연계경로", "연계 과정·박람회 번호", "비고"]
LEDGER_HEADER = ["결정번호", "결정일시", "결정자", "조치", "데이터셋", "파일", "행", "레코드ID", "열", "새 값", "사유", "만료일"]


def row(n: int, note: str = "-", hire: str = "2019. 3. 4.", key: str | None = None) -> list[str]:
    """A valid placement row (n makes it unique)."""
    return [key or f"ADV-{n:06d}", "1965", "1078695632", "(주)적대시험", hire, "중장년 일자리", "Job포유", "-", note]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig", header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[str]], header: list[str] = HEADER, title: str | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.append([])
    sheet.append(header)
    for cells in rows:
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ole2(*streams: str) -> bytes:
    """An OLE2 (compound file) container's signature and directory names: how Excel stores an encrypted
    workbook (EncryptionInfo, EncryptedPackage) or a legacy .xls (Workbook)."""
    names = b"".join(name.encode("utf-16-le") + b"\x00" * (64 - 2 * len(name)) for name in ("Root Entry", *streams))
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + names + b"\x00" * 2048


def zip_bytes(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_bomb(inflated: int) -> bytes:
    """A workbook-shaped zip whose sheet inflates to `inflated` bytes of zeros (deflate packs ~1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"\x00" * (1 << 20)
            for _ in range(inflated >> 20):
                sheet.write(block)
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    """One hostile input: `plant(root)` puts it into a project; the rest says what must come of it."""

    name: str
    kind: str
    plant: Callable[[Path], None]
    rule: str | None = None  # a failure rule that must be reported for the planted file
    skipped: str | None = None  # or the reason the planted file must be listed as skipped
    message: str | None = None  # a phrase the failure's English message must hold (the cause and the fix)
    files: tuple[str, ...] = field(default_factory=tuple)  # planted files, relative to raw/


def put(relative: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        path = root / "raw" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data() if callable(data) else data)
    return plant


def link(relative: str, target: Callable[[Path], Path]) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        path = root / "raw" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target(root), path)
    return plant


def outside_target(root: Path) -> Path:
    """A file outside the project, holding a personal number: reading it would be a leak."""
    secret = root.parent / f"{root.name}-outside" / "secret.csv"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(csv_bytes([row(990001, note=f"주민 {RRN}")]))
    return secret


def file_case(name: str, kind: str, relative: str, data, **expect) -> Case:
    return Case(name, kind, put(relative, data), files=(relative,), **expect)


P = "placements"


def delivery_cases() -> list[Case]:
    """Hostile delivery files: each one is planted in its own file under a dataset folder."""
    rows = [row(i) for i in range(1, 4)]
    cases = [
        # ---- identified by the bytes: file-level failures naming the cause and the fix
        file_case("encrypted_xlsx", "bounded", f"{P}/암호.xlsx", ole2("EncryptionInfo", "EncryptedPackage"),
                  rule="file_unreadable", message="password"),
        file_case("legacy_xls_renamed_xlsx", "bounded", f"{P}/옛날.xlsx", ole2("Workbook", "SummaryInformation"),
                  rule="file_unreadable", message="97-2003"),
        file_case("hwp_named_xlsx", "bounded", f"{P}/한글문서.xlsx", ole2("FileHeader", "BodyText", "HwpSummaryInformation"),
                  rule="file_unreadable", message="Hangul"),
        file_case("zip_not_a_workbook", "bounded", f"{P}/압축.xlsx", zip_bytes({"hello.txt": b"hi"}),
                  rule="file_unreadable", message="zip archive"),
        file_case("zip_bomb", "bounded", f"{P}/폭탄.xlsx", lambda: zip_bomb(64 << 20), rule="file_unreadable",
                  message="once unzipped"),
        file_case("truncated_xlsx", "bounded", f"{P}/잘림.xlsx", lambda: xlsx_bytes(rows)[:700], rule="file_unreadable"),
        file_case("pdf_named_csv", "bounded", f"{P}/보고서.csv", b"%PDF-1.7\n" + b"x" * 500, rule="file_unreadable",
                  message="PDF"),
        file_case("png_named_xlsx", "bounded", f"{P}/사진.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, rule="file_unreadable",
                  message="PNG"),
        file_case("html_saved_as_xlsx", "bounded", f"{P}/웹.xlsx", "<html><table><tr><td>구직자 관리번호</td></tr></table></html>".encode(),
                  rule="file_unreadable", message="web page"),
        file_case("utf16_csv", "bounded", f"{P}/유니코드.csv", csv_bytes(rows, "utf-16"), rule="file_unreadable",
                  message="UTF-16"),
        file_case("binary_junk_csv", "bounded", f"{P}/쓰레기.csv", bytes(range(256)) * 40, rule="file_unreadable",
                  message="binary"),
        file_case("text_named_xlsx", "bounded", f"{P}/텍스트.xlsx", csv_bytes(rows), rule="file_unreadable",
                  message="plain text"),
        file_case("xlsx_named_csv", "bounded", f"{P}/엑셀.csv", lambda: xlsx_bytes(rows), rule="file_unreadable",
                  message="Rename it to .xlsx"),
        file_case("empty_csv", "bounded", f"{P}/빈.csv", b"", rule="file_unreadable", message="empty"),
        file_case("empty_xlsx", "bounded", f"{P}/빈.xlsx", b"", rule="file_unreadable", message="empty"),
        file_case("whitespace_csv", "bounded", f"{P}/공백.csv", b"\r\n   \r\n\t\r\n", rule="file_unreadable"),
        file_case("duplicate_headers_csv", "bounded", f"{P}/중복.csv",
                  csv_bytes(rows, header=[*HEADER[:-1], "구직자 관리번호"]), rule="file_unreadable", message="more than once"),
        file_case("no_header_csv", "bounded", f"{P}/머리글없음.csv", csv_bytes(rows, header=["a", "b", "c"]), rule="file_unreadable"),
        file_case("unbalanced_quotes_csv", "bounded", f"{P}/따옴표.csv",
                  csv_bytes(rows) + '"ADV-1,1965,"열린 따옴표\r\n'.encode(), rule=None),
        # ---- every row accounted for
        file_case("header_only_csv", "rows", f"{P}/머리글만.csv", csv_bytes([])),
        file_case("header_only_xlsx", "rows", f"{P}/머리글만.xlsx", lambda: xlsx_bytes([])),
        file_case("too_many_fields", "rows", f"{P}/칸초과.csv", csv_bytes([row(101), [*row(102), "남는 글"], row(103)]),
                  rule="too_many_fields"),
        file_case("too_many_fields_holding_rrn", "rows", f"{P}/칸초과주민.csv", csv_bytes([[*row(111), f"주민 {RRN}"]]),
                  rule="too_many_fields"),
        file_case("xlsx_cell_right_of_header", "rows", f"{P}/오른쪽.xlsx", lambda: xlsx_bytes([[*row(121), "", "남는 값"]]),
                  rule="too_many_fields"),
        file_case("cp949_csv", "rows", f"{P}/완성형.csv", csv_bytes([row(131, note="똠방각하")], "cp949")),
        file_case("utf8_bom_csv", "rows", f"{P}/bom.csv", csv_bytes([row(141)], "utf-8-sig")),
        file_case("utf8_csv", "rows", f"{P}/utf8.csv", csv_bytes([row(151)], "utf-8")),
        file_case("formula_injection", "rows", f"{P}/수식.csv",
                  csv_bytes([row(161, note="=HYPERLINK(\"http://x\",\"y\")"), row(162, note="+cmd|' /C calc'!A0"),
                             row(163, note="@SUM(1+1)*cmd|' /C calc'!A0"), row(164, note="-2+3+cmd|' /C calc'!A0")])),
        file_case("huge_field", "rows", f"{P}/거대.csv", lambda: csv_bytes([row(171, note="가" * 400_000)])),
        file_case("many_rows", "rows", f"{P}/많은행.csv", lambda: csv_bytes([row(200_000 + i) for i in range(20_000)])),
        file_case("blank_rows_between", "rows", f"{P}/빈행.csv", csv_bytes([row(181), [""] * 9, row(182), [" "] * 9])),
        file_case("title_above_header_xlsx", "rows", f"{P}/제목.xlsx",
                  lambda: xlsx_bytes([row(191), row(192)], title="2021년 채용 실적")),
        file_case("bad_cells_fail_rows", "rows", f"{P}/잘못된값.csv",
                  csv_bytes([row(195, hire="2019. 2. 30."), row(196, hire="어제")]), rule="parse_date"),
        # ---- personal numbers in every position
        file_case("rrn_in_file_name", "privacy", f"{P}/홍길동_{RRN}.csv", csv_bytes([row(301)])),
        file_case("rrn_full_width_in_file_name", "privacy", f"{P}/김철수_{SPELLINGS['full_width_hyphen']}.csv",
                  csv_bytes([row(302)])),
        file_case("phone_in_file_name", "privacy", f"{P}/연락처_{PHONE}.csv", csv_bytes([row(303)])),
        file_case("rrn_in_folder_name", "privacy", f"{P}/{RRN}/자료.csv", csv_bytes([row(304)])),
        file_case("rrn_in_header", "privacy", f"{P}/머리글주민.csv", csv_bytes([row(305)], header=[*HEADER, f"주민 {RRN}"])),
        file_case("rrn_in_unmapped_header_xlsx", "privacy", f"{P}/머리글주민.xlsx",
                  lambda: xlsx_bytes([row(306)], header=[*HEADER, f"연락처 {PHONE}"])),
        *[file_case(f"rrn_{spelling}_in_note", "privacy", f"{P}/비고_{spelling}.csv", csv_bytes([row(310 + i, note=f"주민 {text}")]))
          for i, (spelling, text) in enumerate(SPELLINGS.items())],
        file_case("phone_full_width_in_note", "privacy", f"{P}/전화.csv", csv_bytes([row(320, note="０１０－９８７６－５４３２")])),
        file_case("rrn_in_failing_cell", "privacy", f"{P}/실패주민.csv", csv_bytes([row(321, hire=f"{RRN}")]), rule="parse_date"),
        file_case("rrn_as_person_key", "privacy", f"{P}/키주민.csv", csv_bytes([row(322, key=RRN)])),
        file_case("rrn_in_employer_name_cp949", "privacy", f"{P}/업체주민.csv",
                  csv_bytes([[*row(323)[:3], f"홍길동 {RRN}", *row(323)[4:]]], "cp949")),
        # ---- files that are not deliveries: listed, with the reason
        file_case("hidden_file", "files", f"{P}/.숨김.csv", csv_bytes([row(401)]), skipped="hidden"),
        Case("hidden_folder", "files", put(f"{P}/.old/옛자료.csv", csv_bytes([row(402)])), skipped="hidden",
             files=(f"{P}/.old",)),  # listed once, as the folder: nothing under it is read
        file_case("excel_lock_file", "files", f"{P}/~$잠금.xlsx", b"\x00" * 165, skipped="lock_file"),
        file_case("unsupported_type", "files", f"{P}/메모.txt", b"memo", skipped="unsupported_type"),
        file_case("legacy_xls_extension", "files", f"{P}/옛날.xls", ole2("Workbook"), skipped="unsupported_type"),
        Case("dangling_link", "files", link(f"{P}/사라진.csv", lambda root: root / "nowhere.csv"),
             skipped="dangling_link", files=(f"{P}/사라진.csv",)),
        Case("link_outside_project", "files", link(f"{P}/바깥.csv", outside_target),
             skipped="link_outside_project", files=(f"{P}/바깥.csv",)),
        Case("link_to_folder", "files", link(f"{P}/폴더링크", lambda root: root / "raw" / "job_fairs"),
             skipped="folder_link", files=(f"{P}/폴더링크",)),
        Case("link_inside_project", "files",
             lambda root: (put("extra/안쪽원본.csv", csv_bytes([row(403)]))(root),
                           link(f"{P}/안쪽.csv", lambda r: r / "raw" / "extra" / "안쪽원본.csv")(root)),
             files=(f"{P}/안쪽.csv",)),
        Case("fifo_named_csv", "files", lambda root: os.mkfifo(root / "raw" / P / "파이프.csv"),
             skipped="unsupported_type", files=(f"{P}/파이프.csv",)),
    ]
    return cases


# ---- the steward's ledger: every bad row is published `invalid`, none blocks the run ------------------

LEDGER_ROWS = {  # case -> one ledger row (decision id, then the rest), each wrong in its own way
    "ledger_unknown_action": ["D-900001", "2021-03-02 14:05", "김주무관", "promote", "placements", "", "", "abc", "", "", "사유", ""],
    "ledger_bad_expiry": ["D-900002", "2021-03-02 14:05", "김주무관", "waive", "placements", "", "", "abc", "", "", "사유", "2021-13-45"],
    "ledger_missing_target": ["D-900003", "2021-03-02 14:05", "김주무관", "exclude", "placements", "", "", "", "", "", "사유", ""],
    "ledger_rrn_in_decided_by": ["D-900004", "2021-03-02 14:05", f"홍길동 {RRN}", "exclude", "placements", "", "", "abc", "", "", "-", ""],
    "ledger_full_width_rrn_in_reason": ["D-900005", "2021-03-02 14:05", "김주무관", "exclude", "placements", "", "", "abc", "", "",
                                        f"본인 {SPELLINGS['full_width']}", ""],
    "ledger_phone_in_new_value": ["D-900006", "2021-03-02 14:05", "김주무관", "correct", "placements", "", "", "abc", "비고",
                                  PHONE, "연락처 수정", ""],
    "ledger_unknown_dataset": ["D-900007", "2021-03-02 14:05", "김주무관", "exclude", "nonsense", "", "", "abc", "", "", "-", ""],
    "ledger_bad_timestamp": ["D-900008", "어제 저녁", "김주무관", "exclude", "placements", "", "", "abc", "", "", "-", ""],
    "ledger_formula_in_reason": ["D-900009", "2021-03-02 14:05", "김주무관", "exclude", "placements", "", "", "abc", "", "",
                                 "=cmd|' /C calc'!A0", ""],
    "ledger_duplicate_id": ["D-900009", "2021-03-02 14:06", "김주무관", "exclude", "placements", "", "", "abd", "", "", "-", ""],
}


def plant_ledger(root: Path) -> None:
    """Every bad ledger row into one extra ledger (with an unknown column), and a ledger in another encoding."""
    header = [*LEDGER_HEADER, "메모 열"]
    body = [[*cells, "?"] for cells in LEDGER_ROWS.values()]
    (root / "raw" / "decisions" / "적대.csv").write_bytes(csv_bytes(body, header=header))
    (root / "raw" / "decisions" / "utf16.csv").write_bytes(csv_bytes([], "utf-16", header=LEDGER_HEADER))


def ledger_cases() -> list[Case]:
    cases = [Case(name, "ledger", plant_ledger) for name in LEDGER_ROWS]
    return cases + [Case("ledger_other_encoding", "ledger", plant_ledger), Case("ledger_unknown_column", "ledger", plant_ledger)]


# ---- the card's register: odd figures kept and flagged ---------------------------------------------------

REGISTER_EDITS = {  # case -> (register file, the printed figure replaced, the new text)
    "register_negative_rate": ("results.csv", "이행률,계,83%", "이행률,계,-5%"),
    "register_absurd_rate": ("results.csv", "이행률,계,87%", "이행률,계,250%"),
    "register_malformed_target": ("targets.csv", None, None),
}


def plant_register(root: Path) -> None:
    reported = root / "raw" / "reported"
    for file, old, new in REGISTER_EDITS.values():
        if old is None:
            continue
        path = reported / file
        text = path.read_bytes().decode("utf-8-sig")
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8-sig")
    targets = reported / "targets.csv"
    lines = targets.read_bytes().decode("utf-8-sig").splitlines()
    cells = next(csv.reader([lines[1]]))
    cells[-1] = "일백"
    lines[1] = ",".join(f'"{c}"' if "," in c else c for c in cells)
    targets.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")


def register_cases() -> list[Case]:
    return [Case(name, "register", plant_register) for name in REGISTER_EDITS]


# ---- independent checks ---------------------------------------------------------------------------------


def header_labels(descriptor) -> set[str]:
    return {"".join(str(a).split()).lower() for a in descriptor.header_aliases}


def count_data_rows(path: Path, labels: set[str]) -> int | None:
    """Data rows under the header, counted from the bytes (csv module / openpyxl), blank rows left out.
    None when the file has no header a person would recognise (then it must be a file-level failure)."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).worksheets[0]
        grid = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    else:
        csv.field_size_limit(1 << 30)  # a 400,000-character cell is data too
        data = path.read_bytes()
        text = next(data.decode(e) for e in ("utf-8-sig", "cp949", "latin-1") if _decodes(data, e))
        grid = list(csv.reader(io.StringIO(text)))
    for index, cells in enumerate(grid[:10]):
        if sum("".join(c.split()).lower() in labels for c in cells) >= 2:
            return sum(1 for cells in grid[index + 1:] if any(c.strip() for c in cells))
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def leaks_in(folder: Path) -> list[str]:
    """Every file under `folder` that holds a planted number in any spelling: parquet cells and column
    names read as text, DuckDB tables queried, everything else searched byte for byte (NFKC)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        for text in texts_of(path):
            normal = unicodedata.normalize("NFKC", text)
            if any(pattern.search(normal) for pattern in LEAKS):
                found.append(str(path.relative_to(folder)))
                break
    return found


def texts_of(path: Path):
    import polars as pl

    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        yield " ".join(frame.columns)
        for name, dtype in frame.schema.items():
            if dtype == pl.String or isinstance(dtype, pl.List):
                yield "\n".join(str(v) for v in frame[name].to_list())
    elif path.suffix == ".duckdb":
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        try:
            for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
                yield "\n".join(str(r) for r in con.execute(f'SELECT * FROM "{table}"').fetchall())
        finally:
            con.close()
    else:
        data = path.read_bytes()
        yield data.decode("utf-8", errors="ignore")
        yield data.decode("utf-16-le", errors="ignore")
