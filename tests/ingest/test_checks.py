"""Tests for the custom pandera checks, above all the 사업자등록번호 check digit.

The oracle is a plain-Python statement of the National Tax Service rule written from its usual
description (python-stdnum's kr.brn only checks the format, not the check digit).
"""

from __future__ import annotations

import datetime as dt
import random

import pandera.polars as pa
import polars as pl
import pytest
from pandera.errors import SchemaErrors

from pledgeflow.ingest.checks import brn_is_valid, register_checks

# Published numbers of well-known companies: Samsung Electronics, NAVER, Kakao, LG Electronics, Hyundai Motor.
REAL_BRNS = ["1248100998", "2208162517", "1208147521", "1078614075", "1018109147"]


def nts_check_digit_ok(number: str) -> bool:
    """NTS rule: weights 1,3,7,1,3,7,1,3 on digits 1-8; digit 9 times 5 adds both its tens and its
    units; the 10th digit brings the sum to a multiple of 10."""
    if len(number) != 10 or not all("0" <= ch <= "9" for ch in number):
        return False
    digits = [int(ch) for ch in number]
    total = sum(d * w for d, w in zip(digits[:8], (1, 3, 7, 1, 3, 7, 1, 3)))
    tens, units = divmod(digits[8] * 5, 10)
    total += tens + units
    return (10 - total % 10) % 10 == digits[9]


def brn_results(numbers: list[str | None]) -> list[bool | None]:
    return pl.DataFrame({"brn": numbers}, schema={"brn": pl.String}).select(brn_is_valid(pl.col("brn")))["brn"].to_list()


def generated_numbers(prefixes: int = 40) -> list[str]:
    """Every possible last digit after random 9-digit prefixes: 400 numbers, exactly one valid per prefix."""
    rng = random.Random(20180701)
    stems = [f"{rng.randrange(10**9):09d}" for _ in range(prefixes)] + ["000000000", "999999999", "123456789"]
    return [stem + str(last) for stem in stems for last in range(10)]


def test_brn_is_valid_agrees_with_the_nts_rule_on_generated_numbers():
    numbers = generated_numbers()
    expected = [nts_check_digit_ok(n) for n in numbers]
    assert brn_results(numbers) == expected
    assert sum(expected) == len(numbers) // 10  # one check digit per prefix: the oracle is not trivially False


def test_the_ninth_digit_carry_matters():
    # digit 9 = 2..9 gives a tens carry (2*5=10 ...); the numbers below differ from a naive weighted sum
    carried = [n for n in generated_numbers() if int(n[8]) >= 2 and nts_check_digit_ok(n)]
    assert carried and all(brn_results(carried))


@pytest.mark.parametrize("number", REAL_BRNS)
def test_real_business_numbers_are_valid(number):
    assert brn_results([number]) == [True]


@pytest.mark.parametrize("number", REAL_BRNS)
def test_a_changed_check_digit_is_invalid(number):
    wrong = [number[:9] + str(d) for d in range(10) if str(d) != number[9]]
    assert brn_results(wrong) == [False] * 9


@pytest.mark.parametrize(
    "text",
    ["124-81-00998", "124810099", "12481009980", "12481OO998", "", " 1248100998", "１２４８１００９９８"],
)
def test_anything_but_ten_ascii_digits_is_invalid(text):
    # False, not null: pandera counts a null check result as a pass
    assert brn_results([text]) == [False]


def test_a_missing_number_is_left_to_the_required_rule():
    assert brn_results([None]) != [True]


def checked(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> set[tuple[str | None, int | None]]:
    """(check, row index) of every failure."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        return set(zip(cases["check"].str.extract(r"^(\w+)", 1).to_list(), cases["index"].to_list()))
    return set()


def test_register_checks_is_idempotent_and_exposes_the_checks():
    register_checks()
    register_checks()
    for name in ("brn_check_digit", "date_in_term", "no_personal_number", "completed_le_enrolled", "start_le_end"):
        assert hasattr(pa.Check, name)


def test_date_in_term_includes_both_ends():
    register_checks()
    schema = pa.DataFrameSchema({"d": pa.Column(pl.Date, pa.Check.date_in_term(start="2018-07-01", end="2022-06-30"))})
    days = [dt.date(2018, 6, 30), dt.date(2018, 7, 1), dt.date(2022, 6, 30), dt.date(2022, 7, 1)]
    assert checked(pl.DataFrame({"d": days}), schema) == {("date_in_term", 0), ("date_in_term", 3)}


def test_no_personal_number_flags_free_text():
    register_checks()
    schema = pa.DataFrameSchema({"note": pa.Column(pl.String, pa.Check.no_personal_number(), nullable=True)})
    notes = ["재취업 희망", "연락 010-2345-6789", None, "주민 8001012345678", "사업자 124-81-00998"]
    assert checked(pl.DataFrame({"note": notes}), schema) == {("no_personal_number", 1), ("no_personal_number", 3)}


def test_frame_checks_compare_counts_and_dates_and_ignore_nulls():
    register_checks()
    schema = pa.DataFrameSchema(
        {
            "enrolled_count": pa.Column(pl.Int64, nullable=True),
            "completed_count": pa.Column(pl.Int64, nullable=True),
            "start_date": pa.Column(pl.Date, nullable=True),
            "end_date": pa.Column(pl.Date, nullable=True),
        },
        checks=[pa.Check.completed_le_enrolled(), pa.Check.start_le_end()],
    )
    d = dt.date
    frame = pl.DataFrame(
        {
            "enrolled_count": [20, 20, None, 20],
            "completed_count": [20, 21, 5, 0],
            "start_date": [d(2019, 3, 1), d(2019, 3, 1), None, d(2019, 3, 2)],
            "end_date": [d(2019, 3, 1), d(2019, 6, 1), d(2019, 6, 1), d(2019, 3, 1)],
        }
    )
    assert checked(frame, schema) == {("completed_le_enrolled", 1), ("start_le_end", 3)}
