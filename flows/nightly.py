"""The nightly Prefect flow: wires tasks to pledgeflow's pipeline nodes, nothing more.

Each task calls one function of `pledgeflow.pipeline`; deliveries are mapped
one task per file. A failed task fails the run (every mapped future is waited
on and checked), and the CLI turns the final state into an exit code.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

from pledgeflow import pipeline
from pledgeflow.settings import Settings

# polars frames and catalogs are not worth hashing for Prefect's cache: caching is by content hash elsewhere
step = task(cache_policy=NO_CACHE)


@step
def load_catalog(settings):
    return pipeline.load_settings_catalog(settings)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def find_deliveries(settings, catalog):
    deliveries = pipeline.find_deliveries(settings, catalog)
    get_run_logger().info("found %d delivery files", deliveries.height)
    return deliveries


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, task_run_name="ingest {delivery[source_file]}")
def ingest_file(delivery, catalog, settings):
    result = pipeline.ingest_file(delivery, catalog, settings)
    get_run_logger().info(
        "%s: read %d, valid %d, quarantined %d%s", result.source_file, result.rows_read, result.valid.height,
        result.quarantined.height, f" — {result.file_error}" if result.file_error else "",
    )
    return result


@step
def settle_deliveries(results, catalog, settings):
    settled = pipeline.settle_deliveries(results, catalog, settings)
    for dataset, frame in settled.valid.items():
        get_run_logger().info("%s: valid %d, quarantined %d", dataset, frame.height, settled.quarantined[dataset].height)
    return settled


@step
def read_report(settings, catalog):
    return pipeline.read_report(settings, catalog)


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
def compile_tables(run, settings, settled, indicators, reconciliation, report, catalog):
    return pipeline.compile_tables(run, settings, settled, indicators, reconciliation, report, catalog)


@step
def make_manifest(run, deliveries, settled, status):
    return pipeline.make_manifest(run, deliveries, settled, status)


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def publish_tables(run, settings, tables, manifest):
    result = pipeline.publish_tables(run, settings, tables, manifest)
    get_run_logger().info("published %s at %s", result.version, result.path)
    return result


@flow(name="pledgeflow-nightly", log_prints=True)
def nightly(root: str | None = None) -> dict:
    """Ingest, validate, aggregate, reconcile and publish once; returns a summary of the run."""
    settings = Settings.from_root(root)
    run = pipeline.start_run(settings)
    try:
        catalog = load_catalog(settings)
        deliveries = find_deliveries(settings, catalog)
        futures = ingest_file.map(deliveries.to_dicts(), catalog=catalog, settings=settings)
        wait(futures)
        results = [f.result() for f in futures]  # raises if any file's task failed
        settled = settle_deliveries(results, catalog, settings)
        report = read_report(settings, catalog)
        indicators = compute_indicators(settled, report, catalog)
        reconciliation = compute_reconciliation(indicators, settled, report, catalog)
        tables = compile_tables(run, settings, settled, indicators, reconciliation, report, catalog)
        manifest = make_manifest(run, deliveries, settled, "completed")
        published = publish_tables(run, settings, tables, manifest)
    except Exception as exc:
        pipeline.fail_run(run, settings, str(exc))
        raise
    return pipeline.summarise_run(run, settings, settled, reconciliation, published)


if __name__ == "__main__":
    nightly()
