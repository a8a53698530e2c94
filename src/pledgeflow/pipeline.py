"""The pipeline's nodes: each composes stage functions into one step the flow runs as a task.

Like Kedro's nodes, these are plain functions over plain values (no Prefect):
the flow in `flows/nightly.py` maps and orders them, tests and benchmarks can
call them directly. Data moves one way: ingest -> settle -> report ->
indicators -> reconcile -> compile -> publish.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from pledgeflow import cache, history, operations, publish
from pledgeflow.aggregate import build_holdbacks, build_indicators
from pledgeflow.card_tables import build_card_tables
from pledgeflow.catalog import Catalog, load_catalog
from pledgeflow.frames import pick_rows
from pledgeflow.ingest import DeliveryResult, process_delivery
from pledgeflow.manifest import build_manifest, write_manifest
from pledgeflow.privacy import mask_text
from pledgeflow.reading import discover_deliveries
from pledgeflow.reconcile import reconcile_all
from pledgeflow.reported import Report, build_budget_table, load_report, report_results, report_targets
from pledgeflow.settings import Settings
from pledgeflow.settle import Settled, settle_records

SEOUL = ZoneInfo("Asia/Seoul")


@dataclass(frozen=True)
class RunContext:
    """Identity of one run: its number (deterministic) and when it started (metadata only)."""

    run_number: int
    started_at: datetime

    @property
    def run_id(self) -> str:
        return f"run-{self.run_number:06d}"

    @property
    def version(self) -> str:
        return f"v{self.run_number:06d}"

    @property
    def local_date(self) -> date:
        """The run's date in Seoul: waivers expire by it (the only data decision that depends on the clock)."""
        return self.started_at.astimezone(SEOUL).date()


def hold_run_lock(settings: Settings, wait_seconds: float = 0):
    """One run at a time per project (context manager; raises operations.RunInProgress)."""
    return operations.run_lock(settings.state_dir, wait_seconds)


def warm_up_audit() -> None:
    """Start importing Great Expectations in the background: its seconds overlap counting and reconciling,
    and the audit at publish no longer waits for them."""
    from pledgeflow.audit import preload_great_expectations

    preload_great_expectations()


def start_run(settings: Settings) -> RunContext:
    return RunContext(history.next_run_number(settings.state_dir), datetime.now(timezone.utc))


def load_settings_catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.schemas_dir)


def find_deliveries(settings: Settings, catalog: Catalog) -> pl.DataFrame:
    return discover_deliveries(settings.raw_dir, catalog)


def cache_context(settings: Settings) -> str:
    """What every delivery's cached result depends on besides its bytes (schemas, code, key)."""
    return cache.context_digest(settings.schemas_dir, settings.pseudonym_key)


def delivery_key(delivery: dict, context: str | None) -> str:
    return cache.result_key(delivery["dataset"], delivery["source_file"], delivery["sha256"], context or "")


def load_unchanged(deliveries: pl.DataFrame, settings: Settings, context: str) -> dict[str, tuple[DeliveryResult, str]]:
    """source_file -> (cached result, key) for every delivery unchanged since it was last validated."""
    found = {}
    for delivery in deliveries.to_dicts():
        key = delivery_key(delivery, context)
        if (cached := cache.load_result(settings.state_dir / "cache", key)) is not None:
            found[delivery["source_file"]] = (cached, key)
    return found


def ingest_file(delivery: dict, catalog: Catalog, settings: Settings, context: str | None = None) -> tuple[DeliveryResult, str]:
    """One row of `find_deliveries` -> (its validated result, cache key); with a `context` the result is cached."""
    result = process_delivery(
        Path(delivery["path"]), delivery["dataset"], delivery["source_file"], catalog, settings.schemas_dir, settings.pseudonym_key
    )
    key = delivery_key(delivery, context)
    if context:  # from here on its valid rows are read from the cache, only the columns a query needs
        result = cache.cache_result(settings.state_dir / "cache", key, result)
    return result, key


BATCH_BYTES = 64 * 2**20  # a task's worth of files: a task run costs tens of milliseconds of orchestration


def batch_deliveries(deliveries: list[dict], batch_bytes: int = BATCH_BYTES) -> dict[str, list[dict]]:
    """Deliveries grouped for one task each: by the folder they arrived in under their dataset's folder
    (a district's `raw/<dataset>/<district>/…`), split once a batch holds `batch_bytes` of files.

    Hundreds of small files would otherwise cost more in task runs than in reading; a big file still
    gets a task of its own. Names are the folder ("top level" for files directly under the dataset's
    folder) and a part number when a folder is split.
    """
    folders: dict[str, list[dict]] = {}
    for delivery in sorted(deliveries, key=lambda d: d["source_file"]):
        folders.setdefault("/".join(delivery["source_file"].split("/")[1:-1]) or "top level", []).append(delivery)
    batches: dict[str, list[dict]] = {}
    for folder, files in sorted(folders.items()):
        parts, size = [[]], 0
        for delivery in files:
            if parts[-1] and size + delivery["size_bytes"] > batch_bytes:
                parts.append([])
                size = 0
            parts[-1].append(delivery)
            size += delivery["size_bytes"]
        batches |= {folder if len(parts) == 1 else f"{folder} ({i}/{len(parts)})": part for i, part in enumerate(parts, 1)}
    return batches


def ingest_batch(deliveries: list[dict], catalog: Catalog, settings: Settings, context: str | None = None) -> list[tuple[DeliveryResult, str]]:
    """`ingest_file` for each delivery of one batch, in order."""
    return [ingest_file(delivery, catalog, settings, context) for delivery in deliveries]


def prune_cache(settings: Settings, keys: list[str]) -> int:
    return cache.prune_results(settings.state_dir / "cache", set(keys))


def settle_deliveries(results: list[DeliveryResult], catalog: Catalog, settings: Settings, run: RunContext) -> Settled:
    """Combine the files, apply the stewards' decisions and the cross-dataset checks."""
    return settle_records(results, catalog, settings.schemas_dir, settings.pseudonym_key,
                          settings.raw_dir / "decisions", run.local_date)


def check_thresholds(settled: Settled, catalog: Catalog) -> list[str]:
    """Why the run must not publish (a dataset past its limits), or an empty list.

    Failures of records a steward waived or excluded count no more: that is what the decision was for.
    """
    decided = settled.dispositions.filter(pl.col("state").is_in(["waived", "excluded"]))
    open_failures = settled.failures.join(decided, on=["dataset", "source_file", "source_row"], how="anti")
    return operations.check_thresholds(settled.file_counts, open_failures, catalog)["message"].to_list()


def read_report(settings: Settings, catalog: Catalog) -> Report:
    return load_report(settings.raw_dir / "reported", catalog, settings.schemas_dir)


def compute_indicators(settled: Settled, report: Report, catalog: Catalog) -> pl.DataFrame:
    """Indicators from valid records, with what quarantine and the stewards' decisions moved."""
    def moved(state: str) -> dict[str, pl.DataFrame]:
        keys = settled.dispositions.filter(pl.col("state") == state)
        return {d: pick_rows(frame, mine) for d, frame in settled.valid.items()
                if not (mine := keys.filter(pl.col("dataset") == d).drop("dataset", "state")).is_empty()}

    decided = {"waived_records": moved("waived"), "corrected_records": moved("corrected"),
               "decision_excluded_records": settled.excluded}
    return build_indicators(settled.valid, settled.quarantined, report_targets(report), report_results(report), catalog,
                            decided)


def compute_reconciliation(indicators: pl.DataFrame, settled: Settled, report: Report, catalog: Catalog) -> pl.DataFrame:
    events = {d: settled.valid[d].lazy().collect() for d in ("training_cohorts", "job_fairs")}  # small: one row per event
    return reconcile_all(indicators, events["training_cohorts"], events["job_fairs"], report, catalog,
                         placements=settled.valid["placements"])


def compile_tables(
    run: RunContext, settings: Settings, settled: Settled, indicators: pl.DataFrame, reconciliation: pl.DataFrame,
    report: Report, catalog: Catalog, step_seconds: dict[str, float], files_reused: int,
) -> dict[str, pl.DataFrame]:
    """The curated tables of this run, with its rows in the run and failure-trend histories (stored at publish)."""
    previous = publish.read_current(settings.curated_dir, "validation_failures")
    failures = history.track_failures(settled.failures, previous, run.run_number, settled.dispositions,
                                      settled.corrected_failures)
    trend = history.merge_trend(history.read_trend(settings.state_dir),
                                history.count_trend(failures, previous, run.run_number, tuple(catalog.descriptors)))
    totals = settled.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined").sum())
    warnings = operations.collect_warnings(settled.file_counts, settled.failures, reconciliation)
    delivered_datasets = set(settled.file_counts["dataset"])
    warnings += [f"no delivery file for {d} under raw/{catalog.descriptors[d].folder}/"
                 for d in catalog.descriptors if d not in delivered_datasets]
    warnings += [f"{n} stale decision(s)"] if (n := settled.decisions.filter(pl.col("outcome").str.starts_with("stale")).height) else []
    run_row = {
        **run_metadata(run, step_seconds), "status": operations.run_status(warnings),
        "message": "; ".join(warnings) or None, "files_read": settled.file_counts.height, "files_reused": files_reused,
        **totals.row(0, named=True),
        "mismatches": reconciliation.filter(pl.col("status") != "match").height,
        "failures_new": failures.filter(pl.col("state") == "new").height,
        "failures_resolved": history.count_resolved(failures, previous), "version": run.version,
    }
    return {
        "indicators": indicators,
        "indicator_holdbacks": build_holdbacks(settled.quarantined, settled.failures, catalog),
        "budget": build_budget_table(report, catalog),
        "reconciliation": reconciliation,
        "validation_failures": failures,
        "failure_trend": trend,
        "decisions": settled.decisions,
        "runs": history.merge_run(history.read_runs(settings.state_dir), run_row),
        **build_card_tables(report, catalog),  # pledges, card_attributes, card_activities: read by the pledge report
    }


def make_manifest(run: RunContext, deliveries: pl.DataFrame, settled: Settled, status: str, reused: list[str]) -> dict:
    """The run manifest: inputs with hashes, per-file counts (conservation checked), reused files."""
    return build_manifest(
        run.run_number, run.run_id, run.started_at, datetime.now(timezone.utc), deliveries,
        settled.file_counts, outputs={}, status=status,
        extra={"version": run.version, "reused_files": reused},
    )


def publish_tables(run: RunContext, settings: Settings, tables: dict[str, pl.DataFrame], manifest: dict,
                   settled: Settled, catalog: Catalog) -> publish.PublishResult:
    """Write-audit-publish: the tables, the review pack and Data Docs go live together, or not at all.

    A failed audit (contract or critical expectation) raises operations.AuditBlocked; the previous
    version stays current.
    """
    def extras(staging: Path) -> None:
        from pledgeflow.review import write_review_pack

        write_review_pack(staging / "review", tables["validation_failures"], settled.delivered, catalog, run.run_id,
                          tables["failure_trend"])

    def audit(staging: Path) -> None:
        from pledgeflow.audit import audit_version  # Great Expectations is imported here only

        audit_version(staging, settings.suites_dir)

    try:
        result = publish.publish_version(settings.curated_dir, settings.schemas_dir, run.version, tables, manifest,
                                         audit=audit, keep_versions=settings.keep_versions, extras=extras)
    except publish.PublishError as exc:
        raise operations.AuditBlocked(str(exc)) from exc
    # the histories say "published" only once the version is current
    history.record_history(settings.state_dir, tables["runs"], tables["failure_trend"])
    write_manifest(settings.state_dir / "runs" / run.run_id / "manifest.json", manifest | {"outputs": result.files})
    return result


def run_metadata(run: RunContext, step_seconds: dict[str, float]) -> dict:
    finished = datetime.now(timezone.utc)
    return {
        "run_number": run.run_number, "run_id": run.run_id, "started_at": run.started_at, "finished_at": finished,
        "duration_s": round((finished - run.started_at).total_seconds(), 3),
        "step_seconds_json": json.dumps({k: round(v, 3) for k, v in step_seconds.items()}, sort_keys=True),
    }


def fail_run(run: RunContext, settings: Settings, error: BaseException, step_seconds: dict[str, float]) -> None:
    """Record a blocked or failed run in the history (nothing was published)."""
    status = "blocked" if getattr(error, "exit_code", None) in (operations.EXIT_BLOCKED, operations.EXIT_AUDIT) else "failed"
    message = mask_text(f"{type(error).__name__}: {error}")
    history.record_run(settings.state_dir, {**run_metadata(run, step_seconds), "status": status,
                                            "message": message, "version": None})


def summarise_run(run: RunContext, settings: Settings, settled: Settled, tables: dict[str, pl.DataFrame],
                  published: publish.PublishResult) -> dict:
    """What the CLI prints and the flow returns: where the tables are and what the run counted."""
    this_run = tables["runs"].filter(pl.col("run_number") == run.run_number).row(0, named=True)
    counts = settled.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined", "rows_excluded").sum())
    return {
        "run_id": run.run_id,
        "status": this_run["status"],
        "version": published.version,
        "curated_path": str(settings.curated_dir / "current"),
        "version_path": str(published.path),
        "review_pack": str(settings.curated_dir / "current" / "review" / "review_pack.html"),
        "data_docs": str(settings.curated_dir / "current" / "data_docs" / "index.html"),
        "files": settled.file_counts.height,
        "files_reused": this_run["files_reused"],
        "unreadable_files": settled.file_counts.filter(pl.col("file_error").is_not_null()).height,
        **counts.row(0, named=True),
        "decisions_applied": settled.decisions.filter(pl.col("outcome") == "applied").height,
        "decisions_stale": settled.decisions.filter(pl.col("outcome").str.starts_with("stale")).height,
        "reconciliation_mismatches": tables["reconciliation"].filter(pl.col("status") != "match").height,
        "warnings": this_run["message"] or "",
    }
