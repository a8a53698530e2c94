"""The card's self-checks: its own arithmetic, its own print, its own consistency (no records involved).

Every check is a row of the curated `reconciliation` contract — agreements too (status `match`), so a
dashboard sees what was checked. `expected` is what the parts add up to, `observed` is the figure the
card prints and `observed_text` keeps it verbatim; nothing on the card is corrected.
Statuses: `mismatch` = two figures disagree (or the card contradicts itself); `malformed` = a figure
is printed badly or a mark is unreadable; `not_reported` = a figure a check needs is "-" on the card
(e.g. a result for a period without a target).
The helpers every reconciliation shares (`finish`, `fmt`, `said`, `period_cells`, `compare_rates`, the
statuses) live here; `pledgeflow.card.reconcile` uses them for the records-vs-report checks.
Messages are polars string expressions over the rows, in Korean and in English.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.catalog import Catalog
from pledgeflow.contracts import conform
from pledgeflow.card.register import Report

MATCH, MISMATCH, NOT_REPORTED, MALFORMED = "match", "mismatch", "not_reported", "malformed"
OK_KO = {MATCH: "일치", MISMATCH: "불일치 (카드 표기 그대로 보존)"}
OK_EN = {MATCH: "match", MISMATCH: "mismatch (the card is kept as printed)"}


# What the figures of each rule measure (the `value_kind` column): counts also get Int64 *_count columns.
VALUE_KINDS = {
    **dict.fromkeys(["course_completed", "cumulative_actual", "fair_firms", "fair_participants", "figure_has_records",
                     "hired_from_placements", "period_actual", "census_industries_sum", "course_years_sum",
                     "result_periods_sum", "target_periods_sum", "attribute_single_choice", "result_has_target"], "count"),
    **dict.fromkeys(["budget_periods_sum", "budget_sources_sum", "budget_subprojects_sum"], "amount_million_krw"),
    **dict.fromkeys(["rate_from_records", "rate_actual_over_target"], "rate_pct"),
    "fair_found": "presence",
}
OTHER_KIND = "number"  # a figure as read (e.g. a malformed one), or no figure at all


def value_kind() -> pl.Expr:
    return pl.col("rule").replace_strict(VALUE_KINDS, default=OTHER_KIND, return_dtype=pl.String)


def as_count(column: str) -> pl.Expr:
    """`column` as an Int64 count where the row's figures are counts (whole by construction), else null."""
    value = pl.col(column)
    return pl.when((pl.col("value_kind") == "count") & (value.round(0) == value)).then(value.cast(pl.Int64))


def fmt(expr: pl.Expr) -> pl.Expr:
    """A number as the messages print it: integers without '.0', '-' for none."""
    whole = expr.round(0) == expr
    text = pl.when(whole).then(expr.cast(pl.Int64).cast(pl.String)).otherwise(expr.round(2).cast(pl.String))
    return pl.when(expr.is_null()).then(pl.lit("-")).otherwise(text)


def said(status: pl.Expr, words: dict[str, str]) -> pl.Expr:
    return status.replace_strict(words, default="", return_dtype=pl.String)


def finish(frame: pl.DataFrame, kind: str, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Conform to the contract with a stable, unique check_id = kind/rule/subject/period."""
    base = pl.concat_str([pl.lit(kind), "rule", "subject", pl.col("period").fill_null("-")], separator="/")
    out = conform(frame, contract).with_columns(
        pl.lit(kind).alias("kind"), base.alias("check_id"),
        (pl.col("observed").cast(pl.Float64) - pl.col("expected").cast(pl.Float64)).alias("difference"),
        value_kind().alias("value_kind"),
    ).with_columns(as_count("expected").alias("expected_count"), as_count("observed").alias("observed_count"),
                   as_count("difference").alias("difference_count"),
    ).sort("check_id", "source_ref", nulls_last=True)
    # Two checks can share a subject (two fairs on one day): number the repeats, in sorted order.
    repeat = pl.int_range(pl.len()).over("check_id")
    out = out.with_columns(pl.when(repeat > 0).then(pl.format("{}#{}", "check_id", repeat + 1)).otherwise("check_id").alias("check_id"))
    return conform(out, contract).sort("check_id")


def compare_sum(parts: pl.DataFrame, totals: pl.DataFrame, keys: list[str], rule: str, what_ko: str, what_en: str) -> pl.DataFrame:
    """Each printed total against the sum of its printed parts ('-' counts as 0)."""
    sums = parts.sort("source_row").group_by(keys, maintain_order=True).agg(
        pl.col("value").fill_null(0).sum().cast(pl.Float64).alias("expected"),
        pl.col("text").fill_null("-").str.join("+").alias("parts_text"),
    )
    rows = totals.join(sums, on=keys, how="inner").with_columns(pl.col("value").cast(pl.Float64).alias("observed"))
    status = pl.when(pl.col("observed").fill_null(0) == pl.col("expected")).then(pl.lit(MATCH)).otherwise(pl.lit(MISMATCH))
    return rows.with_columns(status.alias("status"), pl.lit(rule).alias("rule")).with_columns(
        pl.format("{} [{}]: 인쇄된 합계 {}, 항목별 합 {} = {} — {}", pl.lit(what_ko), "where", pl.col("text").fill_null("-"),
                  "parts_text", fmt(pl.col("expected")), said(pl.col("status"), OK_KO)).alias("message_ko"),
        pl.format("{} [{}]: printed total {}, sum of printed parts {} = {} — {}", pl.lit(what_en), "where", pl.col("text").fill_null("-"),
                  "parts_text", fmt(pl.col("expected")), said(pl.col("status"), OK_EN)).alias("message_en"),
        pl.col("text").alias("observed_text"),
    )


def budget_cells(report: Report) -> pl.DataFrame:
    return report.budget.with_columns(
        pl.coalesce("subproject_id", "subproject_text").alias("sp"),
        pl.coalesce("funding_source", "funding_source_text").alias("src"),
        pl.coalesce("period", "period_text").alias("period"),
        pl.col("amount_million_krw").alias("value"), pl.col("amount_text").alias("text"),
    ).with_columns(
        pl.format("budget/{}/{}", "sp", "src").alias("subject"),
        pl.format("{} / {} / {}", "subproject_text", "funding_source_text", "period_text").alias("where"),
    )


def check_budget_arithmetic(report: Report) -> list[pl.DataFrame]:
    cells = budget_cells(report)
    grand = cells.filter((pl.col("sp") == "total") & (pl.col("src") == "total"))
    sources = cells.filter((pl.col("sp") == "total") & pl.col("src").is_in(["district", "city", "national"]))
    subprojects = cells.filter((pl.col("sp") != "total") & (pl.col("src") == "total"))
    return [
        compare_sum(sources, grand, ["period"], "budget_sources_sum", "소요예산액 계 = 구비+시비+국비", "Budget total = district+city+national"),
        compare_sum(cells.filter(pl.col("period") != "total"), cells.filter(pl.col("period") == "total"), ["sp", "src"],
                    "budget_periods_sum", "소요예산액 계 열 = 기간별 합", "Budget total column = sum of periods"),
        compare_sum(subprojects, grand, ["period"], "budget_subprojects_sum", "소요예산액 계 = 세부사업 합", "Budget total = sum of sub-projects"),
    ]


def period_cells(frame: pl.DataFrame, value: str, text: str, table: str) -> pl.DataFrame:
    """A card table's figures keyed by `sp`: the sub-project, and its indicator when the sub-project has several
    (a card with a 지표 column sums and rates each indicator on its own)."""
    sub = pl.coalesce("subproject_id", "subproject_text")
    several = pl.col("indicator_id").drop_nulls().n_unique().over(sub) > 1 if "indicator_id" in frame.columns else pl.lit(False)
    key = pl.when(several & pl.col("indicator_id").is_not_null()).then(pl.format("{}/{}", sub, "indicator_id")).otherwise(sub) \
        if "indicator_id" in frame.columns else sub
    return frame.with_columns(
        key.alias("sp"), pl.coalesce("period", "period_text").alias("period"),
        pl.col(value).alias("value"), pl.col(text).alias("text"),
    ).with_columns(pl.format(f"{table}/{{}}", "sp").alias("subject"),
                   pl.format("{} / {}", "subproject_text", "period_text").alias("where"))


def compare_rates(report: Report, numerators: pl.DataFrame, rule: str, subject: pl.Expr, num_ko: str, num_en: str) -> pl.DataFrame:
    """Printed 이행률 against numerator ÷ printed 목표 total × 100, rounded half up to the precision the rate is printed with.

    `numerators`: sp, num, num_text — the card's printed 실적 total, or the records' cumulative count.
    """
    rates = period_cells(report.results.filter(pl.col("measure") == "rate"), "rate_pct", "value_text", "results")
    target = period_cells(report.targets, "target", "target_text", "targets").filter(pl.col("period") == "total").select(
        "sp", pl.col("value").alias("den"), pl.col("text").alias("den_text"))
    decimals = pl.col("text").str.extract(r"\.(\d+)\s*%$").str.len_chars().fill_null(0)
    scale = pl.lit(10.0).pow(decimals)
    rows = (
        rates.join(numerators, on="sp", how="left").join(target, on="sp", how="left")
        .with_columns((pl.col("num") / pl.col("den") * 100).alias("exact"), pl.lit(rule).alias("rule"), subject.alias("subject"),
                      pl.col("value").alias("observed"), pl.col("text").alias("observed_text"))
        .with_columns(((pl.col("exact") * scale + 0.5).floor() / scale).alias("expected"))
        .with_columns(rate_status().alias("status"))
    )
    parts = [pl.col("num_text").fill_null("-"), pl.col("den_text").fill_null("-"), fmt(pl.col("exact")), decimals, fmt(pl.col("expected"))]
    return rows.with_columns(
        pl.format(f"이행률 [{{}}]: 카드 {{}} / {num_ko} {{}} ÷ 목표 {{}} × 100 = {{}} → 인쇄 자릿수(소수 {{}}자리)로 반올림 {{}} — {{}}", "where", "text",
                  *parts, said(pl.col("status"), OK_KO | {NOT_REPORTED: "계산하거나 비교할 값이 없음"})).alias("message_ko"),
        pl.format(f"Rate [{{}}]: card {{}} / {num_en} {{}} ÷ target {{}} × 100 = {{}} → rounded to the printed precision ({{}} decimals) {{}} — {{}}",
                  "where", "text", *parts, said(pl.col("status"), OK_EN | {NOT_REPORTED: "nothing to compute or compare"})).alias("message_en"),
    )


def check_rates(report: Report) -> pl.DataFrame:
    printed = period_cells(report.results.filter(pl.col("measure") == "actual"), "actual", "value_text", "results").filter(pl.col("period") == "total")
    numerators = printed.select("sp", pl.col("value").cast(pl.Float64).alias("num"), pl.col("text").alias("num_text"))
    return compare_rates(report, numerators, "rate_actual_over_target", pl.format("results/{}", "sp"), "실적", "actual")


def rate_status() -> pl.Expr:
    return (
        pl.when(pl.col("expected").is_null() | pl.col("observed").is_null()).then(pl.lit(NOT_REPORTED))
        .when((pl.col("observed") - pl.col("expected")).abs() < 1e-9).then(pl.lit(MATCH))
        .otherwise(pl.lit(MISMATCH))
    )


def check_report_arithmetic(report: Report, catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Every printed total against the sum of its printed parts, and every printed rate against 실적 ÷ 목표."""
    targets = period_cells(report.targets, "target", "target_text", "targets")
    # a cumulative target's periods are running totals: its 계 is the last of them, not their sum
    cumulative = catalog.indicators_frame.filter(pl.col("target_semantics") == "cumulative").select("pledge_id", "indicator_id").unique()
    summed = targets.join(cumulative, on=["pledge_id", "indicator_id"], how="anti")
    results = period_cells(report.results.filter(pl.col("measure") == "actual"), "actual", "value_text", "results")
    census = report.census.with_columns(pl.coalesce("measure", "measure_ko").alias("key"), pl.col("value_text").alias("text")).with_columns(
        pl.format("census/{}", "key").alias("subject"), pl.format("{} / {}", "measure_text", "industry_ko").alias("where"))
    courses = report.activities.filter((pl.col("activity_kind") == "training_course") & (pl.col("measure") == "trained")).with_columns(
        pl.coalesce("period", "period_text").alias("period"), pl.col("value_text").alias("text"),
        pl.format("activity/{}/trained", "activity_name_ko").alias("subject"),
        pl.format("{} / {}", "activity_name_ko", "period_text").alias("where"))
    checks = [
        *check_budget_arithmetic(report),
        compare_sum(summed.filter(pl.col("period") != "total"), summed.filter(pl.col("period") == "total"), ["sp"],
                    "target_periods_sum", "목표 합계 = 기간별 목표 합", "Target total = sum of period targets"),
        compare_sum(results.filter(pl.col("period") != "total"), results.filter(pl.col("period") == "total"), ["sp"],
                    "result_periods_sum", "실적 합계 = 기간별 실적 합", "Result total = sum of period results"),
        compare_sum(census.filter(~pl.col("is_total")), census.filter(pl.col("is_total")), ["key"],
                    "census_industries_sum", "사업체 조사 합계 = 산업별 합", "Census total = sum of industries"),
        compare_sum(courses.filter(pl.col("period") != "total"), courses.filter(pl.col("period") == "total"), ["activity_name_ko"],
                    "course_years_sum", "교육과정 총인원 = 연도별 인원 합", "Course total = sum of yearly counts"),
        check_rates(report),
    ]
    return finish(pl.concat([conform(c, contract) for c in checks]), "report_arithmetic", contract)


def collect_figures(report: Report) -> pl.DataFrame:
    """Every printed figure of the register: table, subject, period, kind, text, value read, flag, reference."""
    cols = ["subject", "period", "value_kind", "text", "value_read", "malformed", "source_ref", "where"]
    number = lambda c: fmt(pl.col(c).cast(pl.Float64))  # noqa: E731
    parts = [
        period_cells(report.targets, "target", "target_text", "targets").with_columns(
            pl.lit("number").alias("value_kind"), number("value").alias("value_read")),
        period_cells(report.results, "actual", "value_text", "results").with_columns(
            pl.format("results/{}/{}", "sp", pl.coalesce("measure", "measure_ko")).alias("subject"),
            pl.when(pl.col("measure") == "rate").then(pl.lit("rate")).otherwise(pl.lit("number")).alias("value_kind"),
            pl.when(pl.col("measure") == "rate").then(pl.format("{}%", number("rate_pct"))).otherwise(number("actual")).alias("value_read")),
        budget_cells(report).with_columns(pl.lit("number").alias("value_kind"), number("value").alias("value_read")),
        report.census.with_columns(
            pl.format("census/{}/{}", pl.coalesce("measure", "measure_ko"), "industry_ko").alias("subject"),
            pl.lit("number").alias("value_kind"), pl.col("value_text").alias("text"), number("value").alias("value_read"),
            pl.format("{} / {}", "measure_text", "industry_ko").alias("where")),
        report.activities.filter(pl.col("measure").fill_null("") != "date_range").with_columns(
            pl.format("activity/{}/{}", "activity_name_ko", pl.coalesce("measure", "measure_ko")).alias("subject"),
            pl.coalesce("period", "period_text").alias("period"), pl.col("value_text").alias("text"),
            pl.when(pl.col("measure") == "date").then(pl.lit("date")).otherwise(pl.lit("number")).alias("value_kind"),
            pl.when(pl.col("measure") == "date").then(pl.col("value_date").cast(pl.String).fill_null("-"))
            .otherwise(number("value")).alias("value_read"),
            pl.format("{} / {} / {}", "activity_name_ko", "measure_ko", "period_text").alias("where")),
    ]
    return pl.concat([p.with_columns(pl.col("value_read").cast(pl.String)).select(cols) for p in parts])


def check_report_format(report: Report, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Every printed figure that is not well-formed, kept verbatim with the value it was read as."""
    kinds_ko = {"number": "숫자(예: 1,233)", "rate": "비율(예: 83%)", "date": "날짜(예: 2018. 11. 20.)"}
    kinds_en = {"number": "number (e.g. 1,233)", "rate": "rate (e.g. 83%)", "date": "date (e.g. 2018. 11. 20.)"}
    bad = collect_figures(report).filter(pl.col("malformed"))
    rows = bad.with_columns(
        pl.format("{}_well_formed", "value_kind").alias("rule"), pl.lit(MALFORMED).alias("status"),
        pl.col("text").alias("observed_text"),
        pl.col("value_read").cast(pl.Float64, strict=False).alias("observed"),
        pl.format("[{}] 인쇄된 값 '{}'은(는) 올바른 {} 형식이 아닙니다. {}(으)로 읽었으며, 원문 그대로 보존하고 보정하지 않습니다.",
                  "where", "text", said(pl.col("value_kind"), kinds_ko), "value_read").alias("message_ko"),
        pl.format("[{}] the printed figure '{}' is not a well-formed {}. Read as {}; kept verbatim, never corrected.",
                  "where", "text", said(pl.col("value_kind"), kinds_en), "value_read").alias("message_en"),
    )
    return finish(rows, "report_format", contract)
