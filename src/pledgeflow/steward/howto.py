"""How to record a decision, in Korean first: the text both review-pack files carry.

The pack is the steward's whole tool, and many stewards work in Excel without a terminal: each kind of
decision is given as the command and as the ledger row to type into `raw/decisions/decisions.csv`
(its Korean headers, from `schemas/decisions.yaml`). The next run applies the ledger.
"""

from __future__ import annotations

import polars as pl

LEDGER_PATH = "raw/decisions/decisions.csv"
INTRO_KO = (f"결정을 기록하는 방법: 아래 명령을 실행하거나, 엑셀로 {LEDGER_PATH} 파일에 한 행을 추가하세요. "
            "다음 실행이 결정을 적용하고, 이 자료의 '상태' 열에 결과(정정·예외 인정·제외)가 나타납니다. "
            "파일과 행 번호는 이 자료의 '파일'·'행 번호' 열을 그대로 쓰면 됩니다.")
INTRO_EN = (f"How to record a decision: run the command, or add one row to {LEDGER_PATH} in Excel. The next run "
            "applies it, and the pack's state column shows the result (corrected, waived, excluded). Use the pack's "
            "file and row columns as they are.")
LEDGER_COLUMNS = "결정번호(비워 두면 자동), 결정일시, 결정자, 조치, 데이터셋, 파일, 행, 레코드ID(비워도 됨), 열, 새 값, 사유, 만료일"
# action, Korean, English, command, the ledger row as typed in Excel (columns as in LEDGER_COLUMNS)
DECISIONS = [
    ("correct", "정정: 잘못 입력된 값을 고칩니다. 고친 레코드는 다시 검증됩니다.",
     "Correct: set a wrongly typed value; the record is validated again.",
     'uv run pledgeflow review correct --file 파일 --row 행번호 --column 열 --value "새 값" --by 이름 --reason "사유"',
     "조치=correct, 파일, 행, 열, 새 값, 결정자, 사유"),
    ("waive", "예외 인정: 규칙에 어긋나지만 사실인 레코드를 그대로 인정합니다(만료일까지).",
     "Waive: accept a record as it is, although it breaks a rule (until the expiry date).",
     'uv run pledgeflow review waive --file 파일 --row 행번호 --by 이름 --reason "사유" --expires +1y',
     "조치=waive, 파일, 행, 결정자, 사유, 만료일(예: 2027-12-31, 비우면 무기한)"),
    ("exclude", "제외: 레코드를 지표 집계에서 뺍니다(중복 보고 등).",
     "Exclude: keep the record out of the indicators (a duplicate report, …).",
     'uv run pledgeflow review exclude --file 파일 --row 행번호 --by 이름 --reason "사유"',
     "조치=exclude, 파일, 행, 결정자, 사유"),
]


def howto_frame() -> pl.DataFrame:
    """One row per kind of decision: what it does (Korean, English), the command, the ledger row."""
    return pl.DataFrame(DECISIONS, schema=["action", "what_ko", "what_en", "command", "ledger_row"], orient="row")


HOWTO_HEADERS = (("조치", "action"), ("설명", "what it does"), ("설명(영어)", "what it does (English)"),
                 ("명령", "command"), ("결정 대장에 쓸 값", "ledger row (Excel)"))
