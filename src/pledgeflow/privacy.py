"""Personal data handling: keyed pseudonyms and masking of personal numbers.

Person identifiers are replaced by an HMAC-SHA256 pseudonym at ingestion (the
key lives in Settings, never in data). Free text and every echoed value pass
through `mask_personal_numbers`, so a 주민등록번호 or phone number typed into
the wrong cell never reaches a failure report, an export or a log.
"""

from __future__ import annotations

import polars as pl
import polars_hash as plh

# Word boundaries are ASCII-only (?-u:\b): with Unicode \b a number glued to Hangul ("주민번호800101-1234567",
# "연락처01012345678입니다") has no boundary, because Hangul syllables are word characters, and would slip through.
_EDGE = r"(?-u:\b)"
# 주민등록번호: 6-digit birth date, optional separator, gender/century digit 1-8 and 6 more digits.
RESIDENT_NUMBER = _EDGE + r"\d{6}\s*[-–]?\s*[1-8]\d{6}" + _EDGE
# Korean phone numbers: mobile 010/011/016-019, Seoul 02, regional 0xx, with or without separators,
# domestic (0…) or international (+82 …, the leading 0 dropped).
PHONE_NUMBER = r"(?:" + _EDGE + r"0|\+82[-.\s]?)(?:1[016789]|2|[3-6]\d|70)[-.\s)]?\d{3,4}[-.\s]?\d{4}" + _EDGE
RESIDENT_MASK = "******-*******"
PHONE_MASK = "***-****-****"
PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX_CHARS = 20  # 80 bits: no collision in any district's lifetime of records


def pseudonymise(expr: pl.Expr, key: str) -> pl.Expr:
    """Keyed pseudonym of an identifier; null stays null. Same key + same value -> same pseudonym."""
    hashed = keyed_digest(expr, key).str.slice(0, PSEUDONYM_HEX_CHARS)
    return pl.when(expr.is_null()).then(None).otherwise(pl.lit(PSEUDONYM_PREFIX) + hashed)


def keyed_digest(expr: pl.Expr, key: str) -> pl.Expr:
    """HMAC-SHA256 hex digest of a text expression (polars-hash plugin: vectorised, stdlib-identical)."""
    return plh.CryptographicHashingNameSpace(expr.cast(pl.String)).hmac_sha256(key=key)


def contains_personal_number(expr: pl.Expr) -> pl.Expr:
    """True where text holds something that looks like a 주민등록번호 or a phone number."""
    text = expr.cast(pl.String)
    return (text.str.contains(RESIDENT_NUMBER) | text.str.contains(PHONE_NUMBER)).fill_null(False)


def mask_personal_numbers(expr: pl.Expr) -> pl.Expr:
    """Replace anything that looks like a 주민등록번호 or phone number by a fixed mask."""
    return (
        expr.cast(pl.String)
        .str.replace_all(RESIDENT_NUMBER, RESIDENT_MASK)
        .str.replace_all(PHONE_NUMBER, PHONE_MASK)
    )


def mask_text(text: str) -> str:
    """The same masking for one string (log lines and error messages, not data)."""
    return pl.select(mask_personal_numbers(pl.lit(text, dtype=pl.String))).item() or ""
