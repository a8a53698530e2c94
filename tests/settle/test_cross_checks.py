"""Tests for the cross-dataset checks: duplicates, cited events, hire-before-event, the mid-career band."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import yaml

from pledgeflow.catalog import load_catalog
from pledgeflow.settle.cross_checks import (
    apply_cross_checks, check_event_references, check_mid_career_age, flag_duplicates, locate_cited_events,
)
from pledgeflow.contracts import FAILURE_SCHEMA
from pledgeflow.ingest.validate import ROW, validate_frame
from tests.conftest import make_project

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CATALOG = load_catalog(SCHEMAS)
RULES = make_project().rules
KEY = "test-pseudonym-key"


def cohort(cohort_id: str, start: str = "2019. 3. 1.", **cells) -> dict:
    return {"cohort_id": cohort_id, "course_name_ko": "용접", "subproject_name_ko": "중장년 일자리", "provider_name_ko": None,
            "sponsor_name_ko": None, "start_date": start, "end_date": "2019. 12. 20.", "enrolled_count": "20",
            "completed_count": "18", "note_ko": None} | cells


def fair(fair_id: str, held: str = "2019. 5. 2.", **cells) -> dict:
    return {"fair_id": fair_id, "fair_name_ko": "채용박람회", "subproject_name_ko": "기업연계 일자리 창출", "fair_date": held,
            "format_ko": None, "firm_count": "30", "participant_count": "500", "note_ko": None} | cells


def placement(person: str, **cells) -> dict:
    return {"person_key": person, "birth_year": "1970", "employer_brn": "124-81-00998", "employer_name_ko": "영등포상사",
            "hire_date": "2019. 6. 3.", "subproject_name_ko": "중장년 일자리 창출", "channel_name_ko": "기업간담회",
            "event_id": None, "note_ko": None} | cells


def valid_rows(dataset: str, rows: list[dict], source_file: str, catalog=CATALOG) -> pl.DataFrame:
    """Rows as they leave ingestion: validated, with row_digest, valid only (the test rows are all clean)."""
    names = [c.name for c in catalog.descriptors[dataset].columns]
    raw = pl.DataFrame(rows, schema={n: pl.String for n in names}).with_columns(
        pl.lit(source_file).alias("source_file"), pl.int_range(2, 2 + pl.len(), dtype=pl.Int64).alias("source_row")
    )
    result = validate_frame(raw, catalog.descriptors[dataset], make_project(key=KEY))
    return result.valid.drop(ROW)


def events(cohorts: list[dict] | None = None, fairs: list[dict] | None = None) -> dict[str, pl.DataFrame]:
    return {
        "training_cohorts": valid_rows("training_cohorts", cohorts or [cohort("C1")], "training_cohorts/2019.csv"),
        "job_fairs": valid_rows("job_fairs", fairs or [fair("F1")], "job_fairs/2019.csv"),
    }


def positions(cells: pl.DataFrame, rule: str | None = None) -> set[tuple[str, int]]:
    if rule is not None:
        cells = cells.filter(pl.col("rule") == rule)
    return set(cells.select("source_file", "source_row").iter_rows())


def test_duplicates_keep_the_first_copy_in_file_then_row_order():
    later = valid_rows("training_cohorts", [cohort("C2"), cohort("C1", course_name_ko="재제출")], "training_cohorts/2020.csv")
    earlier = valid_rows("training_cohorts", [cohort("C1"), cohort("C3"), cohort("C1")], "training_cohorts/2019.csv")
    cells = flag_duplicates(pl.concat([later, earlier]), CATALOG.descriptors["training_cohorts"])  # delivered out of order
    assert positions(cells) == {("training_cohorts/2019.csv", 4), ("training_cohorts/2020.csv", 3)}
    assert set(cells["rule"]) == {"duplicate_record"} and set(cells["value"]) == {"C1"}


def test_placement_duplicates_need_the_same_person_employer_and_day():
    rows = [
        placement("A"),
        placement("A", note_ko="재제출"),  # same person, employer, day: a duplicate
        placement("A", hire_date="2019. 6. 4."),
        placement("A", employer_brn="2208162517"),
        placement("B"),
    ]
    cells = flag_duplicates(valid_rows("placements", rows, "placements/2019.csv"), CATALOG.descriptors["placements"])
    assert positions(cells) == {("placements/2019.csv", 3)}
    assert "A" not in cells["value"].item().split(" | ")  # the pseudonym is echoed, not the raw key
    assert cells["value"].item().startswith("p_")


def test_event_not_found_for_a_missing_or_quarantined_event_or_a_blank_citation():
    fairs = [fair("F1"), fair("F2", held="2019. 2. 30.")]  # F2 does not validate: it never reaches the valid set
    settled = events(fairs=fairs)
    assert settled["job_fairs"]["fair_id"].to_list() == ["F1"]
    rows = [
        placement("A", channel_name_ko="교육과정", event_id="C1"),
        placement("B", channel_name_ko="교육과정", event_id="C9"),
        placement("C", channel_name_ko="취업박람회", event_id="F2"),
        placement("D", channel_name_ko="박람회", event_id=None),
        placement("E", channel_name_ko="박람회", event_id="C1"),  # a cohort id cited as a fair
        placement("F", channel_name_ko="박람회", event_id="F1"),
        placement("G", channel_name_ko="기업간담회", event_id="ANYTHING"),  # this channel cites no event
    ]
    cells = check_event_references(valid_rows("placements", rows, "placements/2019.csv"), settled, CATALOG)
    assert positions(cells, "event_not_found") == {("placements/2019.csv", r) for r in (3, 4, 5, 6)}
    assert positions(cells, "hired_before_event") == set()
    assert set(cells.filter(pl.col("rule") == "event_not_found")["column"]) == {"event_id"}


def test_hired_before_the_event_began():
    settled = events(cohorts=[cohort("C1", start="2019. 6. 3.")], fairs=[fair("F1", held="2019. 6. 4.")])
    rows = [
        placement("A", channel_name_ko="교육과정", event_id="C1", hire_date="2019. 6. 3."),  # on the first day: fine
        placement("B", channel_name_ko="교육과정", event_id="C1", hire_date="2019. 6. 2."),
        placement("C", channel_name_ko="박람회", event_id="F1", hire_date="2019. 6. 3."),
    ]
    cells = check_event_references(valid_rows("placements", rows, "placements/2019.csv"), settled, CATALOG)
    assert positions(cells) == {("placements/2019.csv", 3), ("placements/2019.csv", 4)}
    assert set(cells["rule"]) == {"hired_before_event"} and set(cells["column"]) == {"hire_date"}
    assert "2019-06-02 < 2019-06-03 (C1)" in cells["value"].to_list()


def catalog_with_band(tmp_path: Path, min_age: int, max_age: int):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    catalog = yaml.safe_load((schemas / "catalog.yaml").read_text(encoding="utf-8"))
    catalog["mid_career_age"] |= {"min_age": min_age, "max_age": max_age}
    (schemas / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    return load_catalog(schemas)


AGES = [
    placement("A", birth_year="1980"),  # 39 at hire (2019)
    placement("B", birth_year="1979"),  # 40
    placement("C", birth_year="1974"),  # 45
    placement("D", birth_year="1955"),  # 64
    placement("E", birth_year="1954"),  # 65
    placement("F", birth_year="1995", subproject_name_ko="기업연계 일자리 창출"),  # 24, no band for this sub-project
]


def test_outside_mid_career_age_uses_the_catalog_band():
    cells = check_mid_career_age(valid_rows("placements", AGES, "placements/2019.csv"), CATALOG)
    assert positions(cells) == {("placements/2019.csv", 2), ("placements/2019.csv", 6)}
    assert set(cells["rule"]) == {"outside_mid_career_age"} and set(cells["column"]) == {"birth_year"}
    assert "39세 (출생 1980, 채용 2019)" in cells["value"].to_list()


def test_a_changed_band_in_the_catalog_changes_the_result(tmp_path):
    seoul = catalog_with_band(tmp_path, 50, 64)
    assert seoul.mid_career_age["min_age"] == 50
    cells = check_mid_career_age(valid_rows("placements", AGES, "placements/2019.csv", seoul), seoul)
    assert positions(cells) == {("placements/2019.csv", r) for r in (2, 3, 4, 6)}


def test_apply_cross_checks_moves_rows_and_describes_failures():
    settled = events(cohorts=[cohort("C1"), cohort("C1", course_name_ko="중복")], fairs=[fair("F1")])
    rows = [
        placement("A", channel_name_ko="교육과정", event_id="C1"),
        placement("B", channel_name_ko="교육과정", event_id="C9"),
        placement("C", birth_year="1990"),
        placement("A", channel_name_ko="교육과정", event_id="C1", note_ko="두 번째 제출"),
        placement("D", channel_name_ko="박람회", event_id="F1"),
    ]
    valid = settled | {"placements": valid_rows("placements", rows, "placements/2019.csv")}
    result = apply_cross_checks(valid, CATALOG, RULES)

    assert list(result.failures.columns) == [*FAILURE_SCHEMA, "fingerprint"]
    assert dict(result.failures.select(*FAILURE_SCHEMA).schema) == FAILURE_SCHEMA
    assert set(result.failures.select("dataset", "source_row", "rule").iter_rows()) == {
        ("training_cohorts", 3, "duplicate_record"),
        ("placements", 3, "event_not_found"),
        ("placements", 4, "outside_mid_career_age"),
        ("placements", 5, "duplicate_record"),
    }
    for dataset, frame in valid.items():
        kept, held = result.valid[dataset], result.quarantined[dataset]
        assert kept.height + held.height == frame.height
        assert set(kept["source_row"]).isdisjoint(held["source_row"])
        assert kept.columns == frame.columns
    assert result.valid["placements"]["source_row"].sort().to_list() == [2, 6]
    assert result.quarantined["job_fairs"].is_empty()


def test_cross_check_failures_carry_messages_severity_and_masked_values():
    rows = [placement("A", channel_name_ko="교육과정", event_id="010-1234-5678")]
    valid = events() | {"placements": valid_rows("placements", rows, "placements/2019.csv")}
    failure = apply_cross_checks(valid, CATALOG, RULES).failures.row(0, named=True)
    assert failure["rule"] == "event_not_found" and failure["severity"] == "error"
    assert failure["value"] == "***-****-****"
    assert failure["message_ko"].startswith("[연계 과정·박람회 번호] ")
    assert failure["message_en"].startswith("[event_id] ")
    assert failure["record_key"].startswith("p_") and failure["record_key"].endswith("|2019-06-03")


def test_nothing_is_flagged_in_clean_data():
    valid = events(cohorts=[cohort("C1"), cohort("C2")], fairs=[fair("F1"), fair("F2")]) | {
        "placements": valid_rows("placements", [placement("A"), placement("B", channel_name_ko="교육과정", event_id="C2"),
                                                placement("A", hire_date="2019. 7. 1.")], "placements/x.csv"),
    }
    result = apply_cross_checks(valid, CATALOG, RULES)
    assert result.failures.is_empty()
    assert all(frame.is_empty() for frame in result.quarantined.values())
    assert all(result.valid[d].sort("source_row").equals(valid[d].sort("source_row")) for d in valid)


def test_a_placement_citing_a_quarantined_cohort_is_told_where_that_cohort_is():
    """The steward fixes the cohort (its file and row) and the placements citing it count again; an id no file has
    is said to be missing; a blank citation and other rules keep their message."""
    failures = pl.DataFrame({"source_file": "placements/2019.csv", "source_row": [2, 3, 4, 5],
                             "rule": ["event_not_found", "event_not_found", "event_not_found", "parse_date"],
                             "value": ["C7", "C9", "(빈 값 / empty)", "2019. 2. 30."],
                             "message_ko": "연계 번호 없음", "message_en": "event not found"})
    held = pl.DataFrame({"cohort_id": ["C7", "C7"], "source_file": "training_cohorts/2019.csv", "source_row": [9, 4]})
    located = locate_cited_events(failures, {"training_cohorts": held, "job_fairs": pl.DataFrame(schema={"fair_id": pl.String})})
    assert located.columns == failures.columns and located.height == 4
    ko, en = located["message_ko"].to_list(), located["message_en"].to_list()
    assert ko[0] == "연계 번호 없음 (C7: 이 교육과정·박람회 기록이 격리되어 있습니다 — training_cohorts/2019.csv 4행을 먼저 고치세요)"
    assert en[0] == "event not found (C7 is itself quarantined: fix training_cohorts/2019.csv row 4 first)"
    assert en[1] == "event not found (C9 is in no delivered cohort or fair file)"
    assert ko[2:] == ["연계 번호 없음"] * 2 and en[2:] == ["event not found"] * 2
