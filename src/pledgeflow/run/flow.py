"""The nightly Prefect flow: the one orchestration layer. Tasks are declared here and nowhere else.

Each task is a thin wrapper over one stage function (the stages are pure and Prefect-free); deliveries
are mapped one task per batch (`pledgeflow.run.batches`), each file validated and cached on its own. A
failed task fails the run: every mapped future is waited on and checked. Only file-system errors are
retried: a data problem does not go away by trying again.

Verdicts (`pledgeflow.errors.NotPublished`: blocked by data, blocked by the audit, locked) are raised by
the stage that finds them and travel up unchanged; the flow turns the one it ends with into a Failed
state with a plain message, and the CLI into an exit code. They are logged as one line, never with a
traceback; an unexpected error keeps its traceback. A run that publishes ends Completed with a message
naming its version; with warnings (quarantined rows, mismatches with the card, unreadable files...) its
state is named CompletedWithWarnings and its message lists them, so the Prefect UI shows them at a glance.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager, suppress

import polars as pl
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from pledgeflow import aggregate, card, ingest, settle
from pledgeflow.errors import BlockedByData, NotPublished
from pledgeflow.ingest import cache
from pledgeflow.ingest.bounded import stop_forkserver
from pledgeflow.ingest.shape_report import WARNING, shape_lines
from pledgeflow.privacy import install_log_masking
from pledgeflow.project import Project
from pledgeflow.publish.audit_apart import AuditWorker
from pledgeflow.run import artifacts, bookkeeping
from pledgeflow.run.batches import batch_deliveries
from pledgeflow.run.lock import run_lock
from pledgeflow.run.tables import compile_tables, keep_blocked_review, publish_tables
from pledgeflow.settings import Settings

# Polars already uses every core inside a task: a few files at a time is enough, and bounds memory.
DEFAULT_TASK_WORKERS = 4
# Below this much to read (a few seconds of reading on 2 cores), the audit worker starts before reading (start_audit_early)
EARLY_AUDIT_BYTES = 128 * 2**20


def retry_on_io(task, task_run, state) -> bool:
    """Retry a task only when it failed on I/O (a busy network share, a file being copied in)."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


# Frames and catalogs are not worth hashing for Prefect's cache: reuse is by content hash in pledgeflow.ingest.cache.
step = task(cache_policy=NO_CACHE)
io_step = task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io)


@io_step(task_run_name="discover deliveries")
def discover(project):
    deliveries = ingest.discover_deliveries(project.settings.raw_dir, project.catalog)
    skipped = ingest.discover_skipped(project.settings.raw_dir, project.catalog)
    logger = get_run_logger()
    logger.info("Found %d delivery files under raw/.", deliveries.height)
    for row in skipped.iter_rows(named=True):  # every file is accounted for: read, or skipped with its reason
        (logger.info if row["reason"] == "readme" else logger.warning)("Skipped %s: %s", row["source_file"], row["message_en"])
    return deliveries, skipped


@io_step(task_run_name="reuse unchanged deliveries")
def reuse_unchanged(deliveries, project, context):
    """One task for every unchanged delivery: reused results cost no task run each."""
    found = ingest.load_unchanged(deliveries, project, context)
    get_run_logger().info("%d of %d deliveries are unchanged: their validated results are reused.", len(found), deliveries.height)
    return found


@io_step(task_run_name="ingest {name}")
def ingest_batch(name, deliveries, project, context, full=False):
    """One batch's deliveries (a district's files); each file is read, validated and cached on its own."""
    ingested = [ingest.ingest_cached(delivery, project, context, refresh=full) for delivery in deliveries]
    logger = get_run_logger()
    for result, _ in ingested:
        counts = result.counts
        line = (f"{result.source_file}: read {result.rows_read} rows, {counts['rows_valid']} valid, "
                f"{counts['rows_quarantined']} quarantined.")
        if result.file_error:
            logger.warning("%s The file could not be read: %s", line, result.file_error)
        elif counts["rows_quarantined"]:
            logger.warning("%s", line)
        else:
            logger.info("%s", line)
        for level, said in shape_lines(counts):
            (logger.warning if level == WARNING else logger.info)("%s: %s", result.source_file, said)
    return ingested


@step(task_run_name="settle records")
def settle_records(results, project, run):
    settled = settle.settle_records(results, project, run.local_date)
    artifacts.log_settled(get_run_logger(), settled)
    try:
        settle.enforce_thresholds(settled, project.catalog)  # raises BlockedByData past a dataset's limits
    except BlockedByData as verdict:  # the steward still needs the failures that blocked the run
        pack = keep_blocked_review(run, project, settled, str(verdict))
        get_run_logger().error("Blocked: the review pack of the failures that blocked the run is %s", pack)
        raise
    return settled


@io_step(task_run_name="load the card's register")
def load_report(project):
    return card.load_report(project)  # raises ReportError (blocked by its data) when the register is unreadable


@step(task_run_name="count indicators")
def count_indicators(settled, report, project):
    indicators = aggregate.count_indicators(settled, report, project)
    get_run_logger().info("Counted %d indicator cells.", indicators.height)
    return indicators


@step(task_run_name="reconcile with the card")
def reconcile(indicators, settled, report, project):
    table = card.reconcile_settled(indicators, settled, report, project)
    off = table.filter(pl.col("status") != "match").height
    log = get_run_logger().warning if off else get_run_logger().info
    log("Reconciliation: %d checks, %d not matching the card.", table.height, off)
    return table


@step(task_run_name="compile curated tables")
def compile_run_tables(run, project, settled, indicators, reconciliation, report, step_seconds, files_reused):
    return compile_tables(run, project, settled, indicators, reconciliation, report, step_seconds, files_reused)


@io_step(task_run_name="publish {run.version}")
def publish(run, project, tables, manifest, settled, auditor=None):
    result = publish_tables(run, project, tables, manifest, settled, auditor)  # raises BlockedByAudit on a failed audit
    get_run_logger().info("Published %s at %s.", result.version, result.path)
    return result


@step(task_run_name="prune the cache")
def prune_cache(project, keys):
    cache.prune_results(cache.cache_dir(project), set(keys))


@step(task_run_name="report the run")
def report_run(summary, tables, curated_url):
    artifacts.create_run_artifacts(summary, tables, curated_url)


class StepClock:
    """Seconds per step, for the run history (orchestration metadata, not data)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class QuietVerdicts(logging.Filter):
    """A verdict is one plain line in the log: drop the traceback Prefect attaches to a task's exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], NotPublished):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_verdict_tracebacks() -> None:
    logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, QuietVerdicts) for f in logger.filters):
        logger.addFilter(QuietVerdicts())


@flow(name="pledgeflow-nightly", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_TASK_WORKERS))
def nightly(root: str | None = None, full: bool = False, wait_seconds: float = 0) -> dict:
    """Ingest, validate, aggregate, reconcile and publish once; its state's result is a summary of the run.

    full: re-read every delivery even if unchanged; wait_seconds: how long to wait for another run's lock.
    """
    quiet_verdict_tracebacks()
    install_log_masking()  # file names, headers and messages in log lines: masked before any handler sees them
    settings = Settings.from_root(root)
    try:
        with run_lock(settings.state_dir, wait_seconds):
            return finished_state(run_once(load_project(settings), full), get_run_logger())
    except NotPublished as verdict:
        get_run_logger().error("Nothing was published: %s", verdict)
        return Failed(message=str(verdict), data=verdict)


def load_project(settings: Settings) -> Project:
    """The project, loaded once per run; a configuration the run refuses (a broken catalog) is in the history too."""
    try:
        return Project.load(settings)
    except Exception as error:
        with suppress(Exception):  # configuration too broken to keep a history with: the error itself says why
            bookkeeping.record_refused(settings, error)
        raise


def finished_state(summary: dict, logger) -> State:
    """Completed, or CompletedWithWarnings with the warnings in its message (and a WARNING line in the log)."""
    if summary["status"] == "completed":
        return Completed(message=f"Published {summary['version']}.", data=summary)
    message = artifacts.warnings_sentence(summary)
    logger.warning("%s", message)
    return Completed(name="CompletedWithWarnings", message=message, data=summary)


def run_once(project: Project, full: bool) -> dict:
    """One run under the lock: every step, with the run recorded in the history whatever happens."""
    run, clock, auditor = bookkeeping.start_run(project), StepClock(), None
    try:
        with clock.step("discover"):
            deliveries, skipped = discover(project)
        with clock.step("ingest"):
            context, unchanged, batches = plan_reading(deliveries, project, full)
            auditor = start_audit_early(batches)
            results, keys, reused = read_batches(context, unchanged, batches, project, full)
        with clock.step("settle"):
            auditor = auditor or AuditWorker()  # its import takes a core that settling and counting leave idle
            settled = settle_records(results, project, run)
        with clock.step("aggregate"):
            report = load_report(project)
            indicators = count_indicators(settled, report, project)
        with clock.step("reconcile"):
            reconciliation = reconcile(indicators, settled, report, project)
        with clock.step("publish"):
            tables = compile_run_tables(run, project, settled, indicators, reconciliation, report, clock.seconds,
                                        len(reused))
            manifest = bookkeeping.make_manifest(run, deliveries, settled, "published", reused, skipped)
            published = publish(run, project, tables, manifest, settled, auditor)
        prune_cache(project, keys)
    except BaseException as error:
        bookkeeping.record_unpublished(run, project, error, clock.seconds)
        raise
    finally:
        if auditor is not None:
            auditor.close()  # a run that stopped before publishing stops its worker too
    summary = bookkeeping.summarise_run(run, project, settled, tables, published.version, published.path)
    report_run(summary, tables, project.settings.curated_url)
    return summary


def plan_reading(deliveries, project: Project, full: bool) -> tuple[str, dict, dict[str, list[dict]]]:
    """(the cache context; the unchanged deliveries' results by file, reused; the batches of deliveries to read now)."""
    context = cache.project_context(project)
    unchanged = {} if full else reuse_unchanged(deliveries, project, context)
    return context, unchanged, batch_deliveries([d for d in deliveries.to_dicts() if d["source_file"] not in unchanged])


def start_audit_early(batches: dict[str, list[dict]]) -> AuditWorker | None:
    """The audit worker, started before reading when there is little to read; None when there is a lot.

    Its import (6-9 s of CPU) overlaps a short reading, which leaves a core idle, and would otherwise delay the
    publish of a small run; a long reading keeps both cores busy, so the worker then starts with settling instead.
    """
    size = sum(delivery["size_bytes"] for batch in batches.values() for delivery in batch)
    return AuditWorker() if size < EARLY_AUDIT_BYTES else None


def read_batches(context: str, unchanged: dict, batches: dict[str, list[dict]], project: Project,
                 full: bool) -> tuple[list, list[str], list[str]]:
    """(every delivery's result, reused or read now; the cache keys they use; the files reused unchanged)."""
    futures = ingest_batch.map(list(batches), list(batches.values()), project=unmapped(project),
                               context=unmapped(context), full=unmapped(full))
    wait(futures)
    ingested = [*unchanged.values(), *(pair for f in futures for pair in f.result())]  # raises if a task failed
    stop_forkserver()  # the workbook reader's server: ~150 MB the later steps do not need
    return [result for result, _ in ingested], [key for _, key in ingested], sorted(unchanged)


def with_task_runner(kind: str = "threads", workers: int = DEFAULT_TASK_WORKERS):
    """The nightly flow on threads (one machine) or on a Dask cluster of `workers` processes."""
    if kind == "threads":
        return nightly.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        cluster = {"n_workers": workers, "processes": True, "threads_per_worker": 1, "dashboard_address": None}
        return nightly.with_options(task_runner=DaskTaskRunner(cluster_kwargs=cluster))
    raise ValueError(f"unknown task runner {kind!r}: threads | dask")


if __name__ == "__main__":
    nightly()
