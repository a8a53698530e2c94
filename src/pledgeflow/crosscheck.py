"""Cross-dataset checks over the rows that passed their own dataset's schema.

Run after every delivery is validated, because they need all files at once:
duplicates across deliveries (one person hired twice by the same employer on
the same day is one placement; the first delivered copy counts), placements
citing a cohort or fair that must exist and precede the hire, and the
mid-career age band. Failing rows move from valid to quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pledgeflow.catalog import Catalog, Descriptor
from pledgeflow.privacy import mask_personal_numbers
from pledgeflow.validation import finish_failures, record_key_expr

ROW_ID = ["source_file", "source_row"]
CELL_SCHEMA = {"source_file": pl.String, "source_row": pl.Int64, "column": pl.String, "rule": pl.String, "value": pl.String}


@dataclass(frozen=True)
class CrossChecked:
    """Valid rows per dataset after cross-checks, the rows they moved to quarantine, and why."""

    valid: dict[str, pl.DataFrame]
    quarantined: dict[str, pl.DataFrame]
    failures: pl.DataFrame


def flag_duplicates(valid: pl.DataFrame, descriptor: Descriptor) -> pl.DataFrame:
    """Every copy after the first (in file, then row order) of a dedupe key -> `duplicate_record`."""
    key = list(descriptor.dedupe_key)
    ordered = valid.sort(ROW_ID)
    later = ordered.filter(~pl.struct(key).is_first_distinct())
    value = pl.concat_str([pl.col(k).cast(pl.String).fill_null("?") for k in key], separator=" | ")
    return later.select(*ROW_ID, pl.lit(", ".join(key)).alias("column"), pl.lit("duplicate_record").alias("rule"),
                        value.alias("value")).cast(CELL_SCHEMA)


def check_event_references(placements: pl.DataFrame, events: dict[str, pl.DataFrame], catalog: Catalog) -> pl.DataFrame:
    """A placement whose channel requires an event must cite a valid one, and be hired on or after it began.

    `events` maps a dataset name to its valid frame; the catalog's channels say which dataset a channel cites.
    """
    starts = pl.concat([
        events["training_cohorts"].select(pl.col("cohort_id").alias("event_id"), pl.col("start_date").alias("event_date"),
                                          pl.lit("training_cohorts").alias("event_dataset")),
        events["job_fairs"].select(pl.col("fair_id").alias("event_id"), pl.col("fair_date").alias("event_date"),
                                   pl.lit("job_fairs").alias("event_dataset")),
    ]).unique(subset=["event_dataset", "event_id"], keep="first", maintain_order=True)
    required = pl.DataFrame(
        [{"channel_id": c["channel_id"], "event_dataset": c["requires_event"]} for c in catalog.channels if c.get("requires_event")],
        schema={"channel_id": pl.String, "event_dataset": pl.String},
    )
    cited = placements.join(required, on="channel_id", how="inner").join(starts, on=["event_dataset", "event_id"], how="left")
    missing = cited.filter(pl.col("event_date").is_null()).select(
        *ROW_ID, pl.lit("event_id").alias("column"), pl.lit("event_not_found").alias("rule"),
        pl.col("event_id").fill_null("(빈 값 / empty)").alias("value"))
    early = cited.filter(pl.col("hire_date") < pl.col("event_date")).select(
        *ROW_ID, pl.lit("hire_date").alias("column"), pl.lit("hired_before_event").alias("rule"),
        pl.format("{} < {} ({})", "hire_date", "event_date", "event_id").alias("value"))
    return pl.concat([missing.cast(CELL_SCHEMA), early.cast(CELL_SCHEMA)])


def check_mid_career_age(placements: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Placements of a sub-project with an age band must be inside it, as (hire year - birth year)."""
    banded = [s["subproject_id"] for p in catalog.pledges for s in p["subprojects"] if s.get("age_band")]
    band = catalog.mid_career_age
    age = pl.col("hire_date").dt.year() - pl.col("birth_year")
    outside = placements.filter(pl.col("subproject_id").is_in(banded) & ~age.is_between(band["min_age"], band["max_age"]))
    return outside.select(
        *ROW_ID, pl.lit("birth_year").alias("column"), pl.lit("outside_mid_career_age").alias("rule"),
        pl.format("{}세 (출생 {}, 채용 {})", age, "birth_year", pl.col("hire_date").dt.year()).alias("value"),
    ).cast(CELL_SCHEMA)


def _move(valid: pl.DataFrame, cells: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    held = cells.select(ROW_ID).unique()
    return valid.join(held, on=ROW_ID, how="anti"), valid.join(held, on=ROW_ID, how="semi")


def _describe(cells: pl.DataFrame, rows: pl.DataFrame, descriptor: Descriptor, rules: pl.DataFrame) -> pl.DataFrame:
    keys = rows.select(*ROW_ID, "row_digest", record_key_expr(descriptor))
    located = cells.join(keys, on=ROW_ID, how="left").with_columns(mask_personal_numbers(pl.col("value")).alias("value"))
    return finish_failures(located, descriptor, rules)


def apply_cross_checks(valid: dict[str, pl.DataFrame], catalog: Catalog, rules: pl.DataFrame) -> CrossChecked:
    """Run every cross-dataset check; events are settled (deduplicated) before placements cite them."""
    out_valid, out_held, failures = dict(valid), {}, []
    for dataset in ("training_cohorts", "job_fairs"):
        cells = flag_duplicates(valid[dataset], catalog.descriptors[dataset])
        out_valid[dataset], out_held[dataset] = _move(valid[dataset], cells)
        failures.append(_describe(cells, valid[dataset], catalog.descriptors[dataset], rules))
    placements, descriptor = valid["placements"], catalog.descriptors["placements"]
    cells = pl.concat([check_event_references(placements, out_valid, catalog), check_mid_career_age(placements, catalog)])
    remaining, held = _move(placements, cells)
    duplicates = flag_duplicates(remaining, descriptor)
    remaining, held_dupes = _move(remaining, duplicates)
    out_valid["placements"], out_held["placements"] = remaining, pl.concat([held, held_dupes])
    failures.append(_describe(pl.concat([cells, duplicates]), placements, descriptor, rules))
    return CrossChecked(valid=out_valid, quarantined=out_held, failures=pl.concat(failures))
