"""Fan-out on Dask: the nightly flow on a real LocalCluster (two worker processes) publishes the same
curated tables as the default thread runner."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import copy_project

pytestmark = pytest.mark.slow
DATA_TABLES = ("indicators", "budget", "reconciliation", "validation_failures")


def test_dask_cluster_gives_curated_output_identical_to_the_default_runner(tmp_path, prefect_server):
    from prefect_dask import DaskTaskRunner

    from pledgeflow.run.flow import nightly, with_task_runner

    threads, dask = copy_project(tmp_path / "threads"), copy_project(tmp_path / "dask")
    on_dask = with_task_runner("dask", workers=2)  # the CLI's --task-runner dask --workers 2
    assert isinstance(on_dask.task_runner, DaskTaskRunner)

    default_summary = nightly(root=str(threads))
    dask_summary = on_dask(root=str(dask))

    assert dask_summary["rows_read"] == default_summary["rows_read"] > 0
    for table in DATA_TABLES:
        expected = (threads / "curated/current" / f"{table}.parquet").read_bytes()
        assert (dask / "curated/current" / f"{table}.parquet").read_bytes() == expected, table
    assert pl.read_parquet(dask / "curated/current/indicators.parquet")["actual"].sum() > 0
