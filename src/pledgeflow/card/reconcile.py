"""Reconciliation of the records with the card, and the whole reconciliation table of a run.

Records-vs-report checks (kind `records_vs_report`): indicator actuals against the card's 추진실적,
cohorts against its course counts, job fairs against its fairs, placements against its hire figures;
`expected` comes from the records, `observed` is the printed figure. A missing side is `not_reported`:
the card prints a figure no record backs, or records exist that the card does not print. The card's
self-checks live in `pledgeflow.card.self_checks` (re-exported here); `reconcile_all` puts both together.
"""

from __future__ import annotations

import polars as pl


from pledgeflow.catalog import Catalog, assign_periods, normalise_label_expr
from pledgeflow.contracts import conform
from pledgeflow.card.delivery_totals import check_delivery_totals
from pledgeflow.card.consistency import check_report_consistency
from pledgeflow.card.self_checks import (
    MATCH,
    MISMATCH,
    NOT_REPORTED,
    OK_EN,
    OK_KO,
    check_report_arithmetic,
    check_report_format,
    compare_rates,
    finish,
    fmt,
    said,
)
from pledgeflow.card.register import Report

__all__ = ["reconcile_all", "reconcile_records", "reconcile_settled"]

NO_INDICATOR = "no_indicator"  # the subject of a card figure the catalog assigns to no indicator


def records_status() -> pl.Expr:
    """expected = from records, observed = printed; a missing side is not_reported, 0 on both is a match."""
    has_records = pl.col("expected").fill_null(0) != 0
    printed = pl.col("observed").is_not_null()
    return (
        pl.when(printed & has_records & (pl.col("observed") == pl.col("expected"))).then(pl.lit(MATCH))
        .when(printed & has_records).then(pl.lit(MISMATCH))
        .when(printed & (pl.col("observed") != 0)).then(pl.lit(NOT_REPORTED))
        .when(~printed & has_records).then(pl.lit(NOT_REPORTED))
        .otherwise(pl.lit(MATCH))
    )


def describe_records(frame: pl.DataFrame, rule: str, what_ko: str, what_en: str) -> pl.DataFrame:
    """Status and messages of a records-vs-card comparison (columns where, expected, observed, observed_text)."""
    rows = frame.with_columns(pl.lit(rule).alias("rule"), records_status().alias("status"))
    printed, text, recorded = pl.col("observed").is_not_null(), pl.col("observed_text").fill_null("-"), fmt(pl.col("expected"))
    verdict_ko = (pl.when(pl.col("status") != NOT_REPORTED).then(said(pl.col("status"), OK_KO))
                  .when(printed).then(pl.lit("카드에 인쇄된 수치를 뒷받침하는 기록이 없음"))
                  .otherwise(pl.lit("기록은 있으나 카드에 인쇄된 수치가 없음")))
    verdict_en = (pl.when(pl.col("status") != NOT_REPORTED).then(said(pl.col("status"), OK_EN))
                  .when(printed).then(pl.lit("the card prints a figure no record backs"))
                  .otherwise(pl.lit("records exist but the card prints nothing")))
    return rows.with_columns(
        pl.format("{} [{}]: 기록 {}, 카드 {} — {}", pl.lit(what_ko), "where", recorded, text, verdict_ko).alias("message_ko"),
        pl.format("{} [{}]: records {}, card {} — {}", pl.lit(what_en), "where", recorded, text, verdict_en).alias("message_en"),
    )


def compare_indicators(indicators: pl.DataFrame, report: Report) -> list[pl.DataFrame]:
    """Per-period actual vs printed 실적, cumulative (to the card's as-of date) vs printed total, rate vs 이행률."""
    keys = ["subproject_id", "indicator_id"]
    printed = report.results.filter((pl.col("measure") == "actual") & pl.col("subproject_id").is_not_null())
    cells = printed.filter(pl.col("period") != "total").select(*keys, "period", "subproject_text", "period_text", "source_ref",
                                                               printed_value().alias("observed"), pl.col("value_text").alias("observed_text"))
    # a ratio indicator's card prints the ratio (수료율 90), not its numerator
    value = pl.when(pl.col("measure_kind") == "ratio").then(pl.col("actual_pct")).otherwise(pl.col("actual").cast(pl.Float64))
    per_period = indicators.select(*keys, "subproject_name_ko", "period", value.alias("expected")).join(
        cells, on=[*keys, "period"], how="full", coalesce=True).with_columns(
        indicator_subject().alias("subject"),
        pl.format("{} / {}", pl.coalesce("subproject_text", "subproject_name_ko"), "period").alias("where"))
    totals = printed.filter(pl.col("period") == "total")
    to_date = indicators.join(totals.select(*keys, "as_of_date"), on=keys).filter(pl.col("period_start_date") <= pl.col("as_of_date"))
    # the records to date: the running total at the last period begun (a distinct count counts each value once)
    last = pl.col("cumulative_actual").sort_by("period_order").last()
    cumulative = totals.join(to_date.group_by(keys).agg(last.cast(pl.Float64).alias("expected")), on=keys, how="left").with_columns(
        pl.col("expected").fill_null(0), printed_value().alias("observed"), pl.col("value_text").alias("observed_text"),
        indicator_subject().alias("subject"),
        pl.format("{} / 실적 합계(~{})", "subproject_text", "as_of_date").alias("where"))
    checks = [describe_records(per_period, "period_actual", "기간별 실적", "Period actual"),
              describe_records(cumulative, "cumulative_actual", "누적 실적", "Cumulative actual"),
              compare_rates(report, cumulative.select(pl.coalesce("subproject_id", "subproject_text").alias("sp"), pl.col("expected").alias("num"),
                                                      fmt(pl.col("expected")).alias("num_text")),
                            "rate_from_records", indicator_subject(), "기록 누적", "records cumulative")]
    return [explain_unassigned_figures(frame, indicators) for frame in checks]


def printed_value() -> pl.Expr:
    """The card's 실적 as a number: a ratio indicator's percent (33.3%), any other indicator's count."""
    return pl.coalesce("actual_pct", pl.col("actual").cast(pl.Float64))


def indicator_subject() -> pl.Expr:
    """indicators/<sub-project>/<indicator>; a card figure the catalog assigns to no indicator is `no_indicator` (a check
    id is never null: the audit refuses one)."""
    return pl.format("indicators/{}/{}", pl.coalesce("subproject_id", "subproject_text"), pl.col("indicator_id").fill_null(NO_INDICATOR))


def explain_unassigned_figures(checks: pl.DataFrame, indicators: pl.DataFrame) -> pl.DataFrame:
    """A card figure with no indicator says why and what to do: no indicator of the catalog counts its sub-project, or
    its sub-project has several and the card row does not say which."""
    measured = indicators["subproject_id"].unique().implode()
    several = pl.col("subproject_id").is_in(measured)
    why_ko = pl.when(several).then(pl.lit("카드 행이 어느 지표의 수치인지 알 수 없습니다: 보고 대장의 지표 열을 채우세요")).otherwise(
        pl.lit("카탈로그의 어느 지표도 이 세부사업을 세지 않습니다: catalog.yaml에서 지표의 subprojects에 넣거나 지표를 선언하세요"))
    why_en = pl.when(several).then(pl.lit("the card row does not say which indicator it reports: fill the register's indicator column")).otherwise(
        pl.lit("no indicator of the catalog counts this sub-project: add it to an indicator's subprojects in catalog.yaml, or declare one"))
    unassigned = pl.col("indicator_id").is_null()
    return checks.with_columns(
        pl.when(unassigned).then(pl.format("{} ({})", "message_ko", why_ko)).otherwise("message_ko").alias("message_ko"),
        pl.when(unassigned).then(pl.format("{} ({})", "message_en", why_en)).otherwise("message_en").alias("message_en"),
    )


def match_cohorts(cohorts: pl.DataFrame, report: Report, catalog: Catalog) -> pl.DataFrame:
    """Cohorts up to the card's as-of date, each with the card course whose (record) name its name starts with."""
    courses = report.activities.filter(pl.col("activity_kind") == "training_course").select(
        "activity_name_ko", normalise_label_expr(pl.col("record_name_ko")).alias("course_key")).unique().sort("activity_name_ko")
    as_of = report.activities["as_of_date"].max()
    dated = assign_periods(cohorts.filter(pl.col("start_date") <= pl.lit(as_of, dtype=pl.Date)), "start_date", catalog).with_columns(
        normalise_label_expr(pl.col("course_name_ko")).alias("cohort_key"))
    # The longest matching card name wins, so "…과정" and "…과정 교육" cannot both claim a cohort.
    matched = (dated.join(courses, how="cross").filter(pl.col("cohort_key").str.starts_with(pl.col("course_key")))
               .sort(pl.col("course_key").str.len_chars(), descending=True).unique("cohort_id", keep="first", maintain_order=True))
    return dated.join(matched.select("cohort_id", "activity_name_ko"), on="cohort_id", how="left")


def compare_courses(cohorts: pl.DataFrame, report: Report, catalog: Catalog) -> pl.DataFrame:
    """Card course counts (completed people) against completed_count of the matching cohorts, per year and in total.

    A cancelled cohort (the descriptor's `cancelled_when_zero` count is 0) counts nowhere, not even as an unmatched course."""
    cancelled = catalog.descriptors["training_cohorts"].cancelled_when_zero if "training_cohorts" in catalog.descriptors else None
    if cancelled:
        cohorts = cohorts.filter(pl.col(cancelled) != 0)
    cohorts = match_cohorts(cohorts, report, catalog)
    card = report.activities.filter((pl.col("activity_kind") == "training_course") & (pl.col("measure") == "trained")).select(
        "activity_name_ko", "period", "source_ref", pl.col("value").cast(pl.Float64).alias("observed"), pl.col("value_text").alias("observed_text"))
    yearly = card.filter(pl.col("period") != "total").select("activity_name_ko").unique()
    known = cohorts.filter(pl.col("activity_name_ko").is_not_null())
    completed = pl.col("completed_count").sum().cast(pl.Float64).alias("expected")
    records = pl.concat([
        known.group_by("activity_name_ko").agg(completed).with_columns(pl.lit("total").alias("period")).select("activity_name_ko", "period", "expected"),
        known.join(yearly, on="activity_name_ko").group_by("activity_name_ko", "period").agg(completed).select("activity_name_ko", "period", "expected"),
    ])
    rows = card.join(records, on=["activity_name_ko", "period"], how="full", coalesce=True)
    unmatched = cohorts.filter(pl.col("activity_name_ko").is_null()).group_by("course_name_ko", "period").agg(completed)
    rows = pl.concat([rows.with_columns(pl.format("activity/{}/trained", "activity_name_ko").alias("subject"),
                                        pl.format("{} / {}", "activity_name_ko", "period").alias("where")),
                      unmatched.with_columns(pl.format("cohorts/{}", "course_name_ko").alias("subject"),
                                             pl.format("{} / {}", "course_name_ko", "period").alias("where"))], how="diagonal")
    return describe_records(rows, "course_completed", "교육과정 수료인원", "Course completions")


def compare_fairs(fairs: pl.DataFrame, report: Report, catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Card job fairs matched to fair records by date: the fair itself, its firms and its participants."""
    card = report.activities.filter(pl.col("activity_kind") == "job_fair")
    pick = lambda m, c: pl.col(c).filter(pl.col("measure") == m).first()  # noqa: E731
    printed = card.sort("source_row").group_by("activity_name_ko", maintain_order=True).agg(
        pick("date", "value_date").alias("fair_date"), pick("date", "value_text").alias("date_text"), pick("date", "source_ref").alias("date_ref"),
        *[pick(m, c).alias(f"{m}_{c}") for m in ("firms", "participants") for c in ("value", "value_text", "source_ref")])
    as_of = report.activities["as_of_date"].max()
    records = fairs.filter(pl.col("fair_date") <= pl.lit(as_of, dtype=pl.Date)).select("fair_id", "fair_name_ko", "fair_date", "firm_count", "participant_count")
    joined = assign_periods(printed.join(records, on="fair_date", how="full", coalesce=True), "fair_date", catalog).with_columns(
        pl.format("fair/{}", pl.coalesce(pl.col("fair_date").cast(pl.String), "date_text", "activity_name_ko")).alias("subject"),
        pl.format("{} / {}", pl.coalesce("activity_name_ko", "fair_name_ko"), pl.coalesce(pl.col("fair_date").cast(pl.String), "date_text")).alias("where"))
    present = lambda c: pl.when(pl.col(c).is_not_null()).then(pl.lit(1.0))  # noqa: E731
    found = joined.with_columns(present("fair_id").alias("expected"), present("activity_name_ko").alias("observed"),
                                pl.col("date_text").alias("observed_text"), pl.col("date_ref").alias("source_ref"))
    both = joined.filter(pl.col("fair_id").is_not_null() & pl.col("activity_name_ko").is_not_null())
    measure = lambda m, c: both.with_columns(pl.col(c).cast(pl.Float64).alias("expected"), pl.col(f"{m}_value").cast(pl.Float64).alias("observed"),  # noqa: E731
                                             pl.col(f"{m}_value_text").alias("observed_text"), pl.col(f"{m}_source_ref").alias("source_ref"))
    return pl.concat([
        conform(describe_records(found, "fair_found", "취업박람회 (1 = 있음)", "Job fair (1 = present)"), contract),
        conform(describe_records(measure("firms", "firm_count"), "fair_firms", "취업박람회 참여업체수", "Job fair firms"), contract),
        conform(describe_records(measure("participants", "participant_count"), "fair_participants", "취업박람회 참여인원", "Job fair participants"), contract),
    ])


def match_placements(placements: pl.DataFrame | pl.LazyFrame, cohorts: pl.DataFrame, report: Report, catalog: Catalog) -> pl.DataFrame:
    """Per card hire figure, the placements it counts (columns source_ref, hires).

    The register declares the link: the row's 구분 (`activity_kind`) is the placements' channel and its
    세부사업 their sub-project; a 교육과정 row counts only placements citing a cohort of that course (the
    same name matching as course counts, `기록상 명칭`). Hires after the row's as-of date do not count,
    and a row printed for one period counts the hires of that period.
    """
    card = report.activities.filter(is_hire_figure()).select("source_ref", "subproject_id", "activity_kind", "activity_name_ko", "period", "as_of_date")
    course_of = match_cohorts(cohorts, report, catalog).select(pl.col("cohort_id").alias("event_id"), pl.col("activity_name_ko").alias("course"))
    # one row per distinct (sub-project, channel, event, day) with its count: millions of placements become thousands
    cells = (placements.lazy().filter(pl.col("channel_id").is_in(card["activity_kind"].unique().implode()))
             .group_by("subproject_id", "channel_id", "event_id", "hire_date").agg(pl.len().alias("placements")).collect())
    hires = assign_periods(cells, "hire_date", catalog).join(course_of, on="event_id", how="left").rename({"period": "hire_period"})
    counted = card.join(hires, left_on=["subproject_id", "activity_kind"], right_on=["subproject_id", "channel_id"]).filter(
        (pl.col("hire_date") <= pl.col("as_of_date"))
        & ((pl.col("period") == "total") | (pl.col("period") == pl.col("hire_period")))
        & ((pl.col("activity_kind") != "training_course") | (pl.col("course") == pl.col("activity_name_ko"))))
    hires_per_figure = counted.group_by("source_ref").agg(pl.col("placements").sum().cast(pl.Float64).alias("hires"))
    return card.select("source_ref").join(hires_per_figure, on="source_ref", how="left")


def is_hire_figure() -> pl.Expr:
    """A card hire count (채용·취업인원) whose 구분 is a placement channel; a fair's hires would need the fair, not the channel."""
    kind = pl.col("activity_kind")
    return ((pl.col("measure") == "hired") & kind.is_not_null() & (kind != "job_fair") & pl.col("value_text").is_not_null()).fill_null(False)


def compare_hires(placements: pl.DataFrame | pl.LazyFrame, cohorts: pl.DataFrame, report: Report, catalog: Catalog) -> pl.DataFrame:
    """Card hire figures against the valid placements of their channel (see `match_placements`)."""
    counts = match_placements(placements, cohorts, report, catalog)
    rows = report.activities.filter(is_hire_figure()).join(counts, on="source_ref", how="left").with_columns(
        pl.col("hires").fill_null(0).alias("expected"), pl.col("value").cast(pl.Float64).alias("observed"),
        pl.col("value_text").alias("observed_text"),
        pl.format("activity/{}/{}", "activity_name_ko", "measure").alias("subject"),
        pl.format("{} / {} / {} (~{})", "activity_name_ko", "activity_kind", "period_text", "as_of_date").alias("where"))
    return describe_records(rows, "hired_from_placements", "채용·취업인원 (연계경로별 채용 기록)", "Hires (placements by channel)")


def report_unbacked_figures(report: Report, hires_compared: bool) -> pl.DataFrame:
    """Card activity figures no dataset records (meetings, agreement dates, visits, …): not_reported, listed.

    Hire figures are compared with placements when the run has them (`hires_compared`), else listed here.
    """
    # A kind or measure the catalog does not know is null: without fill_null the row would drop out of the filter unseen.
    kind, measure = pl.col("activity_kind").fill_null(""), pl.col("measure").fill_null("")
    compared = ((kind == "training_course") & (measure == "trained")) | ((kind == "job_fair") & measure.is_in(["date", "firms", "participants"]))
    if hires_compared:
        compared = compared | is_hire_figure()
    rows = report.activities.filter(~compared & (pl.col("value").is_not_null() | pl.col("value_date").is_not_null()))
    return rows.with_columns(
        pl.lit("figure_has_records").alias("rule"), pl.lit(NOT_REPORTED).alias("status"),
        pl.format("activity/{}/{}", "activity_name_ko", pl.coalesce("measure", "measure_ko")).alias("subject"),
        pl.col("value").cast(pl.Float64).alias("observed"), pl.col("value_text").alias("observed_text"),
        pl.format("[{} / {}] 카드 {} — 이 수치를 대조할 기록(데이터셋)이 없습니다.", "activity_name_ko", "measure_ko", "value_text").alias("message_ko"),
        pl.format("[{} / {}] card {} — no dataset records this figure, so it cannot be checked.", "activity_name_ko", "measure_ko", "value_text").alias("message_en"),
    )


def reconcile_records(indicators: pl.DataFrame, cohorts: pl.DataFrame, fairs: pl.DataFrame, report: Report, catalog: Catalog,
                      contract: dict[str, pl.DataType], *, placements: pl.DataFrame | pl.LazyFrame | None = None) -> pl.DataFrame:
    """The records against the card: indicators vs 추진실적, cohorts vs course counts, fairs vs the card's fairs.

    Given the run's valid `placements`, the card's hire figures are compared with them too (`compare_hires`);
    without them those figures are listed as unbacked (`figure_has_records`), as before.
    """
    checks = [*compare_indicators(indicators, report), compare_courses(cohorts, report, catalog),
              compare_fairs(fairs, report, catalog, contract), report_unbacked_figures(report, hires_compared=placements is not None)]
    if placements is not None:
        checks.append(compare_hires(placements, cohorts, report, catalog))
    return finish(pl.concat([conform(c, contract) for c in checks]), "records_vs_report", contract)


def reconcile_all(indicators: pl.DataFrame, cohorts: pl.DataFrame, fairs: pl.DataFrame, report: Report, catalog: Catalog,
                  contract: dict[str, pl.DataType], *, placements: pl.DataFrame | pl.LazyFrame | None = None) -> pl.DataFrame:
    """Every reconciliation row of a run, sorted by check_id; `placements` (valid records) backs the card's hire figures."""
    return pl.concat([
        check_report_arithmetic(report, catalog, contract), check_report_format(report, contract),
        check_report_consistency(report, catalog, contract),
        reconcile_records(indicators, cohorts, fairs, report, catalog, contract, placements=placements),
    ]).sort("check_id")


def reconcile_settled(indicators: pl.DataFrame, settled, report: Report, project) -> pl.DataFrame:
    """A run's `reconciliation` table: each card against its own pledge's indicators and records (`pledge_id` says whose).

    Cards never mix: a card's totals (계) and activities meet only the records of its pledge's sub-projects. A pledge
    without a register still gets its indicator rows (the records have figures the card does not print).
    """
    catalog, contract = project.catalog, project.contract("reconciliation")
    events = {d: settled.valid[d].lazy().collect() for d in ("training_cohorts", "job_fairs")}  # small: one row per event
    parts = []
    for pledge in catalog.pledges:
        subprojects = [s["subproject_id"] for s in pledge["subprojects"]]
        card = card_of(report, pledge["pledge_id"])
        mine = pl.col("subproject_id").is_in(subprojects)
        # placements are read only for a card that prints hire figures (millions of rows, one card at a time)
        hires = settled.valid["placements"].lazy().filter(mine) if card.activities.filter(is_hire_figure()).height else None
        rows = reconcile_all(indicators.filter(pl.col("pledge_id") == pledge["pledge_id"]), events["training_cohorts"].filter(mine),
                             events["job_fairs"].filter(mine), card, catalog.only(pledge["pledge_id"]), contract, placements=hires)
        parts.append(rows.with_columns(pl.lit(pledge["pledge_id"]).alias("pledge_id")))
    parts.append(delivery_totals_of(settled, catalog, contract))
    return conform(pl.concat(parts, how="diagonal_relaxed"), contract).sort("pledge_id", "check_id")


def delivery_totals_of(settled, catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The deliveries' own totals rows checked against their rows, each under the pledge its file's records belong to
    (the first, when a file serves several; the catalog's first pledge when no row of it is valid)."""
    totals = check_delivery_totals(settled.file_counts, contract)
    if totals.is_empty():
        return totals
    files = pl.concat([frame.lazy().select("source_file", "subproject_id") for frame in settled.valid.values()]).unique()
    pledges = (files.join(catalog.subprojects_frame.lazy().select("subproject_id", "pledge_id"), on="subproject_id")
               .group_by("source_file").agg(pl.col("pledge_id").min()).collect())
    first = min(p["pledge_id"] for p in catalog.pledges)
    return (totals.with_columns(pl.col("source_ref").str.extract(r"^raw/(.+):\d+$", 1).alias("source_file"))
            .join(pledges, on="source_file", how="left")
            .with_columns(pl.col("pledge_id").fill_null(first)).drop("source_file"))


def card_of(report: Report, pledge_id: str) -> Report:
    """One card's share of the register (every register frame carries its pledge_id)."""
    return Report(**{name: getattr(report, name).filter(pl.col("pledge_id") == pledge_id)
                     for name in ("tables", "attributes", "targets", "results", "budget", "census", "activities")})
