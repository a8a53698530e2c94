"""The sample deliveries in raw/ reproduce the card, and the planted defects are exactly where listed.

Read straight from the files (openpyxl, csv with the file's encoding) and the YAML contracts, never
through pledgeflow code, so a reader bug cannot hide a broken sample. The rule checks below are a
deliberately small, independent re-statement of the validation rules: every row listed in
tests/data/planted_defects.csv must break exactly its one rule, every other row none.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import yaml
from stdnum.kr import brn as stdnum_brn

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "raw"
DEFECTS = ROOT / "tests" / "data" / "planted_defects.csv"
DATASETS = ("placements", "training_cohorts", "job_fairs")
CSV_ENCODINGS = {
    "placements/2019_채용실적.csv": "cp949",
    "placements/2020_추가제출.csv": "utf-8-sig",
    "training_cohorts/2019_교육과정_운영현황.csv": "utf-8-sig",
    "training_cohorts/2020_교육과정_운영현황.csv": "cp949",
    "job_fairs/2020_취업박람회_개최현황.csv": "utf-8",
}
TERM = (date(2018, 7, 1), date(2022, 6, 30))
DATE_TEXT = re.compile(r"^'?\s*(\d{4}|\d{2})\s*[.\-]\s*(\d{1,2})\s*[.\-]\s*(\d{1,2})\s*\.?$")
PERSONAL = re.compile(r"\d{6}-?[1-4]\d{6}|01[016789]-?\d{3,4}-?\d{4}")
NONE = ("", "-")

CATALOG = yaml.safe_load((ROOT / "schemas" / "catalog.yaml").read_text(encoding="utf-8"))
SUBPROJECTS = {a: s["subproject_id"] for s in CATALOG["pledges"][0]["subprojects"] for a in [s["name_ko"], *s["aliases"]]}
CHANNELS = {a: c["channel_id"] for c in CATALOG["channels"] for a in [c["name_ko"], *c["aliases"]]}


def load_aliases(dataset: str) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "schemas" / "datasets" / f"{dataset}.yaml").read_text(encoding="utf-8"))
    return {alias: col["name"] for col in spec["columns"] for alias in [col["label_ko"], *col["aliases"]]}


def read_table(rel: str) -> list[list]:
    """All rows of a delivery as Excel shows them (index 0 is Excel row 1)."""
    if rel.endswith(".xlsx"):
        return [list(r) for r in openpyxl.load_workbook(RAW / rel).active.iter_rows(values_only=True)]
    with (RAW / rel).open(encoding=CSV_ENCODINGS[rel], newline="") as handle:
        return list(csv.reader(handle))


def read_records(dataset: str) -> list[dict]:
    """Data rows keyed by canonical column, with `_file` and `_row` (Excel row number)."""
    aliases, records = load_aliases(dataset), []
    for path in sorted((RAW / dataset).iterdir()):
        rel = f"{dataset}/{path.name}"
        table = read_table(rel)
        header = next(i for i, r in enumerate(table) if sum(str(c) in aliases for c in r if c) >= 3)
        columns = [aliases[str(c)] for c in table[header]]
        records += [dict(zip(columns, r)) | {"_file": rel, "_row": header + 2 + i}
                    for i, r in enumerate(table[header + 1:])]
    return records


def text(value) -> str:
    return "" if value is None else str(value).strip()


def to_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    match = DATE_TEXT.match(text(value))
    if not match:
        return None
    year = int(match[1]) + (2000 if len(match[1]) == 2 else 0)
    try:
        return date(year, int(match[2]), int(match[3]))
    except ValueError:
        return None


def to_int(value) -> int | None:
    if isinstance(value, int):
        return value
    return int(text(value).replace(",", "")) if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", text(value)) else None


def brn_is_valid(value) -> bool:
    digits = text(value).replace("-", "")
    if not stdnum_brn.is_valid(digits):  # length, digits, tax office and type codes (not the check digit)
        return False
    total = sum(int(d) * w for d, w in zip(digits, (1, 3, 7, 1, 3, 7, 1, 3, 5))) + int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def in_term(day: date | None) -> bool:
    return day is None or TERM[0] <= day <= TERM[1]


def broken_event_rules(row: dict, events: dict[str, date]) -> set[str]:
    channel = CHANNELS.get(text(row["channel_name_ko"]))
    if channel not in ("training_course", "job_fair"):
        return set()
    event_date, hired = events.get(text(row["event_id"])), to_date(row["hire_date"])
    if event_date is None:
        return {"event_not_found"}
    return {"hired_before_event"} if hired and hired < event_date else set()


def broken_placement_rules(row: dict, events: dict[str, date], seen: set) -> set[str]:
    hired, sub = to_date(row["hire_date"]), SUBPROJECTS.get(text(row["subproject_name_ko"]))
    required = ("person_key", "birth_year", "employer_brn", "hire_date", "subproject_name_ko", "channel_name_ko")
    key = (text(row["person_key"]), text(row["employer_brn"]).replace("-", ""), hired)
    checks = {
        "required": all(text(row[c]) for c in required),
        "parse_date": hired is not None,
        "date_in_term": in_term(hired),
        "brn_check_digit": brn_is_valid(row["employer_brn"]),
        "no_personal_number": not PERSONAL.search(text(row["note_ko"])),
        "unknown_subproject": sub is not None,
        "unknown_channel": text(row["channel_name_ko"]) in CHANNELS,
        "outside_mid_career_age": sub != "midcareer" or hired is None
        or 40 <= hired.year - to_int(row["birth_year"]) <= 64,
        "duplicate_record": key not in seen,
    }
    seen.add(key)
    return {rule for rule, ok in checks.items() if not ok} | broken_event_rules(row, events)


def broken_cohort_rules(row: dict) -> set[str]:
    start, end = to_date(row["start_date"]), to_date(row["end_date"])
    enrolled, completed = to_int(row["enrolled_count"]), to_int(row["completed_count"])
    checks = {
        "parse_date": start is not None and end is not None,
        "date_in_term": in_term(start),
        "start_le_end": not (start and end) or start <= end,
        "completed_le_enrolled": None in (enrolled, completed) or completed <= enrolled,
        "required": all(text(row[c]) not in NONE for c in ("cohort_id", "course_name_ko", "subproject_name_ko")),
    }
    return {rule for rule, ok in checks.items() if not ok}


def broken_fair_rules(row: dict) -> set[str]:
    day = to_date(row["fair_date"])
    checks = {
        "parse_date": day is not None,
        "date_in_term": in_term(day),
        "required": all(to_int(row[c]) is not None for c in ("firm_count", "participant_count")),
    }
    return {rule for rule, ok in checks.items() if not ok}


@pytest.fixture(scope="module")
def planted() -> dict[tuple[str, int], str]:
    with DEFECTS.open(encoding="utf-8", newline="") as handle:
        return {(r["source_file"], int(r["source_row"])): r["rule"] for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict]]:
    return {dataset: read_records(dataset) for dataset in DATASETS}


def valid_rows(rows: list[dict], planted: dict) -> list[dict]:
    return [r for r in rows if (r["_file"], r["_row"]) not in planted]


def test_every_planted_row_exists_in_its_file(planted):
    for source_file, source_row in planted:
        table = read_table(source_file)
        assert source_row <= len(table), (source_file, source_row)
        assert any(text(c) for c in table[source_row - 1]), (source_file, source_row)


def test_each_row_breaks_exactly_its_planted_rule_and_no_other_row_breaks_any(planted, records):
    cohorts, fairs = records["training_cohorts"], records["job_fairs"]
    events = {text(r["cohort_id"]): to_date(r["start_date"]) for r in cohorts}
    events |= {text(r["fair_id"]): to_date(r["fair_date"]) for r in fairs}
    seen: set = set()
    broken = {(r["_file"], r["_row"]): broken_placement_rules(r, events, seen) for r in records["placements"]}
    broken |= {(r["_file"], r["_row"]): broken_cohort_rules(r) for r in cohorts}
    broken |= {(r["_file"], r["_row"]): broken_fair_rules(r) for r in fairs}
    assert {where: rules for where, rules in broken.items() if rules} == {k: {v} for k, v in planted.items()}


def test_cp949_files_are_not_utf8_and_one_needs_cp949_rather_than_euc_kr():
    cp949 = [rel for rel, encoding in CSV_ENCODINGS.items() if encoding == "cp949"]
    for rel in cp949:
        data = (RAW / rel).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        data.decode("cp949")
    with pytest.raises(UnicodeDecodeError):
        (RAW / "placements/2019_채용실적.csv").read_bytes().decode("euc-kr")
    assert (RAW / "placements/2020_추가제출.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert {f"{d}/{p.name}" for d in DATASETS for p in (RAW / d).glob("*.csv")} == set(CSV_ENCODINGS)


def test_valid_placements_add_up_to_the_card(planted, records):
    rows = valid_rows(records["placements"], planted)
    by_year = Counter((SUBPROJECTS[text(r["subproject_name_ko"])], to_date(r["hire_date"]).year) for r in rows)
    assert by_year == {("corporate_linkage", 2018): 10, ("corporate_linkage", 2019): 59,
                       ("corporate_linkage", 2020): 43, ("midcareer", 2018): 20, ("midcareer", 2019): 65,
                       ("midcareer", 2020): 15}
    corporate = Counter((CHANNELS[text(r["channel_name_ko"])], to_date(r["hire_date"]).year) for r in rows
                        if SUBPROJECTS[text(r["subproject_name_ko"])] == "corporate_linkage")
    assert [corporate[("company_meeting", y)] for y in (2018, 2019, 2020)] == [4, 10, 4]
    assert [corporate[("agreement_partner", y)] for y in (2018, 2019, 2020)] == [0, 8, 0]
    assert [corporate[("training_course", y)] for y in (2018, 2019, 2020)] == [0, 15, 6]
    midcareer = Counter((CHANNELS[text(r["channel_name_ko"])], to_date(r["hire_date"]).year) for r in rows
                        if SUBPROJECTS[text(r["subproject_name_ko"])] == "midcareer")
    assert midcareer == {("training_course", 2018): 12, ("job_fair", 2018): 8, ("training_course", 2019): 40,
                         ("job_fair", 2019): 25, ("training_course", 2020): 10, ("job_fair", 2020): 5}


def test_valid_cohorts_and_fairs_match_the_card(planted, records):
    completed = Counter()
    for r in valid_rows(records["training_cohorts"], planted):
        completed[(text(r["course_name_ko"]), to_date(r["start_date"]).year)] += to_int(r["completed_count"])
    assert completed == {("일반경비 신입과정", 2018): 60, ("일반경비 신입과정", 2019): 125, ("일반경비 신입과정", 2020): 35,
                         ("요양보호사 자격증 취득과정", 2018): 25, ("요양보호사 자격증 취득과정", 2019): 50,
                         ("요양보호사 자격증 취득과정", 2020): 25, ("정리수납전문가 양성과정", 2019): 20,
                         ("중장년 신직업 탐구 영등포구 창직 아카데미", 2020): 25, ("코딩기반 IT 융합강사 양성", 2019): 20,
                         ("로봇코딩제어강사 양성", 2020): 18, ("자산운용업 운용사 협력 인력양성", 2019): 29}
    fairs = {(to_date(r["fair_date"]), to_int(r["firm_count"]), to_int(r["participant_count"]))
             for r in valid_rows(records["job_fairs"], planted)}
    assert fairs == {(date(2018, 11, 20), 27, 428), (date(2019, 5, 15), 24, 337), (date(2019, 10, 28), 25, 476),
                     (date(2020, 11, 19), 22, 137)}


def test_duplicate_is_redelivered_in_a_later_file(planted, records):
    by_place = {(r["_file"], r["_row"]): r for r in records["placements"]}
    for where in [w for w, rule in planted.items() if rule == "duplicate_record"]:
        copy = by_place[where]
        originals = [r for r in records["placements"] if r["person_key"] == copy["person_key"] and r is not copy]
        assert len(originals) == 1 and originals[0]["_file"] < copy["_file"]
        assert to_date(originals[0]["hire_date"]).year == 2019


def test_generator_reproduces_the_committed_files(tmp_path):
    script = ROOT / "scripts" / "make_sample_deliveries.py"
    out, defects = tmp_path / "raw", tmp_path / "planted_defects.csv"
    subprocess.run([sys.executable, str(script), "--out", str(out), "--defects", str(defects)], check=True)
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(RAW) for d in DATASETS for p in (RAW / d).iterdir()) + [Path("README.md")]
    assert written == sorted(committed)
    for rel in written:
        assert (out / rel).read_bytes() == (RAW / rel).read_bytes(), rel
    assert defects.read_bytes() == DEFECTS.read_bytes()
