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
from pledgeflow.contracts import Rows, as_kind, pick_rows, record_key
from pledgeflow.privacy import mask_personal_numbers
from pledgeflow.ingest.ranges import append_details
from pledgeflow.ingest.validate import finish_failures

ROW_ID = ["source_file", "source_row"]
EVENT_IDS = {"training_cohorts": "cohort_id", "job_fairs": "fair_id"}
EMPTY = "(빈 값 / empty)"
CELL_SCHEMA = {"source_file": pl.String, "source_row": pl.Int64, "column": pl.String, "rule": pl.String, "value": pl.String}


@dataclass(frozen=True)
class CrossChecked:
    """Valid rows per dataset after cross-checks, the rows they moved to quarantine, and why."""

    valid: dict[str, Rows]  # lazy in, lazy out: a query that leaves out the moved rows
    quarantined: dict[str, pl.DataFrame]
    failures: pl.DataFrame


def flag_duplicates(valid: Rows, descriptor: Descriptor) -> pl.DataFrame:
    """Every copy after the first (in file, then row order) of a dedupe key -> `duplicate_record`."""
    key = list(descriptor.dedupe_key)
    # only keys whose hash repeats can be duplicates: sort those few, not every row (a collision only adds a candidate)
    candidates = valid.lazy().select(*ROW_ID, *key).filter(pl.struct(key).hash().is_duplicated())
    later = candidates.sort(ROW_ID).filter(~pl.struct(key).is_first_distinct())
    value = pl.concat_str([pl.col(k).cast(pl.String).fill_null("?") for k in key], separator=" | ")
    return later.select(*ROW_ID, pl.lit(", ".join(key)).alias("column"), pl.lit("duplicate_record").alias("rule"),
                        value.alias("value")).cast(CELL_SCHEMA).collect()


def event_starts(events: dict[str, Rows]) -> pl.DataFrame:
    """The first valid copy of each cohort and fair: (event_dataset, event_id, event_date)."""
    return pl.concat([
        events["training_cohorts"].lazy().select(pl.col("cohort_id").alias("event_id"), pl.col("start_date").alias("event_date"),
                                                 pl.lit("training_cohorts").alias("event_dataset"), *ROW_ID),
        events["job_fairs"].lazy().select(pl.col("fair_id").alias("event_id"), pl.col("fair_date").alias("event_date"),
                                          pl.lit("job_fairs").alias("event_dataset"), *ROW_ID),
    ]).sort(ROW_ID).unique(subset=["event_dataset", "event_id"], keep="first", maintain_order=True).drop(ROW_ID).collect()


def check_event_references(placements: Rows, events: dict[str, Rows], catalog: Catalog) -> pl.DataFrame:
    """A placement whose channel requires an event must cite a valid one, and be hired on or after it began.

    `events` maps a dataset name to its valid rows; the catalog's channels say which dataset a channel cites.
    """
    required = pl.LazyFrame(
        [{"channel_id": c["channel_id"], "event_dataset": c["requires_event"]} for c in catalog.channels if c.get("requires_event")],
        schema={"channel_id": pl.String, "event_dataset": pl.String},
    )
    cited = (placements.lazy().select(*ROW_ID, "channel_id", "event_id", "hire_date")
             .join(required, on="channel_id", how="inner")
             .join(event_starts(events).lazy(), on=["event_dataset", "event_id"], how="left"))
    missing = cited.filter(pl.col("event_date").is_null()).select(
        *ROW_ID, pl.lit("event_id").alias("column"), pl.lit("event_not_found").alias("rule"),
        pl.col("event_id").fill_null(EMPTY).alias("value"))
    early = cited.filter(pl.col("hire_date") < pl.col("event_date")).select(
        *ROW_ID, pl.lit("hire_date").alias("column"), pl.lit("hired_before_event").alias("rule"),
        pl.format("{} < {} ({})", "hire_date", "event_date", "event_id").alias("value"))
    return pl.concat([missing.cast(CELL_SCHEMA), early.cast(CELL_SCHEMA)]).collect()


def locate_cited_events(failures: pl.DataFrame, quarantined: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Say in each `event_not_found` message where the cited cohort or fair is: quarantined itself (its file and row,
    to be fixed first: the placements citing it then count again), or in no delivery at all."""
    missing = pl.col("rule") == "event_not_found"
    if failures.is_empty() or not failures.select(missing.any()).item():
        return failures
    held = [quarantined[d].select(pl.col(column).alias("value"), pl.col("source_file").alias("event_file"),
                                  pl.col("source_row").alias("event_row"))
            for d, column in EVENT_IDS.items() if d in quarantined and not quarantined[d].is_empty()]
    schema = {"value": pl.String, "event_file": pl.String, "event_row": pl.Int64}
    events = pl.concat([h.cast(schema) for h in held]) if held else pl.DataFrame(schema=schema)
    first = events.drop_nulls("value").sort("event_file", "event_row").unique("value", keep="first", maintain_order=True)
    cited = failures.filter(missing & (pl.col("value") != EMPTY)).select(*ROW_ID, "rule", "value").join(first, on="value", how="left")
    found = pl.col("event_file").is_not_null()
    details = cited.select(
        *ROW_ID, "rule",
        pl.when(found).then(pl.format("{}: 이 교육과정·박람회 기록이 격리되어 있습니다 — {} {}행을 먼저 고치세요", "value", "event_file", "event_row"))
        .otherwise(pl.format("{}: 제출된 교육과정·박람회 자료 어디에도 없습니다", "value")).alias("detail_ko"),
        pl.when(found).then(pl.format("{} is itself quarantined: fix {} row {} first", "value", "event_file", "event_row"))
        .otherwise(pl.format("{} is in no delivered cohort or fair file", "value")).alias("detail_en"),
    )
    return append_details(failures, details, on=[*ROW_ID, "rule"])


def check_mid_career_age(placements: Rows, catalog: Catalog) -> pl.DataFrame:
    """Placements of a sub-project with an age band must be inside it, as (hire year - birth year).

    Each sub-project names its band (`age_band: mid_career_age`): a district whose ordinance says 50-64 declares
    its own band in the catalog and names it."""
    bands = {s["subproject_id"]: catalog.age_bands.get(s["age_band"], catalog.mid_career_age)
             for p in catalog.pledges for s in p["subprojects"] if s.get("age_band")}
    low = pl.col("subproject_id").replace_strict({k: b["min_age"] for k, b in bands.items()}, default=None, return_dtype=pl.Int64)
    high = pl.col("subproject_id").replace_strict({k: b["max_age"] for k, b in bands.items()}, default=None, return_dtype=pl.Int64)
    age = pl.col("hire_date").dt.year() - pl.col("birth_year")
    outside = placements.lazy().filter(pl.col("subproject_id").is_in(list(bands)) & ~age.is_between(low, high))
    return outside.select(
        *ROW_ID, pl.lit("birth_year").alias("column"), pl.lit("outside_mid_career_age").alias("rule"),
        pl.format("{}세 (출생 {}, 채용 {})", age, "birth_year", pl.col("hire_date").dt.year()).alias("value"),
    ).cast(CELL_SCHEMA).collect()


def _without(valid: Rows, cells: pl.DataFrame) -> Rows:
    """`valid` less the rows `cells` flag (a query when `valid` is one: nothing is copied)."""
    return as_kind(valid, valid.lazy().join(cells.select(ROW_ID).unique().lazy(), on=ROW_ID, how="anti"))


def _hold(valid: Rows, cells: pl.DataFrame, descriptor: Descriptor, rules: pl.DataFrame) -> tuple[Rows, pl.DataFrame, pl.DataFrame]:
    """(rows kept, rows held with every column, their failures): the held rows are read once, for both."""
    held = pick_rows(valid, cells)
    keys = held.select(*ROW_ID, "row_digest", record_key(descriptor.record_key))
    located = cells.join(keys, on=ROW_ID, how="left").with_columns(mask_personal_numbers(pl.col("value")).alias("value"))
    return _without(valid, cells), held, finish_failures(located, descriptor, rules)


def apply_cross_checks(valid: dict[str, Rows], catalog: Catalog, rules: pl.DataFrame) -> CrossChecked:
    """Run every cross-dataset check; events are settled (deduplicated) before placements cite them.

    Each check reads only the columns it needs and returns the flagged cells; the valid rows themselves
    are never copied (lazy in, lazy out).
    """
    out_valid, out_held, failures = dict(valid), {}, {}
    for dataset in ("training_cohorts", "job_fairs"):
        cells = flag_duplicates(valid[dataset], catalog.descriptors[dataset])
        out_valid[dataset], out_held[dataset], failures[dataset] = _hold(valid[dataset], cells, catalog.descriptors[dataset], rules)
    placements = valid["placements"]
    cells = pl.concat([check_event_references(placements, out_valid, catalog), check_mid_career_age(placements, catalog)])
    # a placement held for its event or age is no first copy: duplicates are looked for among the rest
    duplicates = flag_duplicates(_without(placements, cells), catalog.descriptors["placements"])
    out_valid["placements"], out_held["placements"], failures["placements"] = _hold(
        placements, pl.concat([cells, duplicates]), catalog.descriptors["placements"], rules)
    return CrossChecked(valid=out_valid, quarantined=out_held, failures=pl.concat(failures.values()))
