"""Steward decisions, applied: match ledger rows to this run's records, apply them, report lineage.

The ledger itself (reading it into LEDGER_SCHEMA rows, appending to it) is `pledgeflow.steward.ledger`. Every
decision names its record by `record_id`, the content digest of the record as delivered, so it follows
the record across re-deliveries and is never applied to a record whose content changed: that is
reported as `stale_changed`.

Rules, in order: a ledger row with a problem is `invalid` (never applied, never fatal); of several
decisions on the same record and slot (a correct's column, or the record's disposition for waive /
exclude) the one with the highest decision number wins and the others are `superseded`; a waive past
its `expires_date` is `expired`; then the record is looked up by record_id (`stale_changed` /
`stale_no_match` when that fails). Corrections are applied first and re-validated, then waivers and
exclusions. Nothing here writes to `raw/`. The curated `decisions` table, one row per decision and
what became of it, is built by `pledgeflow.steward.lineage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.contracts import ROW, Rows, as_kind, pick_rows, record_id
from pledgeflow.steward.ledger import decision_number

if TYPE_CHECKING:
    from pledgeflow.project import Project

KEY = ["source_file", "source_row"]
# The curated `decisions` table: one row per decision and what became of it.
OUTCOME_SCHEMA = {"decision_id": pl.String, "outcome": pl.String, "detail": pl.String}


# ---- matching -----------------------------------------------------------------------------------


def record_locations(delivered: dict[str, pl.DataFrame], valid: dict[str, Rows]) -> pl.LazyFrame:
    """dataset, found_file, found_row, current_record_id, matched_set for every record of this run (a query)."""
    schema = {"dataset": pl.String, "found_file": pl.String, "found_row": pl.Int64, "current_record_id": pl.String,
              "matched_set": pl.String}
    parts = [
        frame.lazy().select(pl.lit(dataset).alias("dataset"), pl.col("source_file").alias("found_file"),
                            pl.col("source_row").alias("found_row"),
                            record_id(pl.col("row_digest")).alias("current_record_id"), pl.lit(kind).alias("matched_set"))
        .cast(schema)
        for kind, frames in (("quarantined", delivered), ("valid", valid))
        for dataset, frame in sorted(frames.items()) if "row_digest" in frame.lazy().collect_schema()
    ]
    return pl.concat([pl.LazyFrame(schema=schema), *parts])


def match_decisions(decisions: pl.DataFrame, delivered: dict[str, pl.DataFrame], valid: dict[str, Rows],
                    as_of: date) -> pl.DataFrame:
    """Each decision with its target record and an outcome so far.

    outcome: invalid | superseded | expired | stale_changed | stale_no_match | matched (to be applied);
    plus superseded_by, current_record_id, matched_set (quarantined | valid), matched_source_file / _row.
    By record_id, a record at the decision's own file and row is preferred, then a quarantined one.
    """
    base = decisions.with_row_index("_i").with_columns(
        pl.when(pl.col("action") == "correct").then(pl.col("column")).otherwise(pl.lit("*")).alias("_slot"))
    ok = base.filter(pl.col("problem_rule").is_null())
    winners = ok.group_by("dataset", "record_id", "_slot").agg(
        pl.col("decision_id").sort_by(decision_number(pl.col("decision_id"))).last().alias("superseded_by"))
    ok = ok.join(winners, on=["dataset", "record_id", "_slot"], how="left").with_columns(
        pl.when(pl.col("superseded_by") != pl.col("decision_id")).then("superseded_by").alias("superseded_by"))
    expired = (pl.col("action") == "waive") & (pl.col("expires_date") < pl.lit(as_of))
    pending = ok.filter(pl.col("superseded_by").is_null() & ~expired.fill_null(False))
    places = named_records(record_locations(delivered, valid), pending)
    exact = (pl.col("found_file") == pl.col("source_file")) & (pl.col("found_row") == pl.col("source_row"))
    by_id = (
        pending.select("_i", "dataset", "record_id", "source_file", "source_row")
        .join(places, left_on=["dataset", "record_id"], right_on=["dataset", "current_record_id"], how="inner")
        .sort("_i", exact.fill_null(False), pl.col("matched_set") == "quarantined", "found_file", "found_row",
              descending=[False, True, True, False, False])
        .unique("_i", keep="first", maintain_order=True)
        .select("_i", "matched_set", pl.col("found_file").alias("matched_source_file"),
                pl.col("found_row").alias("matched_source_row"), pl.col("record_id").alias("current_record_id"))
    )
    by_place = (
        pending.join(by_id.select("_i"), on="_i", how="anti").select("_i", "dataset", "source_file", "source_row")
        .join(places.drop("matched_set"), left_on=["dataset", "source_file", "source_row"],
              right_on=["dataset", "found_file", "found_row"], how="inner")
        .select("_i", "current_record_id")
    )
    outcome = (
        pl.when(pl.col("problem_rule").is_not_null()).then(pl.lit("invalid"))
        .when(pl.col("superseded_by").is_not_null()).then(pl.lit("superseded"))
        .when(expired.fill_null(False)).then(pl.lit("expired"))
        .when(pl.col("matched_set").is_not_null()).then(pl.lit("matched"))
        .when(pl.col("current_record_id").is_not_null()).then(pl.lit("stale_changed"))
        .otherwise(pl.lit("stale_no_match"))
    )
    return (
        base.join(ok.select("_i", "superseded_by"), on="_i", how="left")
        .join(pl.concat([by_id, by_place], how="diagonal"), on="_i", how="left")
        .with_columns(outcome.alias("outcome"))
        .sort("_i").drop("_i", "_slot")
    )


def named_records(places: pl.LazyFrame, pending: pl.DataFrame) -> pl.DataFrame:
    """The records the pending decisions name, by record_id or by file and row (the rest is never read)."""
    if pending.is_empty():
        return places.clear().collect()
    by_id = pending.select("dataset", pl.col("record_id").alias("current_record_id")).unique()
    by_place = pending.select("dataset", pl.col("source_file").alias("found_file"),
                              pl.col("source_row").alias("found_row")).unique()
    return pl.concat([
        places.join(by_id.lazy(), on=["dataset", "current_record_id"], how="semi"),
        places.join(by_place.lazy(), on=["dataset", "found_file", "found_row"], how="semi"),
    ]).unique().collect()


# ---- applying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """The settled frames with corrected records replaced by their re-validated selves."""

    valid: dict[str, Rows]
    quarantined: dict[str, pl.DataFrame]
    failures: pl.DataFrame
    delivered: dict[str, pl.DataFrame]
    corrected_failures: pl.DataFrame  # failures of corrected records that no longer occur: state `corrected`


def apply_corrections(delivered: dict[str, pl.DataFrame], corrections: pl.DataFrame, project: Project,
                      valid: dict[str, Rows] | None = None) -> tuple[dict, pl.DataFrame]:
    """Patch each matched correction into its record's delivered view and re-validate those records.

    Returns ({dataset: ValidatedFrame of the patched records}, outcomes[decision_id, outcome, detail]) with
    outcome `applied` (now valid) or `still_failing` (detail lists the rules it still breaks). Records are
    found in `delivered` (quarantined, as delivered) and, when given, in `valid` (rebuilt from typed rows).
    Cross-dataset checks are not part of this re-validation (see `merge_corrections`).
    """
    from pledgeflow.ingest.validate import ValidatedFrame, typed_view, validate_frame

    todo = corrections.filter((pl.col("outcome") == "matched") & (pl.col("action") == "correct")).select(
        "decision_id", "dataset", pl.col("matched_source_file").alias("source_file"),
        pl.col("matched_source_row").alias("source_row"), "column", "new_value")
    revalidated, outcomes = {}, [pl.DataFrame(schema=OUTCOME_SCHEMA)]
    for dataset in sorted(set(todo["dataset"].to_list())):
        mine, descriptor = todo.filter(pl.col("dataset") == dataset), project.catalog.descriptors[dataset]
        views = [delivered[dataset].drop(ROW, strict=False).lazy()] if delivered.get(dataset) is not None and delivered[dataset].width else []
        views += [typed_view(pick_rows(valid[dataset], mine), descriptor).lazy()] if valid and dataset in valid else []
        schema = views[0].collect_schema()
        view = pl.concat([v.select(schema.names()).cast(schema) for v in views]).join(
            mine.select(KEY).unique().lazy(), on=KEY, how="semi").collect()
        checked = validate_frame(patch_view(view, mine), descriptor, project)
        result = ValidatedFrame(valid=checked.valid.drop(ROW), quarantined=checked.quarantined.drop(ROW),
                                failures=checked.failures.drop(ROW), delivered=checked.delivered.drop(ROW))
        revalidated[dataset] = result
        outcomes.append(correction_outcomes(mine, result.valid, result.failures))
    return revalidated, pl.concat(outcomes)


def patch_view(view: pl.DataFrame, corrections: pl.DataFrame) -> pl.DataFrame:
    """column := new_value for each (record, column) of `corrections`; other cells stay as delivered."""
    wide = corrections.pivot(on="column", index=KEY, values="new_value", aggregate_function="last")
    patched = [c for c in wide.columns if c not in KEY]
    return (
        view.join(wide.rename({c: f"__new_{c}" for c in patched}), on=KEY, how="left")
        .with_columns(pl.coalesce(f"__new_{c}", c).alias(c) for c in patched)
        .drop(f"__new_{c}" for c in patched)
    )


def correction_outcomes(corrections: pl.DataFrame, now_valid: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    still = (
        failures.filter(pl.col("severity") == "error")
        .select(*KEY, pl.format("{} ({})", "rule", pl.col("column").fill_null("-")).alias("failed"))
        .unique().sort("failed").group_by(KEY).agg(pl.col("failed").str.join(", ").alias("detail"))
    )
    return (
        corrections.join(now_valid.select(*KEY, pl.lit(True).alias("now_valid")), on=KEY, how="left")
        .join(still, on=KEY, how="left")
        .select("decision_id",
                pl.when(pl.col("now_valid")).then(pl.lit("applied")).otherwise(pl.lit("still_failing")).alias("outcome"),
                pl.when(pl.col("now_valid")).then(None).otherwise(pl.col("detail")).alias("detail"))
        .cast(OUTCOME_SCHEMA)
    )


def merge_corrections(valid: dict[str, Rows], quarantined: dict[str, pl.DataFrame], failures: pl.DataFrame,
                      delivered: dict[str, pl.DataFrame], revalidated: dict) -> Merged:
    """Replace every re-validated record (by dataset, source_file, source_row) with its new self.

    Row conservation holds: each record leaves exactly one of valid / quarantined and re-enters one.
    Cross-dataset checks (duplicates, cited events, age band) are not re-run here: a pipeline that needs
    them for corrected records runs `crosscheck.apply_cross_checks` on the merged valid rows.
    """
    valid, quarantined, delivered = dict(valid), dict(quarantined), dict(delivered)
    kept, added, corrected = [failures], [], []
    for dataset, result in sorted(revalidated.items()):
        keys = pl.concat([result.valid.select(KEY), result.quarantined.select(KEY)])
        valid[dataset] = _replace(valid[dataset], keys, result.valid)
        quarantined[dataset] = _replace(quarantined[dataset], keys, result.quarantined)
        if delivered.get(dataset) is not None and delivered[dataset].width:
            delivered[dataset] = _replace(delivered[dataset], keys, result.delivered)
        touched = keys.with_columns(pl.lit(dataset).alias("dataset"))
        old = failures.join(touched, on=["dataset", *KEY], how="semi")
        kept = [kept[0].join(touched, on=["dataset", *KEY], how="anti")]
        added.append(result.failures.select(failures.columns))
        corrected.append(old.join(result.failures.select("fingerprint"), on="fingerprint", how="anti"))
    return Merged(valid, quarantined, pl.concat([*kept, *added]), delivered,
                  pl.concat([failures.clear(), *corrected]))


def _replace(frame: Rows, keys: pl.DataFrame, new_rows: pl.DataFrame) -> Rows:
    schema = frame.lazy().collect_schema()
    kept = frame.lazy().join(keys.lazy(), on=KEY, how="anti")
    return as_kind(frame, pl.concat([kept, new_rows.lazy().select(schema.names()).cast(schema)]), sort=KEY)


def apply_waivers_and_exclusions(valid: dict[str, Rows], quarantined: dict[str, pl.DataFrame],
                                 decisions_matched: pl.DataFrame) -> tuple[dict, dict, dict, pl.DataFrame]:
    """Waive moves a quarantined record to valid; exclude moves a valid or quarantined record to excluded.

    Returns (valid, quarantined, excluded {dataset: typed rows + decision_id}, outcomes[decision_id,
    outcome, detail]). Records are located by the matched file and row (corrections keep them). Every
    record stays in exactly one of valid / quarantined / excluded. Lazy valid rows stay lazy.
    """
    todo = decisions_matched.filter((pl.col("outcome") == "matched") & pl.col("action").is_in(["waive", "exclude"])).select(
        "decision_id", "action", "dataset", pl.col("matched_source_file").alias("source_file"),
        pl.col("matched_source_row").alias("source_row"))
    out_valid, out_held, excluded, outcomes = {}, {}, {}, [pl.DataFrame(schema=OUTCOME_SCHEMA)]
    for dataset in sorted(valid):
        mine = todo.filter(pl.col("dataset") == dataset)
        good, held = valid[dataset], quarantined[dataset]
        if mine.is_empty():  # the usual night: nothing to move, and the valid rows are not read
            out_valid[dataset], out_held[dataset] = good, held
            excluded[dataset] = pl.DataFrame(schema={**good.lazy().collect_schema(), "decision_id": pl.String})
            continue
        drop = mine.filter(pl.col("action") == "exclude").select("decision_id", *KEY).lazy()
        waive = mine.filter(pl.col("action") == "waive").select(KEY).lazy()
        good_rows, held_rows = good.lazy(), held.lazy()
        excluded[dataset] = pl.concat([pick_rows(good, mine).lazy().join(drop, on=KEY, how="inner"),
                                       held_rows.join(drop, on=KEY, how="inner")]).collect().sort(KEY)
        moved = held_rows.join(waive, on=KEY, how="semi").join(drop, on=KEY, how="anti")
        out_valid[dataset] = as_kind(good, pl.concat([good_rows.join(drop, on=KEY, how="anti"), moved]), sort=KEY)
        out_held[dataset] = held.join(drop.collect(), on=KEY, how="anti").join(waive.collect(), on=KEY, how="anti").sort(KEY)
        outcomes.append(disposition_outcomes(mine, good_rows.select(KEY).join(mine.select(KEY).lazy(), on=KEY, how="semi").collect(),
                                             held.select(KEY)))
    return out_valid, out_held, excluded, pl.concat(outcomes)


def disposition_outcomes(decisions: pl.DataFrame, valid_keys: pl.DataFrame, held_keys: pl.DataFrame) -> pl.DataFrame:
    located = decisions.join(valid_keys.with_columns(pl.lit("valid").alias("found")), on=KEY, how="left").join(
        held_keys.with_columns(pl.lit("quarantined").alias("held")), on=KEY, how="left")
    found = pl.coalesce("held", "found")
    return located.select(
        "decision_id",
        pl.when(found.is_null()).then(pl.lit("stale_no_match")).otherwise(pl.lit("applied")).alias("outcome"),
        pl.when((pl.col("action") == "waive") & (found == "valid")).then(pl.lit("already_valid")).alias("detail"),
    ).cast(OUTCOME_SCHEMA)
