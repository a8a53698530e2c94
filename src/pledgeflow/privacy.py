"""Personal data handling: keyed pseudonyms and masking of personal numbers.

Person identifiers are replaced by an HMAC-SHA256 pseudonym at ingestion (the
key lives in Settings, never in data). Free text and every echoed value pass
through `mask_personal_numbers`, so a 주민등록번호 or phone number typed into
the wrong cell never reaches a failure report, an export or a log.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cache

import polars as pl
import polars_hash as plh

# Detection runs on the NFKC form of the text, so full-width digits and hyphens ("８５０１１５－２３４５６７８")
# are caught like ASCII ones. A number's edges are "not a Latin letter or digit": a number glued to Hangul
# ("주민번호800101-1234567") or to an underscore in a file name ("홍길동_850115-2345678.csv") is still found
# (Unicode \b sees no edge after Hangul, ASCII \b none after "_"), while a longer run of digits is not.
# The regex engine has no look-around, so the edge characters are captured and put back (`${pre}`, `${post}`).
_PRE = r"(?P<pre>^|[^0-9A-Za-z])"
_POST = r"(?P<post>[^0-9A-Za-z]|$)"
# hyphen, en dash, Unicode hyphens and the minus sign (NFKC folds the full-width hyphen to "-", not these)
_DASH = "[-\u2010\u2011\u2012\u2013\u2014\u2212]"
# 주민등록번호: 6-digit birth date, optional separator, gender/century digit 1-8 and 6 more digits.
RESIDENT_NUMBER = _PRE + r"[0-9]{6}\s*" + _DASH + r"?\s*[1-8][0-9]{6}" + _POST
# Korean phone numbers: mobile 010/011/016-019, Seoul 02, regional 0xx, with or without separators,
# domestic (0…) or international (+82 …, the leading 0 dropped).
PHONE_NUMBER = (
    r"(?:" + _PRE + r"0|(?P<plus>)\+82[-.\s]?)(?:1[016789]|2|[3-6][0-9]|70)[-.\s)]?[0-9]{3,4}[-.\s]?[0-9]{4}" + _POST
)
# one scan for either kind (the names of the edge groups may not repeat in one pattern)
ANY_NUMBER = "(?:" + RESIDENT_NUMBER.replace("?P<pre>", "?P<rpre>").replace("?P<post>", "?P<rpost>") + ")|(?:" + PHONE_NUMBER + ")"
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


@cache
def compatibility_forms() -> dict[str, str]:
    """Every character whose NFKC form is made only of what a personal number is written with (digits,
    hyphens, spaces, "+().") -> that form: full-width digits and hyphen, circled and superscript digits, the
    ideographic space. Applying this table is NFKC as far as detection can tell, at a fraction of its cost."""
    allowed = set("0123456789-+(). ")
    table = {}
    for code in range(0x80, 0x20000):
        char = chr(code)
        form = unicodedata.normalize("NFKC", char)
        if form != char and form and set(form) <= allowed:
            table[char] = form
    return table


def normalised(expr: pl.Expr) -> pl.Expr:
    """The NFKC form detection looks at (full-width digits and hyphens become ASCII)."""
    return expr.cast(pl.String).str.replace_many(compatibility_forms())


def contains_personal_number(expr: pl.Expr) -> pl.Expr:
    """True where text holds something that looks like a 주민등록번호 or a phone number."""
    return normalised(expr).str.contains(ANY_NUMBER).fill_null(False)


def mask_personal_numbers(expr: pl.Expr) -> pl.Expr:
    """Replace anything that looks like a 주민등록번호 or phone number by a fixed mask.

    Text holding no such number comes back unchanged; text holding one comes back masked in its NFKC form.
    A plain expression, no Python callback: a callback that runs a polars query of its own inside polars'
    thread pool deadlocked the nightly run at 10M rows while another thread converted a frame for the audit.
    The replacements run on the cells that hold a number only (filtered, then gathered back into place); run
    it in a lazy query so that the detection is computed once (an eager `select` computes it per use).
    """
    text = expr.cast(pl.String)
    norm = normalised(text)
    hits = norm.str.contains(ANY_NUMBER).fill_null(False)
    position = pl.when(hits).then(hits.cast(pl.UInt32).cum_sum() - 1)
    return pl.when(hits).then(mask_found(norm.filter(hits)).gather(position)).otherwise(text)


def mask_columns(frame: pl.DataFrame, columns: pl.Expr) -> pl.DataFrame:
    """The frame with personal numbers masked in these columns (names kept), as one lazy in-memory query:
    the detection is computed once per column, not once per use as in an eager `with_columns`."""
    masked = frame.lazy().with_columns(mask_personal_numbers(columns).name.keep())
    return masked.collect(engine="in-memory")


def mask_found(text: pl.Expr) -> pl.Expr:
    # two passes: a number sharing its edge character with the previous match is caught by the second
    for _ in range(2):
        text = (text.str.replace_all(RESIDENT_NUMBER, "${pre}" + RESIDENT_MASK + "${post}")
                .str.replace_all(PHONE_NUMBER, "${pre}${plus}" + PHONE_MASK + "${post}"))
    return text


def mask_text(text: str) -> str:
    """The same masking for one string (log lines and error messages, not data)."""
    return pl.select(mask_personal_numbers(pl.lit(text, dtype=pl.String))).item() or ""


_DIGITS = re.compile(r"[0-9\uff10-\uff19]{3}")


def mask_log_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message masked (file names, headers and values a log line echoes)."""
    message = record.getMessage()
    if _DIGITS.search(message):  # no three digits in a row: nothing to mask, no polars call
        record.msg, record.args = mask_text(message), None
    return record


def install_log_masking() -> None:
    """Mask every log record of this process when it is made: Prefect's handlers (console, API database,
    artifacts' logs) and ours only ever see masked lines. Installing twice is harmless."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_personal_numbers", False):
        return

    def masked_factory(*args, **kwargs):
        return mask_log_record(factory(*args, **kwargs))

    masked_factory.masks_personal_numbers = True
    logging.setLogRecordFactory(masked_factory)
