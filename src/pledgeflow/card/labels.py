"""Labels of a card resolved per pledge: its periods ("2023년 상반기" is "2023 상반기") and its indicators (지표).

A card speaks its own pledge's vocabulary: the same label can be a period of one pledge's grid and not of
another's, and a sub-project measured by several indicators needs the card's 지표 column to say which.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.catalog import Catalog, normalise_label_expr

# The card's words for "the whole of it": a 계 row is subproject "total", a 계/목표/실적 column period "total".
TOTAL_LABELS = ("계", "합계", "총계", "목표", "실적")


def period_key(expr: pl.Expr) -> pl.Expr:
    """A period label compared loosely: "2018년", "‘18년" and "2018" meet; "2023년 상반기" meets "2023 상반기"."""
    text = normalise_label_expr(expr).str.replace(r"^['‘’`]", "").str.replace_all("년", "")
    return pl.when(text.str.contains(r"^\d{2}($|\D)")).then(pl.lit("20") + text).otherwise(text)


def pledge_periods(catalog: Catalog) -> pl.DataFrame:
    """pledge_id, __period_key, period: each pledge's own labels (and the card's words for the total)."""
    own = catalog.periods_frame.select("pledge_id", "period")
    totals = pl.DataFrame({"pledge_id": [p["pledge_id"] for p in catalog.pledges]}).join(
        pl.DataFrame({"period": ["total"], "label": [list(TOTAL_LABELS)]}).explode("label"), how="cross")
    labels = pl.concat([own.with_columns(pl.col("period").alias("label")), totals.select("pledge_id", "period", "label")])
    return labels.select("pledge_id", period_key(pl.col("label")).alias("__period_key"), "period").unique(["pledge_id", "__period_key"])


def indicator_of_row(frame: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """(source_file, source_row) -> indicator_id: by the row's 지표 label (name or id) when the card prints one, else the
    sub-project's only indicator (a sub-project measured by several indicators needs the 지표 column)."""
    indicators = catalog.indicators_frame.select("pledge_id", "subproject_id", "indicator_id", "indicator_name_ko")
    labels = pl.concat([indicators.select("pledge_id", "subproject_id", "indicator_id", pl.col(c).alias("label"))
                        for c in ("indicator_id", "indicator_name_ko")])
    labels = labels.with_columns(normalise_label_expr(pl.col("label")).alias("label")).unique()
    sole = indicators.filter(pl.len().over("pledge_id", "subproject_id") == 1).select("pledge_id", "subproject_id", "indicator_id")
    text = pl.col("indicator_text") if "indicator_text" in frame.columns else pl.lit(None, pl.String)
    rows = frame.select("source_file", "source_row", "pledge_id", "subproject_id", normalise_label_expr(text).alias("label"))
    by_label = rows.join(labels, on=["pledge_id", "subproject_id", "label"], how="inner")
    by_sole = rows.filter(pl.col("label").is_null()).join(sole, on=["pledge_id", "subproject_id"], how="inner")
    return (pl.concat([by_label.select("source_file", "source_row", "indicator_id"), by_sole.select("source_file", "source_row", "indicator_id")])
            .unique(["source_file", "source_row"], keep="first", maintain_order=True))
