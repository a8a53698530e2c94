"""Write the fictional sample deliveries that reproduce pledge card 15 of 영등포구.

Every record is invented (person keys, birth years, dates, firms and their check-digit-valid
사업자등록번호), but the valid rows add up exactly to the card's figures. A few defective rows are
planted on top of them; `--defects` writes their file and Excel row number so tests know what
must end in quarantine. Same seed, same bytes: no wall clock, fixed workbook timestamps.

    uv run python scripts/make_sample_deliveries.py --out raw --defects tests/data/planted_defects.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

SEED = 20181120
CREATED = datetime(2021, 1, 15, 9, 0, 0)  # workbook metadata, fixed so files are reproducible
TERM_START = date(2018, 7, 1)
AUTHOR = "영등포구 일자리경제과"
GUARD, CARE = "일반경비 신입과정", "요양보호사 자격증 취득과정"
CORPORATE_SPELLINGS = ("기업과 연계한 일자리 창출", "기업과 연계 일자리 창출", "기업연계 일자리 창출")
MIDCAREER_SPELLINGS = ("중장년 일자리 창출", "날자! 중장년, 솟아라! 일자리", "중장년 일자리")
NOTES = ("", "", "", "", "정규직", "계약직(1년)", "시간제 근무", "수습 3개월 후 정규직 전환", "주 5일 근무", "경력 인정")

# id, course, sub-project, provider, sponsor, start, end, enrolled, completed (the card's course counts)
COHORTS = [
    ("TC-2018-01", GUARD, "midcareer", "한마음경비교육원", None, date(2018, 7, 16), date(2018, 8, 10), 32, 30),
    ("TC-2018-02", CARE, "midcareer", "새솔요양보호사교육원", None, date(2018, 8, 6), date(2018, 10, 12), 28, 25),
    ("TC-2018-03", GUARD, "midcareer", "한마음경비교육원", None, date(2018, 9, 3), date(2018, 9, 28), 31, 30),
    ("TC-2019-01", GUARD, "midcareer", "한마음경비교육원", None, date(2019, 2, 11), date(2019, 3, 8), 33, 30),
    ("TC-2019-02", "코딩기반 IT 융합강사 양성", "corporate_linkage", "영등포여성인력개발센터", "코스콤",
     date(2019, 3, 4), date(2019, 4, 26), 22, 20),
    ("TC-2019-03", CARE, "midcareer", "새솔요양보호사교육원", None, date(2019, 3, 18), date(2019, 5, 24), 27, 25),
    ("TC-2019-04", "자산운용업 운용사 협력 인력양성", "corporate_linkage", "여의금융아카데미", "샛강자산운용(주)",
     date(2019, 4, 8), date(2019, 7, 5), 32, 29),
    ("TC-2019-05", GUARD, "midcareer", "한마음경비교육원", None, date(2019, 5, 13), date(2019, 6, 7), 34, 32),
    ("TC-2019-06", "정리수납전문가 양성과정", "midcareer", "문래생활교육협동조합", None,
     date(2019, 6, 10), date(2019, 7, 19), 22, 20),
    ("TC-2019-07", GUARD, "midcareer", "한마음경비교육원", None, date(2019, 8, 19), date(2019, 9, 13), 35, 33),
    ("TC-2019-08", CARE, "midcareer", "새솔요양보호사교육원", None, date(2019, 9, 2), date(2019, 11, 8), 26, 25),
    ("TC-2019-09", GUARD, "midcareer", "한마음경비교육원", None, date(2019, 10, 14), date(2019, 11, 8), 31, 30),
    ("TC-2020-01", GUARD, "midcareer", "한마음경비교육원", None, date(2020, 6, 15), date(2020, 7, 10), 38, 35),
    ("TC-2020-02", "로봇코딩제어강사 양성", "corporate_linkage", "영등포여성인력개발센터", "코스콤",
     date(2020, 7, 6), date(2020, 8, 28), 20, 18),
    ("TC-2020-03", CARE, "midcareer", "새솔요양보호사교육원", None, date(2020, 7, 13), date(2020, 9, 18), 27, 25),
    ("TC-2020-04", "중장년 신직업 탐구 영등포구 창직 아카데미", "midcareer", "영등포구 창직지원단", None,
     date(2020, 9, 7), date(2020, 11, 27), 30, 25),
]
COHORT_KEYS = ("cohort_id", "course_name_ko", "subproject_name_ko", "provider_name_ko", "sponsor_name_ko",
               "start_date", "end_date", "enrolled_count", "completed_count")
# id, name, date, format, firms, participants (the card's four fairs)
FAIRS = [
    ("JF-2018-01", "2018 중장년 희망 취업박람회", date(2018, 11, 20), "대면", 27, 428),
    ("JF-2019-01", "2019 여성취업박람회", date(2019, 5, 15), "대면", 24, 337),
    ("JF-2019-02", "2019 중장년희망 취업박람회", date(2019, 10, 28), "대면", 25, 476),
    ("JF-2020-01", "2020 온라인 여성취업박람회", date(2020, 11, 19), "온라인", 22, 137),
]
FAIR_KEYS = ("fair_id", "fair_name_ko", "fair_date", "format_ko", "firm_count", "participant_count")
# sub-project, hire year, channel, placements: the card's 112 / 100 and the channel figures it cites
PLAN = [
    ("corporate_linkage", 2018, "기업간담회", 4), ("corporate_linkage", 2018, "Job아라", 4),
    ("corporate_linkage", 2018, "Job포유", 2),
    ("corporate_linkage", 2019, "기업간담회", 10), ("corporate_linkage", 2019, "업무협약", 8),
    ("corporate_linkage", 2019, "교육과정", 15), ("corporate_linkage", 2019, "Job아라", 16),
    ("corporate_linkage", 2019, "Job포유", 10),
    ("corporate_linkage", 2020, "기업간담회", 4), ("corporate_linkage", 2020, "교육과정", 6),
    ("corporate_linkage", 2020, "Job아라", 18), ("corporate_linkage", 2020, "Job포유", 15),
    ("midcareer", 2018, "교육과정", 12), ("midcareer", 2018, "취업박람회", 8),
    ("midcareer", 2019, "교육과정", 40), ("midcareer", 2019, "취업박람회", 25),
    ("midcareer", 2020, "교육과정", 10), ("midcareer", 2020, "취업박람회", 5),
]
EMPLOYERS = {
    "security": ["(주)보라매경비", "대방시큐리티(주)", "(주)한강시설관리", "영등포빌딩서비스(주)", "여의도클린(주)",
                 "(주)경인로시설"],
    "care": ["새말요양센터", "푸른솔요양원", "(주)양산로케어", "당산케어(주)", "신길재가복지센터", "도림노인요양원"],
    "asset": ["샛강자산운용(주)", "도림천자산운용(주)", "(주)선유도투자자문"],
    "partner": ["한빛신용정보(주)"],
    "general": ["(주)문래정밀", "(주)여의나루물류", "신길푸드(주)", "(주)대림환경", "양평동산업(주)", "(주)영등포유통",
                "(주)영중로리테일", "(주)똠얌키친", "(주)국회대로정보통신", "문래아트공방", "(주)신풍물산",
                "(주)도신로테크", "당산베이커리", "(주)선유디자인", "(주)오목교미디어", "대림세탁", "(주)버드나루식품",
                "(주)노들제약", "경방상사(주)", "(주)영등포인쇄", "(주)안양천조경", "여의서로호텔(주)",
                "(주)당산정보기술", "(주)문래금속"],
}
CP949_ONLY_FIRM = "(주)똠얌키친"  # "똠" is CP949 but not EUC-KR: a reader using euc-kr must fail


@dataclass
class Delivery:
    """One file as an officer would send it: header spellings, encoding, date style, rows."""

    path: str
    dataset: str
    labels: dict[str, str]  # canonical column -> header as spelled in this file (dict order = column order)
    encoding: str | None = None  # None: xlsx
    date_styles: tuple[str, ...] = ("dotted",)
    title: str | None = None
    none_marker: str = ""
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)

    @property
    def first_data_row(self) -> int:
        """Excel row number of the first data row (title line and blank line push the header down)."""
        return 4 if self.title else 2


def compute_brn_check_digit(nine: str) -> int:
    total = sum(int(d) * w for d, w in zip(nine, (1, 3, 7, 1, 3, 7, 1, 3, 5)))
    total += int(nine[8]) * 5 // 10
    return (10 - total % 10) % 10


def make_brn(rng: random.Random, name: str) -> str:
    """A 사업자등록번호 that passes the check digit (corporations use type codes 81/86/87/88)."""
    kind = rng.choice(("81", "86", "87", "88")) if "(주)" in name else f"{rng.randint(1, 79):02d}"
    nine = f"{rng.choice(('107', '108', '109', '113', '117'))}{kind}{rng.randint(1, 9999):04d}"
    return nine + str(compute_brn_check_digit(nine))


def make_employers(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    return {group: [(name, make_brn(rng, name)) for name in names] for group, names in EMPLOYERS.items()}


def pick_date(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def pick_event(rng: random.Random, subproject: str, year: int, channel: str) -> tuple[str | None, date, str]:
    """The cited cohort or fair (if the channel needs one), the earliest hire date, the employer group."""
    jan1 = max(date(year, 1, 1), TERM_START)
    if channel == "교육과정" and subproject == "corporate_linkage":
        cohort = next(c for c in COHORTS if c[1].startswith("자산운용"))
        return cohort[0], max(jan1, cohort[6] + timedelta(days=10)), "asset"
    if channel == "교육과정":
        eligible = [c for c in COHORTS if c[1] in (GUARD, CARE) and c[5].year in (year - 1, year)
                    and c[6] < date(year, 11, 15)]
        cohort = rng.choice(eligible)
        return cohort[0], max(jan1, cohort[6] + timedelta(days=7)), "security" if cohort[1] == GUARD else "care"
    if channel == "취업박람회":
        fair = rng.choice([f for f in FAIRS if f[2].year == year])
        return fair[0], fair[2], rng.choice(("general", "security", "care"))
    if channel == "업무협약":  # the agreement signed 2019-02-28 with a credit-information firm
        return None, date(2019, 3, 4), "partner"
    return None, jan1, "general"


def make_placement(rng: random.Random, employers: dict, subproject: str, year: int, channel: str) -> dict:
    event_id, lo, group = pick_event(rng, subproject, year, channel)
    hi = date(2019, 6, 28) if channel == "업무협약" else date(year, 12, 31)
    if channel == "취업박람회":
        hi = min(hi, lo + timedelta(days=45))
    hire = pick_date(rng, lo, hi)
    name, brn = rng.choice(employers[group])
    age = rng.randint(40, 64) if subproject == "midcareer" else rng.randint(20, 64)
    return {"person_key": None, "birth_year": year - age, "employer_brn": brn, "employer_name_ko": name,
            "hire_date": hire, "subproject_name_ko": subproject, "channel_name_ko": channel,
            "event_id": event_id, "note_ko": rng.choice(NOTES) or None}


def make_placements(rng: random.Random, employers: dict) -> list[dict]:
    rows = [make_placement(rng, employers, s, y, c) for s, y, c, n in PLAN for _ in range(n)]
    first_2019 = next(r for r in rows if r["hire_date"].year == 2019 and r["channel_name_ko"] == "Job아라")
    first_2019["employer_name_ko"] = CP949_ONLY_FIRM
    first_2019["employer_brn"] = dict(employers["general"])[CP949_ONLY_FIRM]
    return rows


def plant_placement_defects(rng: random.Random, employers: dict, valid: list[dict]) -> dict[str, list[dict]]:
    """Defective rows per file, each otherwise valid; keyed by the file they go into."""
    def base(subproject: str, year: int, channel: str, rule: str, **changes) -> dict:
        return {**make_placement(rng, employers, subproject, year, channel), **changes, "_rule": rule}

    bad_brn = base("corporate_linkage", 2019, "Job포유", "brn_check_digit")
    bad_brn["employer_brn"] = bad_brn["employer_brn"][:9] + str((int(bad_brn["employer_brn"][9]) + 3) % 10)
    original = next(r for r in valid if r["hire_date"].year == 2019 and r["channel_name_ko"] == "기업간담회")
    return {
        "2018": [base("corporate_linkage", 2018, "Job아라", "date_in_term", hire_date=date(2017, 3, 2))],
        "2019": [
            base("corporate_linkage", 2019, "Job아라", "parse_date", hire_date="2019. 2. 30."),
            bad_brn,
            base("corporate_linkage", 2019, "Job포유", "unknown_channel", channel_name_ko="지인소개"),
            base("midcareer", 2019, "교육과정", "event_not_found", event_id="TC-2019-99"),
            base("midcareer", 2019, "취업박람회", "hired_before_event", event_id="JF-2019-01",
                 hire_date=date(2019, 5, 2)),
        ],
        "2020": [
            base("midcareer", 2020, "교육과정", "outside_mid_career_age", birth_year=2020 - 29),
            base("corporate_linkage", 2020, "Job포유", "unknown_subproject", subproject_name_ko="청년 일자리 창출",
                 birth_year=2020 - 45),
        ],
        "extra": [
            {"_copy_of": original, "_rule": "duplicate_record"},
            base("corporate_linkage", 2020, "Job아라", "no_personal_number", note_ko="주민번호 800101-1234567 확인"),
            base("corporate_linkage", 2020, "Job포유", "no_personal_number", note_ko="본인 연락처 010-1234-5678"),
            base("corporate_linkage", 2020, "Job아라", "required", person_key=""),
        ],
    }


def assign_person_keys(rng: random.Random, rows: list[dict]) -> None:
    """Pseudonymous-looking district ids, unique per person; a row planted with an empty key keeps it."""
    numbers = rng.sample(range(100, 40000), len(rows))
    for row, number in zip(rows, numbers):
        if row.get("person_key") is None:
            row["person_key"] = f"YDP-J-{number:06d}"


def insert_defects(rng: random.Random, rows: list[dict], defects: list[dict]) -> list[dict]:
    rows = list(rows)
    for defect in defects:
        rows.insert(rng.randint(1, len(rows)), defect)
    return rows


def build_placement_files(rng: random.Random) -> list[Delivery]:
    employers = make_employers(rng)
    valid = sorted(make_placements(rng, employers), key=lambda r: (r["hire_date"], r["birth_year"]))
    defects = plant_placement_defects(rng, employers, valid)
    assign_person_keys(rng, valid + [r for rows in defects.values() for r in rows if "_copy_of" not in r])
    by_year = {y: [r for r in valid if r["hire_date"].year == y] for y in (2018, 2019, 2020)}
    late = by_year[2020][-8:]  # the last hires of 2020 arrived as a supplement
    cols = ("person_key", "birth_year", "employer_brn", "employer_name_ko", "hire_date", "subproject_name_ko",
            "channel_name_ko", "event_id", "note_ko")
    return [
        Delivery("placements/2018_하반기_채용실적.xlsx", "placements",
                 dict(zip(cols, ("구직자 관리번호", "출생연도", "사업자등록번호", "사업체명", "채용일", "세부사업",
                                 "연계경로", "연계 과정·박람회 번호", "비고"))),
                 date_styles=("excel",), title="2018년 하반기 일자리 채용 실적",
                 spellings={"corporate_linkage": CORPORATE_SPELLINGS[:1], "midcareer": MIDCAREER_SPELLINGS[1:2]},
                 rows=insert_defects(rng, by_year[2018], defects["2018"])),
        Delivery("placements/2019_채용실적.csv", "placements",
                 dict(zip(cols, ("구직자번호", "출생년도", "사업자번호", "업체명", "취업일", "세부사업명", "채용경로",
                                 "과정/박람회 번호", "특이사항"))),
                 encoding="cp949", date_styles=("compact", "iso", "dotted"), none_marker="-",
                 spellings={"corporate_linkage": CORPORATE_SPELLINGS, "midcareer": MIDCAREER_SPELLINGS},
                 rows=insert_defects(rng, by_year[2019], defects["2019"])),
        Delivery("placements/2020_채용실적.xlsx", "placements",
                 dict(zip(("employer_name_ko", "employer_brn", "person_key", "birth_year", "hire_date",
                           "subproject_name_ko", "channel_name_ko", "event_id", "note_ko"),
                          ("채용기업", "사업자등록번호", "관리번호", "생년", "입사일", "사업명", "취업경로", "연계번호",
                           "메모"))),
                 date_styles=("dotted", "short"),
                 spellings={"corporate_linkage": CORPORATE_SPELLINGS[1:2], "midcareer": MIDCAREER_SPELLINGS[2:]},
                 rows=insert_defects(rng, by_year[2020][:-8], defects["2020"])),
        Delivery("placements/2020_추가제출.csv", "placements",
                 dict(zip(cols, ("구직자 관리번호", "출생연도", "사업자번호", "기업명", "채용일자", "세부사업",
                                 "연계경로", "과정·박람회 번호", "비고"))),
                 encoding="utf-8-sig", date_styles=("iso", "dotted"),
                 spellings={"corporate_linkage": CORPORATE_SPELLINGS[2:], "midcareer": MIDCAREER_SPELLINGS[:1]},
                 rows=insert_defects(rng, late, defects["extra"])),
    ]


def build_cohort_files(rng: random.Random) -> list[Delivery]:
    rows = [dict(zip(COHORT_KEYS, c)) | {"note_ko": None} for c in COHORTS]
    rows[0]["note_ko"] = "1기"
    rows[3]["note_ko"] = "국비 연계 과정"
    over = dict(zip(COHORT_KEYS, ("TC-2020-05", GUARD, "midcareer", "한마음경비교육원", None, date(2020, 10, 12),
                                  date(2020, 11, 6), 30, 32))) | {"_rule": "completed_le_enrolled", "note_ko": None}
    swapped = dict(zip(COHORT_KEYS, ("TC-2019-10", CARE, "midcareer", "새솔요양보호사교육원", None, date(2019, 11, 18),
                                     date(2019, 1, 24), 24, 22))) | {"_rule": "start_le_end", "note_ko": None}
    year = {y: [r for r in rows if r["start_date"].year == y] for y in (2018, 2019, 2020)}
    labels = ("과정번호", "과정명", "세부사업", "운영기관", "후원기관", "개강일", "종강일", "수강인원", "수료인원", "비고")
    return [
        Delivery("training_cohorts/2018_교육과정_운영현황.xlsx", "training_cohorts",
                 dict(zip((*COHORT_KEYS, "note_ko"), labels)), date_styles=("excel",),
                 spellings={"midcareer": MIDCAREER_SPELLINGS[1:2]}, rows=year[2018]),
        Delivery("training_cohorts/2019_교육과정_운영현황.csv", "training_cohorts",
                 dict(zip((*COHORT_KEYS, "note_ko"), ("기수번호", "교육과정명", "세부사업명", "교육기관", "후원",
                                                     "교육시작일", "교육종료일", "등록인원", "수료자수", "특이사항"))),
                 encoding="utf-8-sig", date_styles=("compact",),
                 spellings={"corporate_linkage": CORPORATE_SPELLINGS[:1], "midcareer": MIDCAREER_SPELLINGS[:1]},
                 rows=insert_defects(rng, year[2019], [swapped])),
        Delivery("training_cohorts/2020_교육과정_운영현황.csv", "training_cohorts",
                 dict(zip((*COHORT_KEYS, "note_ko"), ("과정코드", "교육명", "사업명", "수행기관", "후원기관", "시작일",
                                                     "종료일", "모집인원", "수료인원", "비고"))),
                 encoding="cp949", date_styles=("short", "iso"), none_marker="-",
                 spellings={"corporate_linkage": CORPORATE_SPELLINGS[1:2], "midcareer": MIDCAREER_SPELLINGS[2:]},
                 rows=insert_defects(rng, year[2020], [over])),
    ]


def build_fair_files() -> list[Delivery]:
    rows = [dict(zip(FAIR_KEYS, f)) | {"subproject_name_ko": "midcareer", "note_ko": None} for f in FAIRS]
    rows[3]["note_ko"] = "코로나19로 비대면 개최"
    bad = dict(zip(FAIR_KEYS, ("JF-2019-03", "2019 중장년 채용 한마당", "2019. 13. 5.", "대면", 31, 1150)))
    bad |= {"subproject_name_ko": "midcareer", "note_ko": None, "_rule": "parse_date"}
    cols = ("fair_id", "fair_name_ko", "subproject_name_ko", "fair_date", "format_ko", "firm_count",
            "participant_count", "note_ko")
    return [
        Delivery("job_fairs/2018-2019_취업박람회_개최현황.xlsx", "job_fairs",
                 dict(zip(cols, ("박람회 번호", "박람회명", "세부사업", "개최일", "개최방식", "참여업체수", "참여인원",
                                 "비고"))),
                 date_styles=("dotted",), spellings={"midcareer": MIDCAREER_SPELLINGS[1:2]}, rows=rows[:3]),
        Delivery("job_fairs/2020_취업박람회_개최현황.csv", "job_fairs",
                 dict(zip(cols, ("행사번호", "행사명", "사업명", "개최일자", "방식", "참여기업수", "참가인원",
                                 "특이사항"))),
                 encoding="utf-8", date_styles=("short",), none_marker="-",
                 spellings={"midcareer": MIDCAREER_SPELLINGS[:1]}, rows=[bad, rows[3]]),
    ]


def format_date(value: date, style: str) -> date | str:
    return {
        "excel": value,
        "dotted": f"{value.year}. {value.month}. {value.day}.",
        "short": f"'{value.year % 100:02d}. {value.month}. {value.day}.",
        "compact": f"{value:%Y.%m.%d}",
        "iso": value.isoformat(),
    }[style]


def render_cells(rng: random.Random, delivery: Delivery, row: dict) -> dict:
    """Cells as this officer typed them; a re-delivered row repeats the original's cells exactly."""
    if "_copy_of" in row:
        return row["_copy_of"]["_cells"]
    cells = {}
    for col in delivery.labels:
        value = row.get(col)
        if isinstance(value, date):
            value = format_date(value, rng.choice(delivery.date_styles))
        elif col == "subproject_name_ko" and value in delivery.spellings:
            value = rng.choice(delivery.spellings[value])
        elif col == "employer_brn" and rng.random() < 0.5:
            value = f"{value[:3]}-{value[3:5]}-{value[5:]}"
        cells[col] = value
    row["_cells"] = cells
    return cells


def as_text(value, column: str, none_marker: str) -> str:
    """CSV cell text: counts get thousands separators as Excel shows them; years do not."""
    if value is None:
        return none_marker
    return f"{value:,}" if column.endswith("_count") else str(value)


def write_csv(path: Path, delivery: Delivery, table: list[dict]) -> None:
    # Excel writes CRLF; the plain UTF-8 export came from another tool and uses LF
    newline = "\n" if delivery.encoding == "utf-8" else "\r\n"
    with path.open("w", encoding=delivery.encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(delivery.labels.values())
        writer.writerows([as_text(cells[c], c, delivery.none_marker) for c in delivery.labels] for cells in table)


def write_xlsx(path: Path, delivery: Delivery, table: list[dict]) -> None:
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": delivery.title or path.stem, "author": AUTHOR, "created": CREATED})
    sheet = book.add_worksheet("Sheet1")
    bold = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "align": "center"})
    date_cell = book.add_format({"num_format": "yyyy-mm-dd"})
    header_row = delivery.first_data_row - 2
    if delivery.title:
        sheet.merge_range(0, 0, 0, len(delivery.labels) - 1, delivery.title, book.add_format({"bold": True}))
    sheet.write_row(header_row, 0, list(delivery.labels.values()), bold)
    sheet.set_column(0, len(delivery.labels) - 1, 16)
    for r, cells in enumerate(table, start=header_row + 1):
        for c, value in enumerate(cells[col] for col in delivery.labels):
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime.combine(value, datetime.min.time()), date_cell)
            elif isinstance(value, int):
                sheet.write_number(r, c, value)
            elif value not in (None, ""):
                sheet.write_string(r, c, value)
    book.close()


def write_delivery(rng: random.Random, out: Path, delivery: Delivery) -> list[tuple[str, str, int, str]]:
    """Write one file; return its planted defects as (dataset, source_file, excel_row, rule)."""
    table = [render_cells(rng, delivery, row) for row in delivery.rows]
    path = out / delivery.path
    path.parent.mkdir(parents=True, exist_ok=True)
    (write_xlsx if delivery.encoding is None else write_csv)(path, delivery, table)
    return [(delivery.dataset, delivery.path, delivery.first_data_row + i, row["_rule"])
            for i, row in enumerate(delivery.rows) if "_rule" in row]


def describe_format(delivery: Delivery) -> str:
    if delivery.encoding is None:
        dates = "Excel date cells" if delivery.date_styles == ("excel",) else "dates as text"
        return f"XLSX, {dates}" + (", title line + blank line, header on row 3" if delivery.title else "")
    encoding = {"cp949": "CP949 (saved from Excel)", "utf-8-sig": "UTF-8 with BOM", "utf-8": "UTF-8, LF"}
    return f"CSV, {encoding[delivery.encoding]}"


def write_readme(out: Path, deliveries: list[Delivery], defects: list[tuple[str, str, int, str]]) -> None:
    files = "\n".join(f"| `{d.path}` | {describe_format(d)} | {len(d.rows)} |" for d in deliveries)
    planted = "\n".join(f"| `{f}` | {r} | `{rule}` |" for _, f, r, rule in defects)
    text = f"""# Sample deliveries (fictional)

These files are **invented** to reproduce the figures of 영등포구 pledge card 15
(내 일(job)이 행복한 민·관협력 일자리 창출, results as of 2020. 12.). The people are fictional: person keys
(`YDP-J-…`), birth years and hire dates are made up. Firm names and 사업자등록번호 are fictional
too, but every valid row's number passes the check digit. Course, fair and channel figures follow
the card; providers other than 영등포여성인력개발센터 and sponsors other than 코스콤 are invented.

Generated by `uv run python scripts/make_sample_deliveries.py --out raw --defects
tests/data/planted_defects.csv` (fixed seed, fixed workbook timestamps: rerunning gives the same bytes).
`raw/reported/` and `raw/decisions/` are maintained separately.

## Files

| file | format / encoding | data rows (incl. planted) |
|---|---|---|
{files}

Header spellings differ between files (all are aliases in `schemas/datasets/*.yaml`), as do the
sub-project spellings (all in `schemas/catalog.yaml`). Dates mix "2019. 3. 18.", "'20. 3. 2.",
"2019.03.18" and "2019-03-18"; numbers ≥ 1000 carry thousands separators ("1,150"); "-" marks an empty
optional cell in the CP949 and plain UTF-8 CSVs. `placements/2019_채용실적.csv` names the firm
"{CP949_ONLY_FIRM}": "똠" exists in CP949 but not in EUC-KR, so a reader using `euc-kr` fails.

## Valid records add up to the card

- placements by hire year: 기업과 연계 10 / 59 / 43 (112), 중장년 20 / 65 / 15 (100) for 2018 / 2019 / 2020;
  corporate channels 기업간담회 4/10/4, 업무협약 0/8/0, 교육과정 0/15/6 (cohort TC-2019-04).
- training cohorts (수료인원 by start year): 일반경비 60/125/35, 요양보호사 25/50/25, 정리수납 20 ('19),
  창직 아카데미 25 ('20), 코딩기반 IT 융합강사 20, 로봇코딩제어강사 18, 자산운용업 29.
- job fairs: the card's four fairs with their firm and participant counts.

## Planted defects

Extra rows on top of the valid ones, each with exactly one problem; the row is the Excel row number
(1-based, header and title lines count). Same list: `tests/data/planted_defects.csv`, checked
straight from these files by `tests/test_samples.py`.

| file | row | rule |
|---|---|---|
{planted}
"""
    (out / "README.md").write_text(text, encoding="utf-8")


def write_defects(path: Path, defects: list[tuple[str, str, int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("dataset", "source_file", "source_row", "rule"))
        writer.writerows(defects)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write the deliveries into (raw/)")
    parser.add_argument("--defects", type=Path, help="where to write planted_defects.csv (optional)")
    args = parser.parse_args()
    rng = random.Random(SEED)
    deliveries = build_placement_files(rng) + build_cohort_files(rng) + build_fair_files()
    deliveries.sort(key=lambda d: d.path)  # the original of a re-delivered row is rendered first
    defects = sorted(d for delivery in deliveries for d in write_delivery(rng, args.out, delivery))
    write_readme(args.out, deliveries, defects)
    if args.defects:
        write_defects(args.defects, defects)


if __name__ == "__main__":
    main()
