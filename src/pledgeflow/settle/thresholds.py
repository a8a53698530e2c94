"""Data thresholds: past a dataset's limits the run is blocked by its data (exit 3) and publishes nothing.

Limits are per dataset in `schemas/datasets/<dataset>.yaml` (`thresholds.max_quarantined_pct`,
`thresholds.critical_rules`). Failures of records a steward waived or excluded count no more: that is
what the decision was for.
"""

from __future__ import annotations

import polars as pl

from pledgeflow.catalog import Catalog
from pledgeflow.errors import BlockedByData
from pledgeflow.settle.records import KEY, Settled


def enforce_thresholds(settled: Settled, catalog: Catalog) -> None:
    """Raise BlockedByData naming every breach; return quietly when the data is within its limits."""
    decided = settled.dispositions.filter(pl.col("state").is_in(["waived", "excluded"]))
    open_failures = settled.failures.join(decided, on=KEY, how="anti")
    breaches = check_thresholds(settled.file_counts, open_failures, catalog)["message"].to_list()
    if breaches:
        raise BlockedByData("; ".join(breaches))


def check_thresholds(file_counts: pl.DataFrame, failures: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Breaches of the descriptors' limits: dataset, kind, observed, limit, message (empty when none)."""
    limits = pl.DataFrame(
        [{"dataset": d.dataset, "limit_pct": d.max_quarantined_pct} for d in catalog.descriptors.values()],
        schema={"dataset": pl.String, "limit_pct": pl.Float64},
    )
    shares = (
        file_counts.group_by("dataset").agg(pl.col("rows_read").sum(), pl.col("rows_quarantined").sum())
        .join(limits, on="dataset")
        .with_columns((pl.col("rows_quarantined") / pl.col("rows_read") * 100).fill_nan(0).round(1).alias("observed"))
        .filter(pl.col("limit_pct").is_not_null() & (pl.col("observed") > pl.col("limit_pct")))
        .select("dataset", pl.lit("max_quarantined_pct").alias("kind"), pl.col("observed"), pl.col("limit_pct").alias("limit"),
                pl.format("{}: {}% of rows quarantined, over the limit of {}%", "dataset", "observed", "limit_pct").alias("message"))
    )
    critical = pl.DataFrame(
        [{"dataset": d.dataset, "rule": r} for d in catalog.descriptors.values() for r in d.critical_rules],
        schema={"dataset": pl.String, "rule": pl.String},
    )
    hits = (
        failures.join(critical, on=["dataset", "rule"], how="semi").group_by("dataset", "rule").agg(pl.len().alias("observed"))
        .select("dataset", pl.lit("critical_rule").alias("kind"), pl.col("observed").cast(pl.Float64), pl.lit(0.0).alias("limit"),
                pl.format("{}: critical rule {} failed {} time(s)", "dataset", "rule", "observed").alias("message"))
    )
    return pl.concat([shares, hits]).sort("dataset", "kind", "message")
