"""Deliveries in the shapes districts really send (issue 12): written by the tests, never shipped.

- `hrd_net_rows`: an HRD-Net / 고용24 training-course export: its own column names, 훈련과정ID + 회차 as the
  cohort key, 25 columns no descriptor knows, a cancelled course (수강신청 인원 0) and a 합계 row.
- `write_hrd_csv`: those rows as CSV, UTF-8 with BOM (as 고용24 saves) or CP949 (as Excel saves).
- `write_shaped_workbook`: an XLSX with a cover sheet, two data sheets with a title line, a two-row header
  (수강인원 over 신청 / 수료), a 계 sub-header under the header, a repeated header, blank separator rows,
  real date cells and Excel serials, and a 합계 row at the bottom.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

HRD_KNOWN = ["훈련과정ID", "회차", "훈련과정명", "훈련기관명", "과정시작일", "과정종료일", "수강신청 인원", "수료인원"]
HRD_EXTRA = ["과정시작일자(요일)", "훈련유형", "훈련대상", "NCS코드", "NCS명", "훈련시간", "훈련일수", "정원", "실제훈련비",
             "자비부담액", "지역", "주소", "전화번호", "홈페이지", "만족도", "취업률(3개월)", "취업률(6개월)", "등급", "인증기관",
             "훈련기관ID", "주야구분", "주말구분", "온라인여부", "과정상태", "등록일"]


def hrd_net_rows(count: int, cancelled: int = 1) -> list[list[str]]:
    """Header + `count` course rows (the first `cancelled` with 0 enrolled) + a 합계 row whose figures agree."""
    rows, enrolled_sum, completed_sum = [[*HRD_KNOWN, *HRD_EXTRA]], 0, 0
    for i in range(count):
        enrolled = 0 if i < cancelled else 10 + i % 20
        completed = 0 if i < cancelled else enrolled - i % 3
        start = dt.date(2019, 1, 7) + dt.timedelta(days=i % 300)
        enrolled_sum, completed_sum = enrolled_sum + enrolled, completed_sum + completed
        known = [f"AIG2019{i // 3:06d}", str(i % 3 + 1), f"중장년 재취업 과정 {i // 3}", f"훈련기관 {i % 7}",
                 start.isoformat(), (start + dt.timedelta(days=30)).strftime("%Y.%m.%d"), f"{enrolled}", f"{completed}명"]
        rows.append([*known, *[f"x{j}" for j in range(len(HRD_EXTRA))]])
    rows.append(["합계", "", "", "", "", "", f"{enrolled_sum:,}", f"{completed_sum:,}", *[""] * len(HRD_EXTRA)])
    return rows


def csv_text(rows: list[list[str]]) -> str:
    quote = lambda cell: f'"{cell}"' if "," in cell else cell  # noqa: E731
    return "\r\n".join(",".join(quote(c) for c in row) for row in rows) + "\r\n"


def write_hrd_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(csv_text(rows).encode(encoding))
    return path


SHEET_ROWS = [  # cohort, course, 세부사업, start, end, enrolled, completed
    ("C-1", "중장년 재도약 1기", "중장년 일자리 창출", dt.datetime(2019, 3, 4), "2019. 4. 30.", 20, 18),
    ("C-2", "중장년 재도약 2기", "중장년 일자리 창출", 43600, "2019-06-28", 15, 15),  # 43600 = 2019-05-15 as a serial
    ("C-3", "기업연계 1기", "기업과 연계한 일자리 창출", dt.datetime(2019, 9, 2), "'19. 10. 31.", 0, 0),  # cancelled
]


def write_sheet(workbook, name: str, rows, totals_agree: bool = True) -> None:
    sheet = workbook.add_worksheet(name)
    dates = workbook.add_format({"num_format": "yyyy. m. d."})
    sheet.write_row(0, 0, [f"{name} 교육과정 운영 현황"])  # a title line, then a blank line
    sheet.write_row(2, 0, ["과정번호", "과정명", "세부사업", "개강일", "종강일", "수강인원", ""])  # group header
    sheet.write_row(3, 0, ["", "", "", "", "", "신청", "수료"])  # column header under it
    enrolled, completed = sum(r[5] for r in rows), sum(r[6] for r in rows)
    sheet.write_row(4, 0, ["계", "", "", "", "", enrolled, completed])  # a 계 sub-header under the header
    line = 5
    for i, row in enumerate(rows):
        if i == 2:  # a blank separator and the header repeated, as a printed page break leaves them
            sheet.write_row(line + 1, 0, ["", "", "", "", "", "신청", "수료"])
            line += 2
        cohort, course, sub, start, end, n_in, n_out = row
        sheet.write_row(line, 0, [cohort, course, sub])
        if isinstance(start, dt.datetime):
            sheet.write_datetime(line, 3, start, dates)
        else:
            sheet.write_number(line, 3, start)
        sheet.write_row(line, 4, [end, n_in, n_out])
        line += 1
    sheet.write_row(line, 0, ["합 계", "", "", "", "", enrolled + (0 if totals_agree else 5), completed])


def write_shaped_workbook(path: Path, totals_agree: bool = True) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("표지").write_row(0, 0, ["2019년 교육과정 운영 현황", "", "작성: 일자리정책과"])
    write_sheet(workbook, "상반기", SHEET_ROWS[:2] + [("C-4", "중장년 재도약 3기", "중장년 일자리 창출", dt.datetime(2019, 5, 1), "2019.6.30", 12, 10)],
                totals_agree)
    write_sheet(workbook, "하반기", [SHEET_ROWS[2], ("C-5", "기업연계 2기", "기업과 연계한 일자리 창출", dt.datetime(2019, 10, 1), "2019.11.29.", 9, 8)])
    workbook.close()
    return path
