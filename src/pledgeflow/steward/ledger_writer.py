"""Appending a steward's decision to the ledger: the only code that writes under `raw/` (the steward's command).

One row, in the ledger's own encoding (UTF-8 with or without BOM, or CP949), line ending and header order;
earlier bytes are never rewritten. Reading the ledger is `pledgeflow.steward.ledger`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
from filelock import FileLock

from pledgeflow.catalog import Descriptor
from pledgeflow.clock import now_seoul
from pledgeflow.errors import DeliveryError, LedgerError
from pledgeflow.ingest.read import find_header_index, list_delivery_files, map_headers, read_csv_grid, read_delivery
from pledgeflow.privacy import contains_personal_number
from pledgeflow.steward.ledger import ACTIONS, FORMULA_LIKE, decision_number



def append_decision(ledger_path: Path, decision: dict, descriptor: Descriptor) -> str:
    """Append one decision to a CSV ledger and return its new decision_id (D-000001 …).

    The row is written in the ledger's own encoding (UTF-8 with or without BOM, or CP949), line ending
    and header order; earlier bytes are never rewritten. A missing ledger is created as UTF-8 with BOM
    (so Excel opens it in Korean) with Korean headers. Ids are numbered past every ledger in the folder.
    `descriptor` is the ledger's (`Project.ledger_descriptor`).
    Raises LedgerError, with Korean and English messages, for a decision that cannot be recorded.
    """
    ledger_path = Path(ledger_path)
    if ledger_path.suffix.lower() != ".csv":
        raise LedgerError("CSV 결정 대장에만 추가할 수 있습니다(Excel 파일은 다시 쓰지 않습니다).",
                          "Decisions are appended to a CSV ledger only (an Excel file would have to be rewritten).")
    row = prepare_decision(decision)
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(ledger_path.parent / ".decisions.lock"):
        row["decision_id"] = next_decision_id(ledger_path.parent, descriptor)
        if not ledger_path.exists() or ledger_path.stat().st_size == 0:
            header = [c.label_ko for c in descriptor.columns]
            ledger_path.write_bytes("\ufeff".encode() + csv_line(header, "\r\n").encode("utf-8"))
        append_row(ledger_path, row, descriptor)
    return row["decision_id"]


def prepare_decision(decision: dict) -> dict[str, str]:
    """The decision as ledger cells (canonical names; target_file / target_row), or LedgerError."""
    cells = {name: "" if decision.get(name) is None else str(decision[name]).strip() for name in (
        "decided_by", "action", "dataset", "source_file", "source_row", "record_id", "column", "new_value", "reason")}
    cells["action"] = {"수정": "correct", "면제": "waive", "제외": "exclude"}.get(cells["action"], cells["action"].lower())
    expires, stamp = decision.get("expires_date"), decision.get("decided_at") or now_seoul()
    cells["expires_date"] = expires.isoformat() if isinstance(expires, date) else str(expires or "").strip()
    cells["decided_at"] = stamp.isoformat(timespec="seconds") if isinstance(stamp, datetime) else str(stamp)
    problems = [
        (cells["action"] not in ACTIONS, "조치는 correct|waive|exclude(수정|면제|제외) 중 하나", "action must be correct|waive|exclude"),
        (not re.fullmatch(r"[0-9a-f]{16}", cells["record_id"]), "레코드ID는 16자리 영숫자", "record_id must be 16 hex characters"),
        (not cells["dataset"], "데이터셋이 필요합니다", "dataset is required"),
        (not cells["decided_by"], "결정자가 필요합니다", "who decided (decided_by) is required"),
        (not cells["reason"], "사유가 필요합니다", "a reason is required"),
        (cells["action"] == "correct" and not (cells["column"] and cells["new_value"]),
         "수정에는 열과 새 값이 필요합니다", "a correction needs a column and a new value"),
        (any(re.match(FORMULA_LIKE, v) for v in cells.values()), "'=', '@' 등으로 시작하는 값은 Excel 수식으로 실행될 수 있어 기록하지 않습니다",
         "values starting like an Excel formula ('=', '@', ...) are not recorded"),
        (bool(pl.select(contains_personal_number(pl.lit(cells["new_value"] + " " + cells["reason"]))).item()),
         "새 값이나 사유에 주민등록번호·전화번호로 보이는 값이 있습니다", "the new value or reason holds what looks like a personal number"),
    ]
    failed = [(ko, en) for bad, ko, en in problems if bad]
    if failed:
        raise LedgerError("; ".join(ko for ko, _ in failed) + ".", "; ".join(en for _, en in failed) + ".")
    cells["target_file"], cells["target_row"] = cells.pop("source_file"), cells.pop("source_row")
    return cells


def next_decision_id(folder: Path, descriptor: Descriptor) -> str:
    """One past the highest decision number in any ledger of `folder`."""
    numbers = [0]
    for path in list_delivery_files(folder, descriptor):
        if path.stat().st_size:
            try:
                frame = read_delivery(path, descriptor, path.name).frame
            except DeliveryError as error:
                raise LedgerError(f"결정 대장 {path.name}을(를) 읽을 수 없어 번호를 매길 수 없습니다: {error.message_ko}",
                                  f"Cannot number the decision: ledger {path.name} is unreadable: {error.message_en}") from None
            numbers.append(frame.select(decision_number(pl.col("decision_id")).max()).item() or 0)
    return f"D-{max(numbers) + 1:06d}"


def append_row(ledger_path: Path, row: dict[str, str], descriptor: Descriptor) -> None:
    """Append `row` under the ledger's header, in its encoding and line ending."""
    data = ledger_path.read_bytes()
    grid, encoding = read_csv_grid(ledger_path, ledger_path.name)
    try:
        header = find_header_index(grid, descriptor, ledger_path.name)
        mapping, _ = map_headers(list(grid.row(header)), grid.columns, descriptor, ledger_path.name)
    except DeliveryError as error:
        raise LedgerError(error.message_ko, error.message_en) from None
    lost = [descriptor.column(n).label_ko for n, v in row.items() if v and n not in mapping.values()]
    if lost:
        raise LedgerError(f"결정 대장 머리글에 열이 없습니다: {', '.join(lost)}. 열을 추가해 주세요.",
                          f"The ledger header lacks column(s) {', '.join(lost)}; add them.")
    newline = "\r\n" if b"\r\n" in data else "\n"
    line = csv_line([row.get(mapping.get(c, ""), "") for c in grid.columns], newline)
    prefix = "" if data.endswith(b"\n") else newline
    try:
        encoded = (prefix + line).encode("utf-8" if encoding.startswith("utf-8") else encoding)
    except UnicodeEncodeError:
        raise LedgerError("CP949 결정 대장에 저장할 수 없는 문자가 있습니다. 대장을 'CSV UTF-8'로 다시 저장해 주세요.",
                          "A character cannot be stored in this CP949 ledger; re-save the ledger as 'CSV UTF-8'.") from None
    with ledger_path.open("ab") as handle:
        handle.write(encoded)


def csv_line(cells: list[str], newline: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerow(cells)
    return buffer.getvalue()
