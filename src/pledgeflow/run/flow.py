"""The nightly Prefect flow: wires tasks to pledgeflow's pipeline nodes, nothing more.

Each task calls one function of `pledgeflow.run.steps`; deliveries are mapped
one task per batch (a district's folder, split past 64 MB), each file validated
and cached on its own. A failed task fails the run (every mapped future is
waited on and checked), and the CLI turns the final state into an exit code.
Only file-system errors are retried: a data problem does not go away by trying again.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, contextmanager

import polars as pl
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import wait
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from pledgeflow.run import operations

from pledgeflow.run import steps as pipeline

from pledgeflow.run import artifacts as reporting
from pledgeflow.card.register import ReportError
from pledgeflow.settings import Settings


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


@step
def load_catalog(settings):
    return pipeline.load_settings_catalog(settings)


@io_step
def find_deliveries(settings, catalog):
    deliveries = pipeline.find_deliveries(settings, catalog)
    get_run_logger().info("found %d delivery files", deliveries.height)
    return deliveries


@io_step
def load_unchanged(deliveries, settings, context):
    """One task for every unchanged delivery: reused results cost no task run each."""
    found = pipeline.load_unchanged(deliveries, settings, context)
    get_run_logger().info("%d of %d deliveries unchanged: validated results reused", len(found), deliveries.height)
    return found


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io,
      task_run_name="ingest {folder}")
def ingest_batch(folder, deliveries, catalog, settings, context):
    """One folder's deliveries (a district's files); each file is read, validated and cached on its own."""
    ingested = pipeline.ingest_batch(deliveries, catalog, settings, context)
    logger = get_run_logger()
    for result, _ in ingested:
        logger.info("%s: read %d, valid %d, quarantined %d%s", result.source_file, result.rows_read,
                    result.counts["rows_valid"], result.quarantined.height, f" — {result.file_error}" if result.file_error else "")
    return ingested


@step
def settle_deliveries(results, catalog, settings, run):
    settled = pipeline.settle_deliveries(results, catalog, settings, run)
    logger = get_run_logger()
    per_dataset = settled.file_counts.group_by("dataset").agg(pl.col("rows_valid", "rows_quarantined", "rows_excluded").sum())
    for dataset, valid, quarantined, excluded in per_dataset.sort("dataset").iter_rows():
        logger.info("%s: valid %d, quarantined %d, excluded by decision %d", dataset, valid, quarantined, excluded)
    logger.info("decisions: %s", settled.decisions.group_by("outcome").len().sort("outcome").rows() or "none")
    return settled


@step
def check_thresholds(settled, catalog):
    return pipeline.check_thresholds(settled, catalog)


@io_step
def read_report(settings, catalog):
    try:
        return pipeline.read_report(settings, catalog)
    except ReportError as unreadable:  # the register needs a person, not a retry or a traceback
        return unreadable


@step
def compute_indicators(settled, report, catalog):
    indicators = pipeline.compute_indicators(settled, report, catalog)
    get_run_logger().info("indicators: %d rows", indicators.height)
    return indicators


@step
def compute_reconciliation(indicators, settled, report, catalog):
    table = pipeline.compute_reconciliation(indicators, settled, report, catalog)
    get_run_logger().info("reconciliation: %d checks, %d not matching", table.height, (table["status"] != "match").sum())
    return table


@step
def compile_tables(run, settings, settled, indicators, reconciliation, report, catalog, step_seconds, files_reused):
    return pipeline.compile_tables(run, settings, settled, indicators, reconciliation, report, catalog, step_seconds, files_reused)


@step
def make_manifest(run, deliveries, settled, status, reused):
    return pipeline.make_manifest(run, deliveries, settled, status, reused)


@io_step
def publish_tables(run, settings, tables, manifest, settled, catalog):
    try:
        result = pipeline.publish_tables(run, settings, tables, manifest, settled, catalog)
    except operations.AuditBlocked as blocked:  # a verdict on the data, not a crash: no traceback
        return blocked
    get_run_logger().info("published %s at %s", result.version, result.path)
    return result


@step
def prune_cache(settings, keys):
    pipeline.prune_cache(settings, keys)


@step
def report_run(summary, tables):
    """Prefect artifacts: summary, failures by dataset and rule, reconciliation, links to the review pack and docs."""
    create_markdown_artifact(reporting.summary_markdown(summary), key="pledgeflow-run-summary",
                             description="pledgeflow nightly run")
    create_table_artifact(reporting.failures_by_rule(tables["validation_failures"]), key="pledgeflow-failures",
                          description="Validation failures by dataset, rule and state")
    create_markdown_artifact(reporting.reconciliation_markdown(tables["reconciliation"]), key="pledgeflow-reconciliation",
                             description="Reconciliation: records vs report and the report's own arithmetic")
    create_link_artifact(reporting.file_link(summary["review_pack"]), link_text="Review pack (검토 자료)",
                         key="pledgeflow-review-pack")
    create_link_artifact(reporting.file_link(summary["data_docs"]), link_text="Data Docs (audit)",
                         key="pledgeflow-data-docs")


def refuse(verdict: Exception):
    """End the run Failed with a plain message (a blocked run is a verdict on the data, not a crash)."""
    get_run_logger().error("%s", verdict)
    return Failed(message=str(verdict), data=verdict)


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


# Polars already uses every core inside a task: a few files at a time is enough, and bounds memory.
DEFAULT_TASK_WORKERS = 4


@flow(name="pledgeflow-nightly", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_TASK_WORKERS))
def nightly(root: str | None = None, full: bool = False, wait_seconds: float = 0) -> dict:
    """Ingest, validate, aggregate, reconcile and publish once; returns a summary of the run.

    full: re-read every delivery even if unchanged; wait_seconds: how long to wait for another run's lock.
    """
    settings = Settings.from_root(root)
    clock = StepClock()
    with ExitStack() as held:
        try:
            held.enter_context(pipeline.hold_run_lock(settings, wait_seconds))
        except operations.RunInProgress as busy:
            return refuse(busy)
        run = pipeline.start_run(settings)
        try:
            with clock.step("discover"):
                catalog = load_catalog(settings)
                deliveries = find_deliveries(settings, catalog)
            with clock.step("ingest"):
                context = pipeline.cache_context(settings)
                unchanged = {} if full else load_unchanged(deliveries, settings, context)
                batches = pipeline.batch_deliveries([d for d in deliveries.to_dicts() if d["source_file"] not in unchanged])
                futures = ingest_batch.map(list(batches), list(batches.values()), catalog=unmapped(catalog),
                                           settings=unmapped(settings), context=unmapped(context))
                wait(futures)
                ingested = [*unchanged.values(), *(pair for f in futures for pair in f.result())]  # raises if a task failed
                results = [result for result, _ in ingested]
                reused = sorted(unchanged)
            with clock.step("settle"):
                settled = settle_deliveries(results, catalog, settings, run)
                if breaches := check_thresholds(settled, catalog):
                    blocked = operations.RunBlocked("; ".join(breaches))
                    pipeline.fail_run(run, settings, blocked, clock.seconds)
                    return refuse(blocked)
            if isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner):  # else publish runs elsewhere
                pipeline.warm_up_audit()  # counting and reconciling are polars work: they leave the GIL to the import
            with clock.step("aggregate"):
                report = read_report(settings, catalog)
                if isinstance(report, ReportError):
                    pipeline.fail_run(run, settings, report, clock.seconds)
                    return refuse(report)
                indicators = compute_indicators(settled, report, catalog)
            with clock.step("reconcile"):
                reconciliation = compute_reconciliation(indicators, settled, report, catalog)
            with clock.step("publish"):
                tables = compile_tables(run, settings, settled, indicators, reconciliation, report, catalog,
                                        clock.seconds, len(reused))
                manifest = make_manifest(run, deliveries, settled, "published", reused)
                published = publish_tables(run, settings, tables, manifest, settled, catalog)
            if isinstance(published, operations.AuditBlocked):
                pipeline.fail_run(run, settings, published, clock.seconds)
                return refuse(published)
            prune_cache(settings, [key for _, key in ingested])
        except Exception as exc:
            pipeline.fail_run(run, settings, exc, clock.seconds)
            raise
    summary = pipeline.summarise_run(run, settings, settled, tables, published)
    report_run(summary, tables)
    return summary


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
