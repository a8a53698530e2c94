"""Tests for pseudonyms (against the standard library's HMAC) and the masking of personal numbers."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

from pledgeflow.privacy import (
    PHONE_MASK,
    RESIDENT_MASK,
    contains_personal_number,
    keyed_digest,
    mask_columns,
    mask_personal_numbers,
    mask_text,
    pseudonymise,
)

KEY = "district-secret"


def stdlib_pseudonym(value: str, key: str = KEY) -> str:
    return "p_" + hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:20]


def apply(expr_fn, values: list[str | None]) -> list:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr_fn(pl.col("v")).alias("out"))["out"].to_list()


def test_pseudonymise_equals_stdlib_hmac_sha256():
    values = ["JS-0001", "구직자-홍길동-42", "800101-1234567", "a" * 200, " "]
    assert apply(lambda e: pseudonymise(e, KEY), values) == [stdlib_pseudonym(v) for v in values]


def test_keyed_digest_is_the_full_hmac_hex():
    assert apply(lambda e: keyed_digest(e, KEY), ["x"]) == [hmac.new(KEY.encode(), b"x", hashlib.sha256).hexdigest()]


def test_null_stays_null_and_empty_is_not_null():
    assert apply(lambda e: pseudonymise(e, KEY), [None, ""]) == [None, stdlib_pseudonym("")]


def test_different_keys_give_different_pseudonyms():
    one = apply(lambda e: pseudonymise(e, KEY), ["JS-0001", "JS-0002"])
    two = apply(lambda e: pseudonymise(e, "another-key"), ["JS-0001", "JS-0002"])
    assert one[0] != two[0] and one[1] != two[1]
    assert one[0] != one[1]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("800101-1234567", RESIDENT_MASK),
        ("8001012234567", RESIDENT_MASK),
        ("800101 - 4234567", RESIDENT_MASK),
        ("주민번호: 800101-1234567 확인", f"주민번호: {RESIDENT_MASK} 확인"),
        ("010-1234-5678", PHONE_MASK),
        ("01012345678", PHONE_MASK),
        ("010 1234 5678", PHONE_MASK),
        ("016-123-4567", PHONE_MASK),
        ("02-123-4567", PHONE_MASK),
        ("02-1234-5678", PHONE_MASK),
        ("031-123-4567", PHONE_MASK),
        ("연락처 010-1234-5678 / 02-987-6543", f"연락처 {PHONE_MASK} / {PHONE_MASK}"),
        # glued to Hangul with no space: Hangul syllables are word characters for a Unicode \b
        ("주민번호800101-1234567", f"주민번호{RESIDENT_MASK}"),
        ("연락처01012345678입니다", f"연락처{PHONE_MASK}입니다"),
        ("8001011234567번", f"{RESIDENT_MASK}번"),
    ],
)
def test_personal_numbers_are_masked(text, masked):
    assert apply(mask_personal_numbers, [text]) == [masked]
    assert apply(contains_personal_number, [text]) == [True]


@pytest.mark.parametrize(
    "text",
    [
        "1248100998",  # 사업자등록번호, 10 digits
        "124-81-00998",
        "2019-03-04",
        "20190304",
        "2019. 3. 4.",
        "'19. 11. 2.",
        "1,233명",
        "C-2019-01",
        "80010112345678901",  # a longer run of digits is not a resident number
    ],
)
def test_business_numbers_dates_and_counts_are_not_masked(text):
    assert apply(mask_personal_numbers, [text]) == [text]
    assert apply(contains_personal_number, [text]) == [False]


def test_masking_keeps_nulls_and_contains_is_false_for_null():
    assert apply(mask_personal_numbers, [None]) == [None]
    assert apply(contains_personal_number, [None]) == [False]


def test_masking_runs_no_python_inside_polars():
    # a Python callback that ran a polars query inside polars' thread pool deadlocked the 10M nightly run
    # (masking in the review pack's thread while the audit converted a table with to_pandas)
    assert "python_udf" not in str(mask_personal_numbers(pl.col("v")))


MIXED = ["상담 후 채용", None, "연락처 010-1234-5678", "", "주민 800101-1234567 / 02-123-4567", "비고 없음",
         "８５０１１５－２３４５６７８", "사업자 123-45-67890"]
MIXED_MASKED = ["상담 후 채용", None, f"연락처 {PHONE_MASK}", "", f"주민 {RESIDENT_MASK} / {PHONE_MASK}", "비고 없음",
                RESIDENT_MASK, "사업자 123-45-67890"]


@pytest.mark.parametrize("engine", ["in-memory", "streaming"])
def test_masking_puts_each_masked_cell_back_in_its_row_in_every_engine(engine):
    frame = pl.LazyFrame({"v": MIXED * 3}, schema={"v": pl.String})
    assert frame.select(mask_personal_numbers(pl.col("v"))).collect(engine=engine)["v"].to_list() == MIXED_MASKED * 3
    assert apply(mask_personal_numbers, MIXED) == MIXED_MASKED  # eager too
    grouped = pl.DataFrame({"g": [1, 2] * 4, "v": MIXED}).group_by("g", maintain_order=True).agg(mask_personal_numbers(pl.col("v")))
    assert grouped["v"].to_list() == [MIXED_MASKED[0::2], MIXED_MASKED[1::2]]


def test_mask_columns_masks_the_chosen_columns_only():
    frame = pl.DataFrame({"a": MIXED, "b": MIXED, "n": range(len(MIXED))})
    masked = mask_columns(frame, pl.col("a"))
    assert masked["a"].to_list() == MIXED_MASKED
    assert masked.drop("a").equals(frame.drop("a"))
    assert mask_columns(frame, pl.col([])).equals(frame)


def test_mask_text_masks_one_string():
    line = "placements/2020.csv: 비고 '주민 800101-1234567, 010-1234-5678'"
    assert mask_text(line) == f"placements/2020.csv: 비고 '주민 {RESIDENT_MASK}, {PHONE_MASK}'"
    assert mask_text("no numbers here") == "no numbers here"
    assert mask_text("") == ""


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # full-width digits and hyphen (Excel and Korean IMEs type them): detected after NFKC
        ("850115－2345678", RESIDENT_MASK),
        ("８５０１１５－２３４５６７８", RESIDENT_MASK),
        ("０１０－１２３４－５６７８", PHONE_MASK),
        # glued to an underscore, as in a delivery's file name: "_" is a word character for ASCII \b
        ("홍길동_850115-2345678.csv", f"홍길동_{RESIDENT_MASK}.csv"),
        ("placements/홍길동_01012345678_2020.csv", f"placements/홍길동_{PHONE_MASK}_2020.csv"),
        # the minus sign and a Unicode hyphen as separators
        ("850115\u22122345678", RESIDENT_MASK),
        ("850115\u20102345678", RESIDENT_MASK),
        # two numbers sharing one separator character
        ("800101-1234567,800101-2234567", f"{RESIDENT_MASK},{RESIDENT_MASK}"),
        ("+82 10-1234-5678", PHONE_MASK),
    ],
)
def test_full_width_and_underscore_glued_numbers_are_masked(text, masked):
    assert apply(mask_personal_numbers, [text]) == [masked]
    assert apply(contains_personal_number, [text]) == [True]
    assert mask_text(text) == masked


def test_text_without_numbers_keeps_its_full_width_characters():
    assert apply(mask_personal_numbers, ["（주）한국　１２３"]) == ["（주）한국　１２３"]


def test_a_log_record_is_masked_with_its_arguments_and_left_alone_without_digits():
    import logging

    from pledgeflow.privacy import mask_log_record

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "file %s has %d rows", ("홍길동_900101-1234567.csv", 3), None)
    masked = mask_log_record(record)
    assert masked.getMessage() == f"file 홍길동_{RESIDENT_MASK}.csv has 3 rows" and masked.args is None
    plain = logging.LogRecord("t", logging.INFO, __file__, 1, "read %s", ("a.csv",), None)
    assert mask_log_record(plain).args == ("a.csv",)  # nothing to mask: the record is not rewritten


def test_log_masking_covers_every_logger_of_the_process_once(caplog):
    import logging

    from pledgeflow.privacy import install_log_masking

    original = logging.getLogRecordFactory()
    try:
        install_log_masking()
        installed = logging.getLogRecordFactory()
        install_log_masking()  # a second install wraps nothing again
        assert logging.getLogRecordFactory() is installed is not original
        with caplog.at_level(logging.INFO, logger="pledgeflow.masking_test"):
            logging.getLogger("pledgeflow.masking_test").info("call %s", "010-1234-5678")
        assert caplog.records[-1].getMessage() == f"call {PHONE_MASK}"
        assert "010-1234-5678" not in caplog.text
        made = installed("n", logging.INFO, __file__, 1, "no digits", (), None, func="read_delivery", sinfo="stack")
        assert (made.funcName, made.stack_info) == ("read_delivery", "stack")  # a factory's keywords reach the record
    finally:
        logging.setLogRecordFactory(original)
