"""A delivery's own totals: the 합계 / 계 row a district typed, against the sum of the file's rows.

The totals row is not a record (ingest/shapes.py sets it aside); what it declares is checked like any
printed total. A mismatch is a reconciliation finding for that delivery (kind `delivery_totals`, rule
`declared_total`, subject `file/column`), never a row failure: the rows themselves may be right.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.card.self_checks import finish

KIND = "delivery_totals"
RULE = "declared_total"
TOTALS_SCHEMA = {"source_file": pl.String, "source_row": pl.Int64, "column": pl.String, "declared": pl.Int64, "observed": pl.Int64}


def declared_totals_frame(file_counts: pl.DataFrame) -> pl.DataFrame:
    """One row per declared total of every file (file_counts' `declared_totals` lists, flattened)."""
    if "declared_totals" not in file_counts.columns:
        return pl.DataFrame(schema=TOTALS_SCHEMA)
    rows = [t for totals in file_counts["declared_totals"].to_list() for t in (totals or [])]
    return pl.DataFrame(rows, schema=TOTALS_SCHEMA)


def check_delivery_totals(file_counts: pl.DataFrame, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Reconciliation rows: each declared total (observed, as typed) against the sum of the file's rows (expected)."""
    totals = declared_totals_frame(file_counts)
    status = (pl.when(pl.col("declared").is_null()).then(pl.lit("malformed"))
              .when(pl.col("declared") == pl.col("observed").fill_null(0)).then(pl.lit("match")).otherwise(pl.lit("mismatch")))
    said_ko = pl.when(pl.col("status") == "match").then(pl.lit("일치")).otherwise(pl.lit("불일치: 파일의 합계 행 또는 행을 확인하세요"))
    said_en = pl.when(pl.col("status") == "match").then(pl.lit("agrees")).otherwise(pl.lit("disagrees: check the file's totals row or its rows"))
    rows = totals.with_columns(status.alias("status")).with_columns(
        pl.lit(RULE).alias("rule"),
        pl.format("{}/{}", "source_file", "column").alias("subject"),
        pl.lit(None, dtype=pl.String).alias("period"),
        # as for the card's printed totals: observed is the printed figure, expected the sum of the parts
        pl.col("observed").fill_null(0).cast(pl.Float64).alias("expected"),
        pl.col("declared").cast(pl.Float64).alias("observed"),
        pl.col("declared").cast(pl.String).alias("observed_text"),
        pl.format("raw/{}:{}", "source_file", "source_row").alias("source_ref"),
        pl.format("{} [{}]: 합계 행 {}, 행의 합 {} — {}", "source_file", "column", pl.col("declared").cast(pl.String).fill_null("?"),
                  pl.col("observed").fill_null(0), said_ko).alias("message_ko"),
        pl.format("{} [{}]: totals row {}, sum of rows {} — {}", "source_file", "column", pl.col("declared").cast(pl.String).fill_null("?"),
                  pl.col("observed").fill_null(0), said_en).alias("message_en"),
    )
    return finish(rows.drop("source_file", "source_row", "column", "declared"), KIND, contract)
