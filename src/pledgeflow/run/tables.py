"""A run's curated tables: compiled from the stages' results and the histories, then published together.

`compile_tables` adds what only a run knows (failure states against the previous version, the failure
trend, the run's own row in the history); `publish_tables` hands them to write-audit-publish with the
review pack, and records the histories once the version is current. No Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.aggregate import build_holdbacks
from pledgeflow.aggregate.dimensions import build_dimension_tables
from pledgeflow.aggregate.unassigned import find_unassigned
from pledgeflow.card import Report, build_budget_table
from pledgeflow.card.tables import build_card_tables
from pledgeflow.project import Project
from pledgeflow.publish import PublishResult, publish_version, read_current, write_manifest
from pledgeflow.publish.recovery import crash_point
from pledgeflow.run import history
from pledgeflow.run.bookkeeping import RunContext, run_metadata, run_status, run_warnings
from pledgeflow.settle import Settled

if TYPE_CHECKING:
    from pledgeflow.publish.audit_apart import AuditWorker


def compile_tables(run: RunContext, project: Project, settled: Settled, indicators: pl.DataFrame,
                   reconciliation: pl.DataFrame, report: Report, step_seconds: dict[str, float],
                   files_reused: int) -> dict[str, pl.DataFrame]:
    """The curated tables of this run, with its rows in the run and failure-trend histories (stored at publish)."""
    settings, catalog = project.settings, project.catalog
    previous = read_current(settings.curated_dir, "validation_failures")
    failures = history.track_failures(project.contract("validation_failures"), settled.failures, previous,
                                      run.run_number, settled.dispositions, settled.corrected_failures)
    trend = history.merge_trend(history.read_trend(settings.state_dir),
                                history.count_trend(failures, previous, run.run_number, tuple(catalog.descriptors)))
    totals = settled.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined").sum())
    warnings = run_warnings(settled, reconciliation, project)
    run_row = {
        **run_metadata(run, step_seconds), "status": run_status(warnings),
        "message": "; ".join(warnings) or None, "files_read": settled.file_counts.height, "files_reused": files_reused,
        **totals.row(0, named=True),
        "mismatches": reconciliation.filter(pl.col("status") != "match").height,
        "failures_new": failures.filter(pl.col("state") == "new").height,
        "failures_resolved": history.count_resolved(failures, previous), "version": run.version,
    }
    runs = project.contract("runs")
    return {
        "indicators": indicators,
        "indicator_holdbacks": build_holdbacks(settled.quarantined, settled.failures, catalog),
        "budget": build_budget_table(report, catalog, project.contract("budget")),
        "reconciliation": reconciliation,
        "validation_failures": failures,
        "failure_trend": trend,
        "decisions": settled.decisions,
        "runs": history.merge_run(history.read_runs(settings.state_dir, runs), run_row, runs),
        "unassigned_records": find_unassigned(settled.valid, catalog, project.contract("unassigned_records")),
        **build_dimension_tables(catalog, project.contracts),  # pledge_indicators, pledge_periods: the catalog as tables
        **build_card_tables(report, catalog, project.contracts),  # pledges, card_attributes, card_activities: the report reads them
    }


def publish_tables(run: RunContext, project: Project, tables: dict[str, pl.DataFrame], manifest: dict,
                   settled: Settled, auditor: AuditWorker | None = None) -> PublishResult:
    """Write-audit-publish: the tables, the review pack, the pledge report and Data Docs go live together, or not at all.

    `auditor` audits in its own process (started early by the run); without one, the audit runs here.
    A failed audit raises BlockedByAudit (exit 4); any other error propagates (exit 1; the worker's own failures
    as AuditWorkerError, its I/O errors as OSError). Either way the previous version stays current.
    """
    settings = project.settings

    def extras(staging: Path) -> None:
        from pledgeflow.report.apart import ReportBuild
        from pledgeflow.steward.review_pack import unknown_columns_frame, write_review_pack

        # the pledge report reads the version's own tables, exactly as a dashboard would, in a process of its own
        # (started first: it draws charts on one core while this one writes the review pack, beside the audit)
        report = ReportBuild(staging, staging / "report", settings.schemas_dir / "report" / "status_rule.yaml",
                             chart_cache=settings.chart_cache_dir)
        try:
            write_review_pack(staging / "review", tables["validation_failures"], pack_values(settled), project.catalog,
                              run.run_id, tables["failure_trend"], contract=project.contract("validation_failures"),
                              corrections=pack_corrections(settled), unknown_columns=unknown_columns_frame(settled.file_counts),
                              unassigned=tables.get("unassigned_records"))
        except BaseException:
            report.cancel()
            raise
        report.wait()

    def audit(staging: Path) -> None:
        from pledgeflow.publish.audit import audit_version  # Great Expectations is imported inside it only

        (auditor.audit if auditor is not None else audit_version)(staging, settings.suites_dir)

    result = publish_version(settings.curated_dir, settings.schemas_dir, run.version, tables, manifest,
                             audit=audit, keep_versions=settings.keep_versions, extras=extras)
    crash_point("published")
    # the histories say "published" only once the version is current
    history.record_history(settings.state_dir, tables["runs"], tables["failure_trend"])
    crash_point("recorded")
    write_manifest(settings.state_dir / "runs" / run.run_id / "manifest.json", manifest | {"outputs": result.files})
    return result


def keep_blocked_review(run: RunContext, project: Project, settled: Settled, reason: str) -> Path:
    """A run blocked by its data keeps its failures (with their states) and review pack in state/runs/<run_id>/review/."""
    from pledgeflow.steward.blocked import write_blocked_pack

    settings, contract = project.settings, project.contract("validation_failures")
    previous = read_current(settings.curated_dir, "validation_failures")
    failures = history.track_failures(contract, settled.failures, previous, run.run_number, settled.dispositions,
                                      settled.corrected_failures)
    return write_blocked_pack(settings.state_dir, run.run_id, run.run_number, reason, failures, pack_values(settled),
                              project.catalog, contract, pack_corrections(settled))


def pack_values(settled: Settled) -> dict[str, pl.DataFrame]:
    """Each failing record's values as delivered: a corrected record's original values first, then the rest."""
    return {d: pl.concat([settled.originals[d], frame], how="diagonal_relaxed") if settled.originals.get(d) is not None
            and settled.originals[d].height else frame for d, frame in settled.delivered.items()}


def pack_corrections(settled: Settled) -> pl.DataFrame:
    """The corrections this run applied or tried (still failing), for the pack's before → after column."""
    return settled.decisions.filter((pl.col("action") == "correct") & pl.col("outcome").is_in(["applied", "still_failing"])).select(
        "dataset", "source_file", "source_row", "column", "new_value", "outcome")
