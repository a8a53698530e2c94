"""The lineage of the stewards' decisions: the curated `decisions` table, one row per decision.

`pledgeflow.steward.decisions` matches the ledger's rows to this run's records and applies them; this module
turns what became of each (matched, applied, stale, superseded, ...) into a row a steward can read,
with a message in Korean and English naming what to act on. Reasons and new values are masked.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.steward.decisions import OUTCOME_SCHEMA
from pledgeflow.steward.ledger import ACTIONS
from pledgeflow.privacy import mask_personal_numbers

def decision_lineage(contract: dict[str, pl.DataType], matched: pl.DataFrame, *outcomes: pl.DataFrame) -> pl.DataFrame:
    """The curated `decisions` table (its `contract`): one row per decision, its outcome and why.

    `matched` is `match_decisions`' result; `outcomes` are those of `apply_corrections` and
    `apply_waivers_and_exclusions` (a later one overrides an earlier one for the same decision).
    """
    results = pl.concat([pl.DataFrame(schema=OUTCOME_SCHEMA), *(o.select(list(OUTCOME_SCHEMA)) for o in outcomes)])
    results = results.unique("decision_id", keep="last", maintain_order=True).rename({"outcome": "result"})
    settled = matched.join(results, on="decision_id", how="left").with_columns(
        pl.when(pl.col("outcome") == "matched").then("result").otherwise("outcome").alias("outcome"))
    unsettled = settled.filter(pl.col("outcome").is_null())["decision_id"].to_list()
    if unsettled:
        raise ValueError(f"decisions matched but never applied (pipeline wiring): {', '.join(unsettled)}")
    at_record = pl.col("matched_source_file").is_not_null()
    masked = settled.with_columns(
        mask_personal_numbers(pl.col("new_value")).alias("new_value"), mask_personal_numbers(pl.col("reason")).alias("reason"),
        pl.when(at_record).then("matched_source_file").otherwise("source_file").alias("source_file"),
        pl.when(at_record).then("matched_source_row").otherwise("source_row").alias("source_row"),
    )
    return conform_invalid(
        masked.with_columns(*lineage_messages())
        .select(list(contract)).cast(contract)
        .sort("decision_id", "ledger_file", "ledger_row", nulls_last=True)
    )


# identifiers and enumerations: never free text, never masked (record ids are hex digests)
UNMASKED = ("decision_id", "record_id", "outcome", "dataset")


def conform_invalid(table: pl.DataFrame) -> pl.DataFrame:
    """The table as its contract accepts it, whatever a hand-edited ledger holds: an action the ledger does
    not know is null (the row is `invalid`, its message says what was written), an empty text is null, and
    every free text (결정자, 사유, new value, file names, messages) is masked like any delivered text."""
    text = [name for name, dtype in table.schema.items() if dtype == pl.String and name not in UNMASKED]
    return table.with_columns(
        *(mask_personal_numbers(pl.col(name)).alias(name) for name in text),
    ).with_columns(
        pl.when(pl.col("action").is_in(ACTIONS)).then("action").alias("action"),
        *(pl.when(pl.col(name).str.len_chars() > 0).then(pl.col(name)).alias(name)
          for name, dtype in table.schema.items() if dtype == pl.String and name not in ("action", "message_ko", "message_en")),
    )


def lineage_messages() -> tuple[pl.Expr, pl.Expr]:
    """message_ko, message_en for every outcome, naming what the steward needs to act on."""
    def text(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String).fill_null("-")

    outcome, action, detail = pl.col("outcome"), pl.col("action"), pl.col("detail")
    place_ko = pl.format("{} {}행", text("source_file"), text("source_row"))
    place_en = pl.format("{} row {}", text("source_file"), text("source_row"))
    cases = [
        (outcome == "invalid",
         pl.format("결정 대장 {} {}행에 문제가 있어 적용하지 않았습니다: {}", text("ledger_file"), text("ledger_row"), text("problem_ko")),
         pl.format("Ledger {} row {} has a problem, not applied: {}", text("ledger_file"), text("ledger_row"), text("problem_en"))),
        (outcome == "superseded",
         pl.format("같은 레코드에 대한 이후 결정 {}(으)로 대체되었습니다.", text("superseded_by")),
         pl.format("Superseded by the later decision {} on the same record.", text("superseded_by"))),
        (outcome == "expired",
         pl.format("면제가 만료되었습니다(만료일 {}). 레코드는 격리 상태로 남습니다.", text("expires_date")),
         pl.format("The waiver expired on {}; the record stays quarantined.", text("expires_date"))),
        (outcome == "stale_changed",
         pl.format("결정 이후 {} 레코드의 내용이 바뀌었습니다(레코드ID {} → {}). 적용하지 않았습니다. 다시 검토해 새로 결정하세요.",
                   place_ko, text("record_id"), text("current_record_id")),
         pl.format("The record at {} changed since the decision (record_id {} -> {}); not applied. Review it and decide again.",
                   place_en, text("record_id"), text("current_record_id"))),
        (outcome == "stale_no_match",
         pl.format("레코드ID {}인 레코드가 이번 실행에 없습니다(다시 제출되며 바뀌었거나 삭제됨). 적용하지 않았습니다.", text("record_id")),
         pl.format("No record with record_id {} in this run (re-delivered with other content, or removed); not applied.",
                   text("record_id"))),
        (outcome == "still_failing",
         pl.format("[{}] 값을 '{}'(으)로 고쳐 다시 검증했지만 여전히 실패합니다: {}", text("column"), text("new_value"), text("detail")),
         pl.format("{} set to '{}' and re-validated, but the record still fails: {}", text("column"), text("new_value"), text("detail"))),
        (action == "correct",
         pl.format("수정 적용: [{}] 값을 '{}'(으)로 고쳐 다시 검증했고 통과했습니다.", text("column"), text("new_value")),
         pl.format("Correction applied: {} set to '{}'; the re-validated record is valid.", text("column"), text("new_value"))),
        ((action == "waive") & (detail == "already_valid"),
         pl.lit("면제할 실패가 없습니다(이미 유효한 레코드)."), pl.lit("Nothing to waive: the record is already valid.")),
        (action == "waive",
         pl.format("면제 적용: 검증 실패가 있는 그대로 유효 레코드로 인정했습니다(만료일 {}).", text("expires_date")),
         pl.format("Waiver applied: the record is accepted as it is (expires {}).", text("expires_date"))),
    ]
    default_ko = pl.lit("제외 적용: 이 레코드를 지표 집계에서 제외했습니다.")
    default_en = pl.lit("Exclusion applied: the record is kept out of the indicators.")
    ko, en = pl.when(cases[0][0]).then(cases[0][1]), pl.when(cases[0][0]).then(cases[0][2])
    for condition, message_ko, message_en in cases[1:]:
        ko, en = ko.when(condition).then(message_ko), en.when(condition).then(message_en)
    return ko.otherwise(default_ko).alias("message_ko"), en.otherwise(default_en).alias("message_en")
