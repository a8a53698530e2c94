"""The pipeline's nodes: each composes stage functions into one step the flow runs as a task.

Like Kedro's nodes, these are plain functions over plain values (no Prefect):
the flow in `flows/nightly.py` maps and orders them, tests and benchmarks can
call them directly. Data moves one way: ingest -> settle -> report ->
indicators -> reconcile -> compile -> publish.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from pledgeflow import cache, history, operations, publish
from pledgeflow.aggregate import build_indicators
from pledgeflow.catalog import Catalog, load_catalog
from pledgeflow.crosscheck import apply_cross_checks
from pledgeflow.ingest import DeliveryResult, combine_results, process_delivery
from pledgeflow.manifest import build_manifest, write_manifest
from pledgeflow.privacy import mask_text
from pledgeflow.reading import discover_deliveries
from pledgeflow.reconcile import reconcile_all
from pledgeflow.reported import Report, build_budget_table, load_report, report_results, report_targets
from pledgeflow.settings import Settings
from pledgeflow.validation import load_rules, typed_view


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


@dataclass(frozen=True)
class Settled:
    """All deliveries after validation and cross-dataset checks."""

    valid: dict[str, pl.DataFrame]
    quarantined: dict[str, pl.DataFrame]
    failures: pl.DataFrame
    file_counts: pl.DataFrame
    delivered: dict[str, pl.DataFrame]  # quarantined rows as delivered (masked), for the review pack


def hold_run_lock(settings: Settings, wait_seconds: float = 0):
    """One run at a time per project (context manager; raises operations.RunInProgress)."""
    return operations.run_lock(settings.state_dir, wait_seconds)


def start_run(settings: Settings) -> RunContext:
    return RunContext(history.next_run_number(settings.state_dir), datetime.now(timezone.utc))


def load_settings_catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.schemas_dir)


def find_deliveries(settings: Settings, catalog: Catalog) -> pl.DataFrame:
    return discover_deliveries(settings.raw_dir, catalog)


def cache_context(settings: Settings) -> str:
    """What every delivery's cached result depends on besides its bytes (schemas, code, key)."""
    return cache.context_digest(settings.schemas_dir, settings.pseudonym_key)


def ingest_file(delivery: dict, catalog: Catalog, settings: Settings, context: str | None = None,
                full: bool = True) -> tuple[DeliveryResult, str, bool]:
    """One row of `find_deliveries` -> (its validated result, cache key, reused?).

    With a `context` and not `full`, an unchanged delivery's result is reused instead of read again.
    """
    key = cache.result_key(delivery["dataset"], delivery["source_file"], delivery["sha256"], context or "")
    cache_dir = settings.state_dir / "cache"
    if context and not full and (cached := cache.load_result(cache_dir, key)) is not None:
        return cached, key, True
    result = process_delivery(
        Path(delivery["path"]), delivery["dataset"], delivery["source_file"], catalog, settings.schemas_dir, settings.pseudonym_key
    )
    if context:
        cache.store_result(cache_dir, key, result)
    return result, key, False


def prune_cache(settings: Settings, keys: list[str]) -> int:
    return cache.prune_results(settings.state_dir / "cache", set(keys))


def guard_thresholds(settled: "Settled", catalog: Catalog) -> None:
    """Raise RunBlocked (nothing is published) when a dataset is past its limits."""
    breaches = operations.check_thresholds(settled.file_counts, settled.failures, catalog)
    if breaches.height:
        raise operations.RunBlocked("; ".join(breaches["message"].to_list()))


def settle_deliveries(results: list[DeliveryResult], catalog: Catalog, settings: Settings) -> Settled:
    """Combine per-file results and apply cross-dataset checks; counts per file stay exact."""
    valid, held, failures = combine_results(results, catalog, settings.schemas_dir, settings.pseudonym_key)
    crossed = apply_cross_checks(valid, catalog, load_rules(settings.schemas_dir))
    quarantined = {d: pl.concat([held[d], crossed.quarantined[d]]) for d in held}
    counts = count_rows(results, crossed.quarantined)
    delivered = {
        d: pl.concat([*[r.delivered for r in results if r.dataset == d and r.delivered.width],
                      typed_view(crossed.quarantined[d], catalog.descriptors[d])]).sort("source_file", "source_row")
        for d in held
    }
    return Settled(crossed.valid, quarantined, pl.concat([failures, crossed.failures]), counts, delivered)


def count_rows(results: list[DeliveryResult], moved: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per file: read = valid + quarantined, after cross-checks moved rows into quarantine."""
    per_file = pl.DataFrame([r.counts for r in results], schema_overrides={"header_row": pl.Int64, "encoding": pl.String,
                                                                        "file_error": pl.String})
    moved_counts = pl.concat([m.select("source_file") for m in moved.values() if m.height] or [pl.DataFrame(schema={"source_file": pl.String})])
    moved_counts = moved_counts.group_by("source_file").agg(pl.len().cast(pl.Int64).alias("moved"))
    return (
        per_file.join(moved_counts, on="source_file", how="left")
        .with_columns(pl.col("moved").fill_null(0))
        .with_columns((pl.col("rows_valid") - pl.col("moved")).alias("rows_valid"),
                      (pl.col("rows_quarantined") + pl.col("moved")).alias("rows_quarantined"))
        .drop("moved")
        .sort("dataset", "source_file")
    )


def read_report(settings: Settings, catalog: Catalog) -> Report:
    return load_report(settings.raw_dir / "reported", catalog, settings.schemas_dir)


def compute_indicators(settled: Settled, report: Report, catalog: Catalog) -> pl.DataFrame:
    return build_indicators(settled.valid, settled.quarantined, report_targets(report), report_results(report), catalog)


def compute_reconciliation(indicators: pl.DataFrame, settled: Settled, report: Report, catalog: Catalog) -> pl.DataFrame:
    return reconcile_all(indicators, settled.valid["training_cohorts"], settled.valid["job_fairs"], report, catalog)


def compile_tables(
    run: RunContext, settings: Settings, settled: Settled, indicators: pl.DataFrame, reconciliation: pl.DataFrame,
    report: Report, catalog: Catalog, step_seconds: dict[str, float], files_reused: int,
) -> dict[str, pl.DataFrame]:
    """The curated tables of this run, with its row in the run history."""
    previous = publish.read_current(settings.curated_dir, "validation_failures")
    failures = history.track_failures(settled.failures, previous, run.run_number)
    totals = settled.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined").sum())
    warnings = operations.collect_warnings(settled.file_counts, settled.failures, reconciliation)
    run_row = {
        **run_metadata(run, step_seconds), "status": operations.run_status(warnings),
        "message": "; ".join(warnings) or None, "files_read": settled.file_counts.height, "files_reused": files_reused,
        **totals.row(0, named=True),
        "mismatches": reconciliation.filter(pl.col("status") != "match").height,
        "failures_new": failures.filter(pl.col("state") == "new").height,
        "failures_resolved": history.count_resolved(failures, previous), "version": run.version,
    }
    runs = history.record_run(settings.state_dir, run_row)
    return {
        "indicators": indicators,
        "budget": build_budget_table(report, catalog),
        "reconciliation": reconciliation,
        "validation_failures": failures,
        "runs": runs,
    }


def make_manifest(run: RunContext, deliveries: pl.DataFrame, settled: Settled, status: str, reused: list[str]) -> dict:
    """The run manifest: inputs with hashes, per-file counts (conservation checked), reused files."""
    return build_manifest(
        run.run_number, run.run_id, run.started_at, datetime.now(timezone.utc), deliveries,
        settled.file_counts, outputs={}, status=status,
        extra={"version": run.version, "reused_files": reused},
    )


def publish_tables(run: RunContext, settings: Settings, tables: dict[str, pl.DataFrame], manifest: dict) -> publish.PublishResult:
    """Write-audit-publish the curated tables; keep a copy of the manifest in the state folder."""
    result = publish.publish_version(settings.curated_dir, settings.schemas_dir, run.version, tables, manifest,
                                     keep_versions=settings.keep_versions)
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
    status = "blocked" if isinstance(error, operations.RunBlocked) else "failed"
    message = mask_text(f"{type(error).__name__}: {error}")
    history.record_run(settings.state_dir, {**run_metadata(run, step_seconds), "status": status,
                                            "message": message, "version": None})


def summarise_run(run: RunContext, settings: Settings, settled: Settled, tables: dict[str, pl.DataFrame],
                  published: publish.PublishResult) -> dict:
    """What the CLI prints and the flow returns: where the tables are and what the run counted."""
    reconciliation = tables["reconciliation"]
    this_run = tables["runs"].filter(pl.col("run_number") == run.run_number).row(0, named=True)
    status = this_run["status"]
    totals = settled.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined").sum()).row(0, named=True)
    return {
        "run_id": run.run_id,
        "status": status,
        "version": published.version,
        "curated_path": str(settings.curated_dir / "current"),
        "version_path": str(published.path),
        "files": settled.file_counts.height,
        "unreadable_files": settled.file_counts.filter(pl.col("file_error").is_not_null()).height,
        **totals,
        "files_reused": this_run["files_reused"],
        "reconciliation_mismatches": reconciliation.filter(pl.col("status") != "match").height,
        "warnings": this_run["message"] or "",
    }


def summary_markdown(summary: dict) -> str:
    """The run summary as a markdown table (a Prefect artifact)."""
    lines = [f"# pledgeflow {summary['run_id']}: {summary['status']}", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in summary.items()]
    return "\n".join(lines)


def reconciliation_rows(reconciliation: pl.DataFrame) -> list[dict]:
    """Reconciliation rows for a table artifact: disagreements first."""
    order = pl.col("status").replace_strict({"mismatch": 0, "malformed": 1, "not_reported": 2, "match": 3}, default=4)
    columns = ["status", "kind", "subject", "period", "expected", "observed", "observed_text", "message_ko", "message_en"]
    return reconciliation.sort(order, "check_id").select(columns).to_dicts()
