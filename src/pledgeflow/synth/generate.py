"""Synthetic deliveries at national scale, deterministic by seed, for benchmarks and load tests.

`generate_project` writes a runnable project folder (raw/ deliveries; schemas/, gx/ and the card's
a national catalog (`pledgeflow.synth.national`): N governments, each with its own pledge, sub-projects, term and
card register under raw/reported/<pledge_id>/. Every district's files sit in their own sub-folder
(`raw/placements/d01_종로구/2019_채용실적.csv`) and cite the district's own sub-projects. Files look like real ones: XLSX
only for small files, CSV in CP949 (CRLF) or UTF-8 with or without BOM, Korean headers (spelled
with the descriptors' aliases), Korean dates and thousands separators, optional title lines.
About `defect_rate` of the rows carry exactly one planted defect each (bad or out-of-term date,
wrong 사업자등록번호 check digit, unknown sub-project, phone number in a note, missing event,
duplicate, age outside the mid-career band, malformed number). Everything is vectorised (numpy
and polars): no per-row Python, so 10 million placements (1.1 GB of files) take about 40 s on 2 cores.
File rendering (spellings, formats, encodings) is in `pledgeflow.synth.render`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from pledgeflow.catalog import Catalog, load_catalog
from pledgeflow.synth import national
from pledgeflow.synth.render import render, write_csv, write_delivery

DISTRICTS_KO = ("종로구 중구 용산구 성동구 광진구 동대문구 중랑구 성북구 강북구 도봉구 노원구 은평구 서대문구 마포구 "
                "양천구 강서구 구로구 금천구 영등포구 동작구 관악구 서초구 강남구 송파구 강동구").split()
TERM = (date(2018, 7, 1), date(2022, 6, 30))  # the template card's term (민선 7기)
GENERATOR = 2  # bumped whenever the same parameters write other data (2: each government's own term), so a kept project is regenerated
PLACEMENTS_PER_COHORT, PLACEMENTS_PER_FAIR = 400, 2500
CONFIG_FOLDERS = ("schemas", "gx")  # what a run reads besides raw/: copied from the template project
PLACEMENT_DEFECTS = ("bad_date", "out_of_term", "bad_brn", "unknown_subproject", "phone_in_note",
                     "event_not_found", "duplicate", "outside_age_band", "malformed_number")
CHANNEL_WEIGHTS = {"company_meeting": 0.15, "agreement_partner": 0.05, "training_course": 0.3, "job_fair": 0.2,
                   "job_ara": 0.15, "job_foryou": 0.1, "other": 0.05}
PLACES = "여의 당산 문래 신길 대림 도림 양평 선유 노들 한강 남산 북악 관악 청계 성수 망원 잠실 수서".split()
TRADES = "정밀 물류 푸드 환경 산업 유통 정보통신 디자인 미디어 식품 제약 상사 인쇄 조경 케어 경비 시설관리".split()
NOTES = ["정규직", "계약직(1년)", "시간제 근무", "수습 3개월 후 정규직 전환", "주 5일 근무", "경력 인정"]
COURSES = ["일반경비 신입과정", "요양보호사 자격증 취득과정", "코딩기반 IT 융합강사 양성", "정리수납전문가 양성과정",
           "자산운용업 운용사 협력 인력양성", "로봇코딩제어강사 양성"]


@dataclass(frozen=True)
class District:
    index: int  # 1-based
    name_ko: str
    placements: int

    @property
    def code(self) -> str:
        return f"d{self.index:02d}"

    @property
    def folder(self) -> str:
        return f"{self.code}_{self.name_ko}"

    @property
    def term_shift_years(self) -> int:
        """Years after the template's term: odd-numbered districts keep 민선 7기 (2018-2022), even ones are 민선 8기
        (2022-2026), so the project has two terms, two period grids and records dated in another pledge's term."""
        return national.TERM_YEARS * ((self.index - 1) % 2)

    @property
    def term(self) -> tuple[date, date]:
        return national.shift_years(TERM[0], self.term_shift_years), national.shift_years(TERM[1], self.term_shift_years)

    @property
    def cohorts(self) -> int:
        return max(2, self.placements // PLACEMENTS_PER_COHORT)

    @property
    def fairs(self) -> int:
        return max(1, self.placements // PLACEMENTS_PER_FAIR)


def generate_project(target: Path, template: Path, placements: int, *, districts: int = 25, seed: int = 0,
                     defect_rate: float = 0.01) -> dict:
    """Write a synthetic project into `target` (raw/ deliveries + schemas/ and raw/reported/ from `template`).

    Returns the summary also written to `target/synth.json`: parameters, files and rows per dataset.
    """
    target, template = Path(target), Path(template)
    prepare_target(target, template)
    plan = plan_districts(placements, districts, seed)
    template_catalog = yaml.safe_load((template / "schemas" / "catalog.yaml").read_text(encoding="utf-8"))
    national.write_catalog(target / "schemas", template_catalog, plan)
    catalog = load_catalog(target / "schemas")
    card = template / "raw" / "reported"
    written = [path for district in plan for path in write_district(target / "raw", district, catalog, seed, defect_rate, card)]
    summary = {"generator": GENERATOR, "seed": seed, "placements": placements, "districts": districts, "defect_rate": defect_rate,
               "files": sorted(str(p.relative_to(target)) for p in written),
               "rows": {"placements": placements, "training_cohorts": sum(d.cohorts for d in plan),
                        "job_fairs": sum(d.fairs for d in plan)}}
    (target / "synth.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def add_delivery(target: Path, rows: int, *, district: int = 1, name: str = "2022_추가제출.csv") -> Path:
    """One more placements delivery (UTF-8 CSV) for a district of a generated project: the incremental case.

    Its rows cite that district's existing cohorts and fairs; the rest of `raw/` is left untouched.
    """
    target = Path(target)
    params = json.loads((target / "synth.json").read_text(encoding="utf-8"))
    catalog = load_catalog(target / "schemas")
    chosen = plan_districts(params["placements"], params["districts"], params["seed"])[district - 1]
    extra = District(chosen.index, chosen.name_ko, rows)
    cohorts, fairs = make_cohorts(chosen, params["seed"]), make_fairs(chosen, params["seed"])
    rng = np.random.default_rng([params["seed"], chosen.index, 99, rows])
    frame = national.localise(make_placements(extra, cohorts, fairs, catalog, rng, params["defect_rate"]), chosen.code)
    path = target / "raw" / "placements" / chosen.folder / name
    write_csv(render(frame, "placements", catalog, rng), path, "utf-8", title=None)
    return path


def prepare_target(target: Path, template: Path) -> None:
    """Fresh raw/ and the template's configuration (schemas/, gx/ suites); the catalog and the cards are written after."""
    for folder in ("raw", *CONFIG_FOLDERS, "curated", "state"):
        if (target / folder).exists():
            shutil.rmtree(target / folder)
    for folder in CONFIG_FOLDERS:
        if (template / folder).is_dir():
            shutil.copytree(template / folder, target / folder)
    (target / "raw" / "reported").mkdir(parents=True)


def plan_districts(placements: int, districts: int, seed: int) -> list[District]:
    """Split the placements over districts unevenly (as populations are), exactly summing to `placements`."""
    rng = np.random.default_rng([seed, 0])
    shares = rng.dirichlet(np.full(districts, 8.0))
    counts = rng.multinomial(placements, shares)
    return [District(i + 1, name_for(i), int(n)) for i, n in enumerate(counts)]


def name_for(i: int) -> str:
    base = DISTRICTS_KO[i % len(DISTRICTS_KO)]
    return base if i < len(DISTRICTS_KO) else f"{base}{i // len(DISTRICTS_KO) + 1}"


def write_district(raw: Path, district: District, catalog: Catalog, seed: int, defect_rate: float,
                   card: Path | None = None) -> list[Path]:
    """A district's cohorts, fairs (one file each) and placements (one file per year of hire)."""
    rng = np.random.default_rng([seed, district.index, 3])
    cohorts, fairs = make_cohorts(district, seed), make_fairs(district, seed)
    placements = national.localise(make_placements(district, cohorts, fairs, catalog, rng, defect_rate), district.code)
    cohorts, fairs = national.localise(cohorts, district.code), national.localise(fairs, district.code)
    national.write_register(raw / "reported", district, catalog, placements, card)
    paths = [
        write_delivery(raw / "training_cohorts" / district.folder, "교육과정_운영현황",
                       add_event_defects(cohorts, "training_cohorts", rng, defect_rate), "training_cohorts", catalog, rng),
        write_delivery(raw / "job_fairs" / district.folder, "취업박람회_개최현황",
                       add_event_defects(fairs, "job_fairs", rng, defect_rate), "job_fairs", catalog, rng),
    ]
    years = placements.get_column("_file_year")
    for year in sorted(years.unique().to_list()):
        rows = placements.filter(years == year)
        paths.append(write_delivery(raw / "placements" / district.folder, f"{year}_채용실적", rows, "placements", catalog, rng))
    return paths


def epoch_days(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def as_dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def make_cohorts(district: District, seed: int) -> pl.DataFrame:
    """Typed cohort rows of a district (valid by construction); defects are added when written."""
    rng, n = np.random.default_rng([seed, district.index, 1]), district.cohorts
    first, last = district.term
    # courses start until three months before the term ends, so that they end inside it
    start = epoch_days(first) + rng.integers(0, (last - first).days - 90, n)
    enrolled = rng.integers(15, 41, n)
    return frame_of({
        "cohort_id": pl.format("TC-{}-{}", pl.lit(district.code.upper()), pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(5)),
        "course_name_ko": pick(rng, COURSES, n),
        "subproject_id": pick(rng, ["corporate_linkage", "midcareer"], n),
        "provider_name_ko": pl.format("{}{}교육원", pick(rng, PLACES, n), pl.lit(district.name_ko)),
        "sponsor_name_ko": pl.Series([None] * n, dtype=pl.String),
        "start_date": as_dates(start),
        "end_date": as_dates(start + rng.integers(20, 90, n)),
        "enrolled_count": enrolled,
        "completed_count": enrolled - rng.integers(0, 6, n),
        "note_ko": pl.Series([None] * n, dtype=pl.String),
    })


def make_fairs(district: District, seed: int) -> pl.DataFrame:
    rng, n = np.random.default_rng([seed, district.index, 2]), district.fairs
    first, last = district.term
    return frame_of({
        "fair_id": pl.format("JF-{}-{}", pl.lit(district.code.upper()), pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(4)),
        "fair_name_ko": pl.format("{} {} 취업박람회", pl.lit(district.name_ko), pick(rng, ["중장년 희망", "여성", "청년", "온라인"], n)),
        "subproject_id": pick(rng, ["corporate_linkage", "midcareer"], n),
        "fair_date": as_dates(epoch_days(first) + rng.integers(0, (last - first).days - 29, n)),
        "format_ko": pick(rng, ["대면", "온라인"], n),
        "firm_count": rng.integers(10, 61, n),
        "participant_count": rng.integers(80, 3000, n),
        "note_ko": pl.Series([None] * n, dtype=pl.String),
    })


def frame_of(columns: dict) -> pl.DataFrame:
    """A frame from a mix of numpy arrays, Series and expressions of the same length."""
    return pl.select(**{k: v if isinstance(v, pl.Expr) else pl.lit(pl.Series(k, v)) for k, v in columns.items()})


def pick(rng: np.random.Generator, choices: list, n: int, p=None) -> pl.Series:
    return pl.Series(choices).gather(rng.choice(len(choices), n, p=p)) if n else pl.Series([], dtype=pl.String)


def make_placements(district: District, cohorts: pl.DataFrame, fairs: pl.DataFrame, catalog: Catalog,
                    rng: np.random.Generator, defect_rate: float) -> pl.DataFrame:
    """Typed placement rows of a district with `_defect` (null or a defect kind) and `_file_year`."""
    n, (first, last) = district.placements, district.term
    channel = pick(rng, list(CHANNEL_WEIGHTS), n, p=list(CHANNEL_WEIGHTS.values()))
    cohort_pick, fair_pick = rng.integers(0, cohorts.height, n), rng.integers(0, fairs.height, n)
    lag, anyday = rng.integers(0, 120, n), epoch_days(first) + rng.integers(0, (last - first).days + 1, n)
    # a placement through a course or fair is hired after it: the cross-dataset checks must pass
    cited = {"training_course": cohorts["end_date"].cast(pl.Int32).to_numpy()[cohort_pick],
             "job_fair": fairs["fair_date"].cast(pl.Int32).to_numpy()[fair_pick]}
    channels = channel.to_numpy()
    hire = np.where(channels == "training_course", cited["training_course"] + lag,
                    np.where(channels == "job_fair", cited["job_fair"] + lag, anyday))
    frame = pl.DataFrame({"channel_id": channel, "_cohort": cohorts["cohort_id"].gather(cohort_pick),
                          "_fair": fairs["fair_id"].gather(fair_pick), "_age": rng.integers(20, 65, n),
                          "_mid_age": rng.integers(40, 65, n), "_employer": rng.integers(0, max(50, n // 20), n),
                          "_serial": rng.permutation(n) + 1, "_note": rng.random(n), "_note_pick": pick(rng, NOTES, n),
                          "hire_date": as_dates(np.minimum(hire, epoch_days(last)))})
    frame = frame.with_columns(
        pl.format("{}-J-{}", pl.lit(district.code.upper()), pl.col("_serial").cast(pl.String).str.zfill(8)).alias("person_key"),
        pl.when(pl.col("channel_id") == "training_course").then("_cohort").when(pl.col("channel_id") == "job_fair")
        .then("_fair").otherwise(None).alias("event_id"),
        pick(rng, ["corporate_linkage", "midcareer"], n).alias("subproject_id"),
        pl.when(pl.col("_note") < 0.15).then("_note_pick").otherwise(None).alias("note_ko"),
    ).with_columns(
        (pl.col("hire_date").dt.year() - pl.when(pl.col("subproject_id") == "midcareer").then("_mid_age").otherwise("_age"))
        .alias("birth_year"),
    )
    employers = make_employers(rng, max(50, n // 20), district)
    frame = frame.join(employers, left_on="_employer", right_on="_employer", how="left", maintain_order="left")
    defects = pl.Series("_defect", pick(rng, list(PLACEMENT_DEFECTS), n)).zip_with(
        pl.Series(rng.random(n) < defect_rate), pl.Series([None] * n, dtype=pl.String))
    frame = apply_duplicates(frame.with_columns(defects), rng)
    year = pl.col("hire_date").dt.year()
    return frame.with_columns(pl.when(pl.col("hire_date") < date(first.year + 1, 1, 1)).then(pl.lit(f"{first.year}_하반기"))
                              .otherwise(year.cast(pl.String)).alias("_file_year"))


def make_employers(rng: np.random.Generator, n: int, district: District) -> pl.DataFrame:
    """`n` employers with names and 사업자등록번호 whose check digit is right."""
    digits = np.column_stack([
        rng.choice([1, 2, 3], n), rng.integers(0, 10, n), rng.choice([7, 8, 9], n),  # tax office
        rng.choice([8, 8, 8, 1, 2], n), rng.integers(0, 10, n),                        # kind
        rng.integers(0, 10, (n, 4)),                                                     # serial
    ])
    total = digits @ np.array([1, 3, 7, 1, 3, 7, 1, 3, 5]) + digits[:, 8] * 5 // 10
    check = (10 - total % 10) % 10
    text = pl.DataFrame(np.column_stack([digits, check]).astype(str)).select(pl.concat_str(pl.all()).alias("brn"))["brn"]
    return frame_of({
        "_employer": np.arange(n),
        "employer_brn": text,
        "employer_name_ko": pl.format("{}{}{}", pick(rng, ["(주)", "", "주식회사 "], n), pick(rng, PLACES, n), pick(rng, TRADES, n)),
    })


def apply_duplicates(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Rows marked `duplicate` become a copy of the row before them (same person, employer and day)."""
    index = np.arange(frame.height)
    dup = (frame["_defect"] == "duplicate").fill_null(False).to_numpy()
    dup[:1] = False  # the first row has no row before it (and a district may have no rows at all)
    index[dup] = index[dup] - 1
    return frame[index].with_columns(
        pl.when(pl.Series(dup)).then(pl.lit("duplicate")).otherwise(pl.col("_defect").replace("duplicate", None)).alias("_defect"))


def add_event_defects(frame: pl.DataFrame, dataset: str, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Mark about `rate` of the cohorts or fairs with a defect applied when rendered."""
    kinds = ["bad_date", "count_mismatch"] if dataset == "training_cohorts" else ["bad_date", "malformed_number"]
    marked = pl.Series(rng.random(frame.height) < rate)
    return frame.with_columns(pick(rng, kinds, frame.height).zip_with(marked, pl.Series([None] * frame.height, dtype=pl.String)).alias("_defect"))
