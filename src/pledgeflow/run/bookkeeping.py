"""Run bookkeeping: run numbers, the run's row in the history, its warnings policy, its summary, its manifest.

Everything here is run metadata: the only place wall-clock values live (DESIGN invariant 3). No Prefect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from pledgeflow import storage
from pledgeflow.clock import now_utc, seoul_date
from pledgeflow.contracts import load_contracts
from pledgeflow.errors import NotPublished
from pledgeflow.privacy import mask_text
from pledgeflow.project import Project
from pledgeflow.publish.manifest import build_manifest
from pledgeflow.run import history
from pledgeflow.settings import Settings
from pledgeflow.settle import Settled


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
        return seoul_date(self.started_at)


def start_run(project: Project) -> RunContext:
    """The next run: the state a crashed run left is healed first (staging cleared, history repaired from the
    current version), then the run is numbered past every run and version on disk."""
    from pledgeflow.publish.recovery import clear_staging

    settings = project.settings
    clear_staging(settings.curated_dir)
    if not storage.is_remote(settings.curated_dir):
        history.repair_history(settings.state_dir, Path(settings.curated_dir), project.contract("runs"))
    return RunContext(history.next_run_number(settings.state_dir, settings.curated_dir), now_utc())


def run_metadata(run: RunContext, step_seconds: dict[str, float]) -> dict:
    finished = now_utc()
    return {
        "run_number": run.run_number, "run_id": run.run_id, "started_at": run.started_at, "finished_at": finished,
        "duration_s": round((finished - run.started_at).total_seconds(), 3),
        "step_seconds_json": json.dumps({k: round(v, 3) for k, v in step_seconds.items()}, sort_keys=True),
    }


def collect_warnings(file_counts: pl.DataFrame, failures: pl.DataFrame, reconciliation: pl.DataFrame) -> list[str]:
    """What makes a published run 'completed_with_warnings' rather than 'completed'."""
    warnings = []
    quarantined = int(file_counts["rows_quarantined"].sum())
    unreadable = file_counts.filter(pl.col("file_error").is_not_null()).height
    mismatches = reconciliation.filter(pl.col("status") != "match").height
    flagged = failures.filter(pl.col("severity") == "warning").height
    if quarantined:
        warnings.append(f"{quarantined} rows quarantined")
    if unreadable:
        warnings.append(f"{unreadable} unreadable file(s)")
    if flagged:
        warnings.append(f"{flagged} warning-level failures")
    if mismatches:
        warnings.append(f"{mismatches} reconciliation rows not matching")
    return warnings


def skipped_files(project: Project) -> pl.DataFrame:
    """Files under the dataset folders that were not read, with the reason (ingest.discover_skipped)."""
    from pledgeflow.ingest.discover import discover_skipped

    return discover_skipped(project.settings.raw_dir, project.catalog)


def run_warnings(settled: Settled, reconciliation: pl.DataFrame, project: Project) -> list[str]:
    """Every warning of a run that publishes: data warnings, skipped files, datasets with no delivery, stale decisions."""
    warnings = collect_warnings(settled.file_counts, settled.failures, reconciliation)
    skipped = skipped_files(project).filter(pl.col("reason") != "readme")  # a README is expected, not news
    if skipped.height:
        reasons = skipped.group_by("reason").len().sort("reason").select(pl.format("{} {}", "len", "reason").str.join(", ")).item()
        warnings.append(f"{skipped.height} file(s) skipped ({reasons})")
    delivered = set(settled.file_counts["dataset"])
    warnings += [f"no delivery file for {d} under raw/{descriptor.folder}/"
                 for d, descriptor in project.catalog.descriptors.items() if d not in delivered]
    stale = settled.decisions.filter(pl.col("outcome").str.starts_with("stale")).height
    return warnings + ([f"{stale} stale decision(s)"] if stale else [])


def run_status(warnings: list[str]) -> str:
    return "completed_with_warnings" if warnings else "completed"


def record_unpublished(run: RunContext, project: Project, error: BaseException, step_seconds: dict[str, float]) -> None:
    """Record a run that did not publish in the history: `blocked` for a verdict, `failed` for anything else."""
    write_unpublished(run, project.settings.state_dir, project.contract("runs"), error, step_seconds)


def record_refused(settings: Settings, error: BaseException) -> None:
    """Record a run refused before its project loaded (a broken catalog: blocked, exit 3), numbered as any run.

    An operator reading `pledgeflow runs` after a night sees it beside the runs that did start."""
    contract = load_contracts(settings.schemas_dir / "curated")["runs"]
    run = RunContext(history.next_run_number(settings.state_dir, settings.curated_dir), now_utc())
    write_unpublished(run, settings.state_dir, contract, error, {})


def write_unpublished(run: RunContext, state_dir: Path, contract: dict[str, pl.DataType], error: BaseException,
                      step_seconds: dict[str, float]) -> None:
    status = "blocked" if isinstance(error, NotPublished) else "failed"
    message = mask_text(f"{type(error).__name__}: {error}")
    history.record_run(state_dir, {**run_metadata(run, step_seconds), "status": status, "message": message, "version": None},
                       contract)


def make_manifest(run: RunContext, deliveries: pl.DataFrame, settled: Settled, status: str, reused: list[str],
                  skipped: pl.DataFrame | None = None) -> dict:
    """The run manifest: inputs with hashes, per-file counts (conservation checked), reused files, skipped files."""
    listed = [] if skipped is None else skipped.select("dataset", "source_file", "reason", "message_en").to_dicts()
    return build_manifest(
        run.run_number, run.run_id, run.started_at, now_utc(), deliveries,
        settled.file_counts, outputs={}, status=status,
        extra={"version": run.version, "reused_files": reused, "skipped_files": listed},
    )


def summarise_run(run: RunContext, project: Project, settled: Settled, tables: dict[str, pl.DataFrame], version: str,
                  version_path: object) -> dict:
    """What the CLI prints and the flow returns: where the tables are and what the run counted."""
    curated = project.settings.curated_dir
    this_run = tables["runs"].filter(pl.col("run_number") == run.run_number).row(0, named=True)
    counts = settled.file_counts.select(pl.col("rows_read", "rows_valid", "rows_quarantined", "rows_excluded").sum())
    return {
        "run_id": run.run_id,
        "status": this_run["status"],
        "version": version,
        "curated_path": str(curated / "current"),
        "version_path": str(version_path),
        "review_pack": str(curated / "current" / "review" / "review_pack.html"),
        "data_docs": str(curated / "current" / "data_docs" / "index.html"),
        "pledge_report": str(curated / "current" / "report" / "index.html"),
        "files": settled.file_counts.height,
        "files_reused": this_run["files_reused"],
        "unreadable_files": settled.file_counts.filter(pl.col("file_error").is_not_null()).height,
        "skipped_files": [f"{r['source_file']}: {r['reason']}" for r in skipped_files(project).iter_rows(named=True)],
        **counts.row(0, named=True),
        "decisions_applied": settled.decisions.filter(pl.col("outcome") == "applied").height,
        "decisions_stale": settled.decisions.filter(pl.col("outcome").str.starts_with("stale")).height,
        "reconciliation_mismatches": tables["reconciliation"].filter(pl.col("status") != "match").height,
        "warnings": this_run["message"] or "",
        "unknown_columns": unknown_columns_summary(settled.file_counts),
    }


def unknown_columns_summary(file_counts: pl.DataFrame) -> str:
    """'file: header → suggestion; ...' for the columns no descriptor maps (the run log warns about each file)."""
    if "unknown_columns" not in file_counts.columns:
        return ""
    rows = file_counts.select("source_file", pl.col("unknown_columns")).explode("unknown_columns").drop_nulls("unknown_columns")
    return "; ".join(f"{f}: {u['header']}" + (f" → {u['suggestion']}" if u["suggestion"] else "") for f, u in rows.iter_rows())
