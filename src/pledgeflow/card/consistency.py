"""The card against itself: one choice per attribute, readable marks, known labels, a target for every result.

Rows of the curated `reconciliation` contract (kind `report_consistency`), built with the helpers of
`pledgeflow.card.self_checks`.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.card.register import Report
from pledgeflow.card.self_checks import MALFORMED, MATCH, MISMATCH, NOT_REPORTED, OK_EN, OK_KO, finish, fmt, period_cells, said
from pledgeflow.catalog import Catalog
from pledgeflow.contracts import conform


def check_single_choice(report: Report) -> pl.DataFrame:
    """Each card attribute (임기구분 … 이행단계) is one choice: exactly one option may be selected."""
    picked = pl.col("selected").fill_null(False)
    groups = report.attributes.sort("source_row").group_by("attribute_ko", maintain_order=True).agg(
        picked.sum().cast(pl.Float64).alias("observed"),
        pl.col("option_ko").filter(picked).str.join(", ").alias("observed_text"),
        pl.col("source_ref").filter(picked).str.join("; ").alias("refs"), pl.col("source_ref").first().alias("first_ref"),
    )
    status = pl.when(pl.col("observed") == 1).then(pl.lit(MATCH)).otherwise(pl.lit(MISMATCH))
    return groups.with_columns(
        pl.lit("attribute_single_choice").alias("rule"), pl.format("attributes/{}", "attribute_ko").alias("subject"),
        pl.lit("total").alias("period"), pl.lit(1.0).alias("expected"), status.alias("status"),
        pl.when(pl.col("refs") == "").then("first_ref").otherwise("refs").alias("source_ref"),
    ).with_columns(
        pl.format("{}: 단일 선택 항목, 선택 {}개 ({}) — {}", "attribute_ko", fmt(pl.col("observed")), "observed_text",
                  said(pl.col("status"), OK_KO)).alias("message_ko"),
        pl.format("{}: single-choice attribute, {} selected ({}) — {}", "attribute_ko", fmt(pl.col("observed")), "observed_text",
                  said(pl.col("status"), OK_EN)).alias("message_en"),
    )


def check_marks(report: Report) -> pl.DataFrame:
    return report.attributes.filter(pl.col("selected").is_null()).with_columns(
        pl.lit("attribute_mark_readable").alias("rule"), pl.format("attributes/{}/{}", "attribute_ko", "option_ko").alias("subject"),
        pl.lit("total").alias("period"), pl.lit(MALFORMED).alias("status"), pl.col("selected_text").alias("observed_text"),
        pl.format("{} / {}: 선택 표시 '{}'을(를) 읽을 수 없습니다 (○ 또는 빈칸).", "attribute_ko", "option_ko", "selected_text").alias("message_ko"),
        pl.format("{} / {}: selection mark '{}' is not readable (use ○ or leave empty).", "attribute_ko", "option_ko", "selected_text").alias("message_en"),
    )


def label_rows(report: Report) -> pl.DataFrame:
    """Every label the register resolves: table, label kind, printed text, resolved id, first row."""
    specs = [("targets", "subproject"), ("results", "subproject"), ("budget", "subproject"), ("activities", "subproject"),
             ("targets", "period"), ("results", "period"), ("budget", "period"), ("activities", "period"),
             ("budget", "funding_source"), ("results", "measure"), ("census", "measure"), ("activities", "measure")]
    text_of = {"subproject": "subproject_text", "period": "period_text", "funding_source": "funding_source_text"}
    frames = []
    for table, label in specs:
        frame = getattr(report, table)
        text = text_of.get(label, "measure_text" if table == "census" else "measure_ko")
        frames.append(frame.sort("source_row").group_by(text, maintain_order=True).agg(
            pl.col(label if label != "subproject" else "subproject_id").first().alias("resolved"),
            pl.col("source_ref").first()).select(
            pl.lit(table).alias("table"), pl.lit(label).alias("label"), pl.col(text).alias("observed_text"), "resolved", "source_ref"))
    for table in ("targets", "results"):  # the 지표 column, on a card that prints one: a name no indicator has counts nowhere
        frame = getattr(report, table)
        if "indicator_text" in frame.columns:
            frames.append(frame.filter(pl.col("indicator_text").is_not_null()).sort("source_row")
                          .group_by("subproject_id", "indicator_text", maintain_order=True)
                          .agg(pl.col("indicator_id").first().alias("resolved"), pl.col("source_ref").first())
                          .select(pl.lit(table).alias("table"), pl.lit("indicator").alias("label"),
                                  pl.col("indicator_text").alias("observed_text"), "resolved", "source_ref"))
    return pl.concat(frames)


def check_labels(report: Report) -> pl.DataFrame:
    """Sub-project spellings (all, known or not) and other labels the register vocabulary does not know."""
    rows = label_rows(report).filter((pl.col("label") == "subproject") | pl.col("resolved").is_null())
    status = pl.when(pl.col("resolved").is_null()).then(pl.lit(MISMATCH)).otherwise(pl.lit(MATCH))
    return rows.with_columns(
        pl.format("{}_known", "label").alias("rule"), pl.format("{}/{}", "table", "observed_text").alias("subject"),
        pl.lit("total").alias("period"), status.alias("status"),
    ).with_columns(
        pl.when(pl.col("status") == MATCH)
        .then(pl.format("{} 표의 표기 '{}' → {} (카탈로그에 있는 표기)", "table", "observed_text", "resolved"))
        .when(pl.col("label") == "indicator")
        .then(pl.format("{} 표의 지표 '{}'은(는) 그 세부사업을 세는 카탈로그 지표의 indicator_id나 name_ko가 아닙니다: 이 행은 어디에도 계산되지 않습니다. "
                        "schemas/catalog.yaml의 지표 이름과 맞추세요.", "table", "observed_text"))
        .otherwise(pl.format("{} 표의 표기 '{}'을(를) 카탈로그/대장 어휘에서 찾을 수 없습니다. schemas/catalog.yaml의 aliases에 추가하거나 표기를 확인하세요.",
                             "table", "observed_text")).alias("message_ko"),
        pl.when(pl.col("status") == MATCH)
        .then(pl.format("{} table: label '{}' → {} (a spelling the catalog knows)", "table", "observed_text", "resolved"))
        .when(pl.col("label") == "indicator")
        .then(pl.format("{} table: indicator '{}' is neither the indicator_id nor the name_ko of a catalog indicator counting that "
                        "sub-project, so the row counts nowhere; match it to the indicator's name in schemas/catalog.yaml.", "table", "observed_text"))
        .otherwise(pl.format("{} table: label '{}' ({}) is unknown to the catalog / register vocabulary; add it to the aliases in schemas/catalog.yaml or check the keying.",
                             "table", "observed_text", "label")).alias("message_en"),
    )


def check_results_have_targets(report: Report) -> pl.DataFrame:
    """A result printed for a period whose target is '-' is measured against nothing: not_reported."""
    results = period_cells(report.results.filter(pl.col("measure") == "actual"), "actual", "value_text", "results")
    targets = period_cells(report.targets, "target", "target_text", "targets").select(
        "sp", "period", pl.col("value").alias("expected"), pl.col("text").alias("target_text"))
    rows = results.filter((pl.col("period") != "total") & pl.col("value").is_not_null()).join(targets, on=["sp", "period"], how="left")
    status = pl.when(pl.col("expected").is_null()).then(pl.lit(NOT_REPORTED)).otherwise(pl.lit(MATCH))
    return rows.with_columns(
        pl.lit("result_has_target").alias("rule"), status.alias("status"), pl.col("value").cast(pl.Float64).alias("observed"),
        pl.col("text").alias("observed_text"),
    ).with_columns(
        pl.format("[{}] 실적 {}, 같은 기간 목표 {} — {}", "where", "text", pl.col("target_text").fill_null("(없음)"),
                  pl.when(pl.col("status") == MATCH).then(pl.lit("목표 있음")).otherwise(pl.lit("목표 없이 보고된 실적"))).alias("message_ko"),
        pl.format("[{}] result {}, target for the period {} — {}", "where", "text", pl.col("target_text").fill_null("(none)"),
                  pl.when(pl.col("status") == MATCH).then(pl.lit("target exists")).otherwise(pl.lit("result reported for a period with no target"))).alias("message_en"),
    )


def check_report_consistency(report: Report, catalog: Catalog, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """The card against itself: one choice per attribute, known labels, a target for every reported result."""
    checks = [check_single_choice(report), check_marks(report), check_labels(report), check_results_have_targets(report)]
    return finish(pl.concat([conform(c, contract) for c in checks]), "report_consistency", contract)
