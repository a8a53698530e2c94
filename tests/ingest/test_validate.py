"""Tests for validation: parse rules, pandera rules, row conservation, masking, messages, fingerprints."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from pledgeflow.catalog import load_catalog
from pledgeflow.contracts import FAILURE_SCHEMA
from pledgeflow.ingest.validate import (
    ROW,
    describe_failures,
    parse_columns,
    split_quarantine,
    validate_frame,
)
from tests.conftest import make_project

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CATALOG = load_catalog(SCHEMAS)
KEY = "test-pseudonym-key"
RULE_COLUMNS = {
    name: rule.get("column")
    for name, rule in yaml.safe_load((SCHEMAS / "rules.yaml").read_text(encoding="utf-8"))["rules"].items()
}
# Deliberately looser than privacy.py's patterns (no word boundaries): anything digit-shaped like a
# 주민등록번호 or a phone number must be gone from the failures frame.
LEAKS = re.compile(r"\d{6}\s*-?\s*[1-8]\d{6}|01[016789][-.\s]?\d{3,4}[-.\s]?\d{4}|02[-.\s)]?\d{3,4}[-.\s]?\d{4}")


def placement(**cells: str | None) -> dict[str, str | None]:
    row = {
        "person_key": "JS-0001",
        "birth_year": "1970",
        "employer_brn": "124-81-00998",
        "employer_name_ko": "영등포상사",
        "hire_date": "2019. 3. 4.",
        "subproject_name_ko": "중장년 일자리 창출",
        "channel_name_ko": "기업간담회",
        "event_id": None,
        "note_ko": None,
    }
    return row | cells


def cohort(**cells: str | None) -> dict[str, str | None]:
    row = {
        "cohort_id": "C-2019-01",
        "course_name_ko": "용접 기능사",
        "subproject_name_ko": "기업과 연계한 일자리 창출",
        "provider_name_ko": "영등포 직업학교",
        "sponsor_name_ko": None,
        "start_date": "2019. 3. 1.",
        "end_date": "2019. 6. 30.",
        "enrolled_count": "20",
        "completed_count": "18",
        "note_ko": None,
    }
    return row | cells


def fair(**cells: str | None) -> dict[str, str | None]:
    row = {
        "fair_id": "F-2019-01",
        "fair_name_ko": "중장년 채용박람회",
        "subproject_name_ko": "중장년 일자리",
        "fair_date": "'19. 5. 2.",
        "format_ko": "오프라인",
        "firm_count": "35",
        "participant_count": "1,233",
        "note_ko": None,
    }
    return row | cells


def delivery(dataset: str, rows: list[dict], source_file: str = "delivery.csv", first_row: int = 2) -> pl.DataFrame:
    """The text frame reading hands to validation: every descriptor column as text, plus where it came from."""
    names = [c.name for c in CATALOG.descriptors[dataset].columns]
    return pl.DataFrame(rows, schema={name: pl.String for name in names}).with_columns(
        pl.lit(source_file).alias("source_file"),
        pl.int_range(first_row, first_row + pl.len(), dtype=pl.Int64).alias("source_row"),
    )


def validate(dataset: str, rows: list[dict], **kwargs):
    return validate_frame(delivery(dataset, rows, **kwargs), CATALOG.descriptors[dataset], make_project(key=KEY))


def string_cells(frame: pl.DataFrame) -> list[str]:
    """Every non-null value of every string column."""
    return frame.select(pl.col(pl.String)).unpivot(value_name="cell")["cell"].drop_nulls().to_list()


def found(result) -> set[tuple[int, str | None, str]]:
    return set(result.failures.select("source_row", "column", "rule").iter_rows())


@pytest.mark.parametrize(
    ("dataset", "row"),
    [("placements", placement()), ("training_cohorts", cohort()), ("job_fairs", fair())],
)
def test_a_clean_row_is_valid_with_no_failures(dataset, row):
    result = validate(dataset, [row])
    assert result.failures.is_empty()
    assert result.valid.height == 1 and result.quarantined.is_empty()


def test_clean_cells_are_typed():
    typed = validate("job_fairs", [fair()]).valid.row(0, named=True)
    assert str(typed["fair_date"]) == "2019-05-02"
    assert typed["participant_count"] == 1233
    assert typed["subproject_id"] == "midcareer"


@pytest.mark.parametrize(
    ("cells", "column", "rule", "value"),
    [
        ({"hire_date": "2019. 2. 30."}, "hire_date", "parse_date", "2019. 2. 30."),
        ({"hire_date": "3월 4일"}, "hire_date", "parse_date", "3월 4일"),
        ({"birth_year": "19,70"}, "birth_year", "parse_number", "19,70"),
        ({"birth_year": "1970년"}, "birth_year", "parse_number", "1970년"),
        ({"subproject_name_ko": "청년 일자리"}, "subproject_id", "unknown_subproject", "청년 일자리"),
        ({"channel_name_ko": "우편 접수"}, "channel_id", "unknown_channel", "우편 접수"),
    ],
)
def test_a_cell_that_does_not_parse_is_one_failure_not_also_required(cells, column, rule, value):
    result = validate("placements", [placement(**cells)])
    assert found(result) == {(2, column, rule)}
    assert result.failures["value"].to_list() == [value]
    assert result.quarantined.height == 1 and result.valid.is_empty()


def test_parse_failures_in_cohort_counts_and_dates():
    result = validate("training_cohorts", [cohort(enrolled_count="2O", end_date="2019. 13. 1.")])
    assert found(result) == {(2, "enrolled_count", "parse_number"), (2, "end_date", "parse_date")}


@pytest.mark.parametrize(
    ("cells", "subproject_id", "channel_id"),
    [
        ({"subproject_name_ko": "날자! 중장년, 숫아라! 일자리"}, "midcareer", "company_meeting"),
        ({"subproject_name_ko": "기업연계  일자리창출", "channel_name_ko": "채용박람회"}, "corporate_linkage", "job_fair"),
        ({"subproject_name_ko": "midcareer", "channel_name_ko": "JOB아라"}, "midcareer", "job_ara"),
    ],
)
def test_catalog_spellings_resolve_to_ids(cells, subproject_id, channel_id):
    result = validate("placements", [placement(**cells)])
    assert result.failures.is_empty()
    assert result.valid.select("subproject_id", "channel_id").row(0) == (subproject_id, channel_id)


@pytest.mark.parametrize(
    ("cells", "column", "rule"),
    [
        ({"person_key": None}, "person_id", "required"),
        ({"hire_date": ""}, "hire_date", "required"),
        ({"birth_year": "-"}, "birth_year", "required"),
        ({"employer_brn": "124-81-00999"}, "employer_brn", "brn_check_digit"),
        ({"employer_brn": "１２４８１００９９８"}, "employer_brn", "brn_check_digit"),  # full-width digits
        ({"hire_date": "2018. 6. 30."}, "hire_date", "date_in_term"),
        ({"hire_date": "2022. 7. 1."}, "hire_date", "date_in_term"),
        ({"birth_year": "2015"}, "birth_year", "in_range"),
        ({"note_ko": "본인 연락처 010-1234-5678"}, "note_ko", "no_personal_number"),
        ({"note_ko": "주민번호 800101-1234567 확인"}, "note_ko", "no_personal_number"),
    ],
)
def test_pandera_rules_are_reported_against_their_column(cells, column, rule):
    result = validate("placements", [placement(**cells)])
    assert found(result) == {(2, column, rule)}
    assert result.quarantined.height == 1


@pytest.mark.parametrize("hire_date", ["2018. 7. 1.", "2022. 6. 30."])
def test_the_term_bounds_are_inside_the_term(hire_date):
    assert validate("placements", [placement(hire_date=hire_date)]).failures.is_empty()


@pytest.mark.parametrize(
    ("cells", "rule", "value"),
    [
        ({"enrolled_count": "20", "completed_count": "21"}, "completed_le_enrolled", "21"),
        ({"start_date": "2019. 6. 1.", "end_date": "2019. 5. 31."}, "start_le_end", "2019. 5. 31."),
    ],
)
def test_frame_level_rules_are_reported_against_the_rules_yaml_column(cells, rule, value):
    result = validate("training_cohorts", [cohort(**cells)])
    column = RULE_COLUMNS[rule]
    assert column is not None  # rules.yaml must name the cell a steward should look at
    assert found(result) == {(2, column, rule)}
    assert result.failures["value"].to_list() == [value]


def test_frame_level_rules_are_not_raised_by_an_unparsed_side():
    # completed_count did not parse: the comparison with enrolled_count is not a second failure
    result = validate("training_cohorts", [cohort(completed_count="열여덟")])
    assert found(result) == {(2, "completed_count", "parse_number")}


def test_every_row_ends_in_exactly_one_of_valid_or_quarantined():
    rows = [
        placement(),
        placement(hire_date="2019. 2. 30."),
        placement(person_key="JS-0002"),
        placement(birth_year="19,70", note_ko="010-9876-5432"),
        placement(subproject_name_ko=None, channel_name_ko="없는 경로"),
        placement(employer_name_ko="-"),
        placement(hire_date="2017. 1. 1."),
    ]
    result = validate("placements", rows)
    valid, held = set(result.valid["source_row"]), set(result.quarantined["source_row"])
    assert valid | held == set(range(2, 2 + len(rows)))
    assert not valid & held
    assert held == set(result.failures.filter(pl.col("severity") == "error")["source_row"])
    assert valid == {2, 4, 7}


def test_failures_have_the_failure_columns_and_sources():
    result = validate("placements", [placement(), placement(hire_date="x")], source_file="placements/2019.csv", first_row=5)
    assert list(result.failures.columns) == [*FAILURE_SCHEMA, "fingerprint", ROW]
    assert dict(result.failures.select(*FAILURE_SCHEMA).schema) == FAILURE_SCHEMA
    failure = result.failures.row(0, named=True)
    assert (failure["dataset"], failure["source_file"], failure["source_row"]) == ("placements", "placements/2019.csv", 6)
    assert failure["severity"] == "error"
    assert failure["record_key"].endswith("|?")  # the hire date did not parse


RESIDENT = "800101-1234567"
MOBILE = "010-1234-5678"


def test_no_personal_number_survives_anywhere_in_the_failures_frame():
    rows = [
        placement(note_ko=f"주민번호 {RESIDENT}, 연락처 {MOBILE}"),
        placement(note_ko="연락처01098765432입니다"),  # glued to Hangul, no space
        placement(birth_year=MOBILE),  # a phone number typed into a number cell
        placement(hire_date="8001011234567"),  # a resident number typed into a date cell
        placement(person_key=RESIDENT, employer_brn="1"),  # a resident number used as the person key
        placement(employer_name_ko=f"대표 {MOBILE}", event_id="02-123-4567", hire_date="2017. 1. 1."),
    ]
    failures = validate("placements", rows).failures
    assert failures.height >= len(rows)
    leaked = [cell for cell in string_cells(failures) if LEAKS.search(cell)]
    assert leaked == []
    values = failures["value"].to_list()
    assert "주민번호 ******-*******, 연락처 ***-****-****" in values
    assert "연락처***-****-****입니다" in values
    assert "******-*******" in values and "***-****-****" in values


def test_a_pseudonymised_column_echoes_the_pseudonym_not_the_raw_key():
    descriptor = CATALOG.descriptors["placements"]
    raw = delivery("placements", [placement(person_key="JS-RAW-KEY-77")]).with_row_index(ROW)
    typed, _ = parse_columns(raw, descriptor, CATALOG, KEY)
    cells = pl.DataFrame({ROW: [0], "column": ["person_id"], "rule": ["str_matches"]}, schema={ROW: pl.UInt32, "column": pl.String, "rule": pl.String})
    failure = describe_failures(cells, raw, typed, descriptor, make_project().rules).row(0, named=True)
    assert failure["value"] == typed["person_id"].item()
    assert failure["value"].startswith("p_")
    assert "JS-RAW-KEY-77" not in " ".join(str(v) for v in failure.values())


def test_the_raw_person_key_never_reaches_the_typed_frame_or_failures():
    result = validate("placements", [placement(person_key="JS-RAW-KEY-77", hire_date="x")])
    assert "person_key" not in result.quarantined.columns
    for frame in (result.quarantined, result.failures):
        assert not any("JS-RAW-KEY-77" in cell for cell in string_cells(frame))


@pytest.mark.parametrize(
    ("dataset", "row", "column", "label"),
    [
        ("placements", placement(hire_date="2019. 2. 30."), "hire_date", "채용일"),
        ("placements", placement(subproject_name_ko="청년"), "subproject_id", "세부사업"),
        ("placements", placement(channel_name_ko="우편"), "channel_id", "연계경로"),
        ("placements", placement(person_key=None), "person_id", "구직자 관리번호"),
        ("training_cohorts", cohort(completed_count="99"), "completed_count", "수료인원"),
        ("job_fairs", fair(participant_count="1,2345"), "participant_count", "참여인원"),
    ],
)
def test_messages_start_with_the_korean_header_label(dataset, row, column, label):
    failure = validate(dataset, [row]).failures.row(0, named=True)
    rules = yaml.safe_load((SCHEMAS / "rules.yaml").read_text(encoding="utf-8"))["rules"][failure["rule"]]
    assert failure["column"] == column
    assert failure["message_ko"] == f"[{label}] {rules['message_ko']}"
    assert failure["message_en"] == f"[{column}] {rules['message_en']}"


def test_fingerprints_follow_content_not_file_or_row_position():
    bad = placement(person_key="JS-0009", hire_date="2019. 2. 30.")
    first = validate("placements", [bad], source_file="placements/2019.csv").failures
    again = validate("placements", [placement(), placement(), bad], source_file="placements/2020_추가.csv", first_row=4).failures
    assert first["source_row"].item() == 2 and again["source_row"].item() == 6
    assert first["fingerprint"].item() == again["fingerprint"].item()


def test_fingerprints_differ_for_different_content_or_rule():
    prints = [
        validate("placements", [row]).failures["fingerprint"].item()
        for row in (
            placement(hire_date="2019. 2. 30."),
            placement(hire_date="2019. 2. 31."),  # another bad value
            placement(hire_date="2019. 2. 30.", employer_name_ko="다른상사"),  # same cell, another record
            placement(birth_year="19,70"),  # another rule
        )
    ]
    assert len(set(prints)) == len(prints)
    assert all(re.fullmatch(r"[0-9a-f]{16}", p) for p in prints)


def test_fingerprints_differ_between_rules_on_the_same_row():
    failures = validate("placements", [placement(birth_year="19,70", hire_date="2019. 2. 30.")]).failures
    assert failures.height == 2 and failures["fingerprint"].n_unique() == 2


@pytest.mark.parametrize("dash", ["-", "－", " - "])
def test_a_dash_in_a_text_cell_means_none(dash):
    result = validate("placements", [placement(employer_name_ko=dash, event_id=dash, note_ko=dash)])
    assert result.failures.is_empty()
    assert result.valid.select("employer_name_ko", "event_id", "note_ko").row(0) == (None, None, None)


def test_a_dash_in_a_required_text_cell_is_required():
    result = validate("job_fairs", [fair(fair_name_ko="-")])
    assert found(result) == {(2, "fair_name_ko", "required")}


def test_the_business_number_is_stored_without_hyphens():
    assert validate("placements", [placement(employer_brn=" 124-81-00998 ")]).valid["employer_brn"].item() == "1248100998"


def test_the_same_person_gets_the_same_pseudonym_and_the_key_matters():
    rows = [placement(person_key="JS-1"), placement(person_key=" JS-1 "), placement(person_key="JS-2")]
    ids = validate("placements", rows).valid["person_id"].to_list()
    assert ids[0] == ids[1] != ids[2]
    other = validate_frame(delivery("placements", rows[:1]), CATALOG.descriptors["placements"], make_project(key="another-key"))
    assert other.valid["person_id"].item() != ids[0]


def test_validation_is_deterministic():
    rows = [placement(), placement(hire_date="x", note_ko=MOBILE), placement(subproject_name_ko="?")]
    first, second = validate("placements", rows), validate("placements", rows)
    assert first.failures.equals(second.failures) and first.valid.equals(second.valid)


def test_warnings_are_reported_but_keep_the_row_valid():
    typed = pl.DataFrame({ROW: [0, 1, 2]}, schema={ROW: pl.UInt32})
    failures = pl.DataFrame({ROW: [0, 1, 1], "severity": ["warning", "warning", "error"]}, schema={ROW: pl.UInt32, "severity": pl.String})
    valid, held = split_quarantine(typed, failures)
    assert valid[ROW].to_list() == [0, 2] and held[ROW].to_list() == [1]


def test_personal_numbers_typed_into_any_column_leave_validation_masked(catalog):
    from pledgeflow.privacy import contains_personal_number

    raw = pl.DataFrame({"source_file": ["a.csv"], "source_row": [2], "person_key": ["K1"], "birth_year": ["1970"],
                        "employer_brn": ["010-1234-5678"], "employer_name_ko": ["가"], "hire_date": ["2019. 3. 2."],
                        "subproject_name_ko": ["홍길동 010-9876-5432"], "channel_name_ko": ["800101-1234567"],
                        "event_id": [None], "note_ko": ["+82-10-1111-2222"]})
    checked = validate_frame(raw, catalog.descriptors["placements"], make_project(key="k"))
    for frame in (checked.quarantined, checked.failures, checked.delivered):
        strings = frame.select(pl.col(pl.String))
        assert not any(strings.select(contains_personal_number(pl.col(c)).any() for c in strings.columns).row(0)), frame.columns
    assert checked.failures.filter(pl.col("rule") == "no_personal_number").height == 1  # the +82 number is caught


def test_valid_rows_keep_their_text_but_a_personal_number_in_an_unchecked_column_is_masked():
    rows = [placement(), placement(person_key="K2", employer_name_ko="(주)가나 010-2222-3333")]
    checked = validate("placements", rows)
    assert checked.valid.height == 2  # the employer name is not checked for personal numbers: both rows stay valid
    names = checked.valid.sort("source_row")["employer_name_ko"].to_list()
    assert names == [rows[0]["employer_name_ko"], "(주)가나 ***-****-****"]


@pytest.mark.parametrize(("dataset", "row"), [
    ("job_fairs", fair(fair_id="F 010-1234-5678", firm_count="x")),
    ("training_cohorts", cohort(cohort_id="C 800101-1234567", enrolled_count="x")),
])
def test_a_personal_number_in_a_record_id_is_masked_in_the_failures(dataset, row):
    from pledgeflow.privacy import contains_personal_number

    checked = validate(dataset, [row])
    assert checked.failures.height and checked.quarantined.height == 1
    keys = checked.failures["record_key"]
    assert not keys.to_frame().select(contains_personal_number(pl.col("record_key")).any()).item()
    assert keys.str.contains(r"\*\*\*").all()
