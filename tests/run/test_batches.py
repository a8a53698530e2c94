"""Ingest batches: how deliveries are grouped into tasks, and that they validate the same whichever engine
polars defaults to."""

from __future__ import annotations

import polars as pl
import pytest

from pledgeflow.ingest import discover_deliveries, ingest_cached
from pledgeflow.run.batches import batch_deliveries
from tests.conftest import make_project


def delivery(source_file: str, size_bytes: int = 10) -> dict:
    return {"dataset": source_file.split("/")[0], "source_file": source_file, "size_bytes": size_bytes}


def names(batches: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {name: [d["source_file"] for d in files] for name, files in batches.items()}


def test_a_districts_files_across_datasets_are_one_batch():
    files = [delivery("placements/d02_중구/2019.csv"), delivery("job_fairs/d01_종로구/fairs.csv"),
             delivery("placements/d01_종로구/2019.csv"), delivery("training_cohorts/d01_종로구/cohorts.xlsx")]
    assert names(batch_deliveries(files)) == {
        "d01_종로구": ["job_fairs/d01_종로구/fairs.csv", "placements/d01_종로구/2019.csv", "training_cohorts/d01_종로구/cohorts.xlsx"],
        "d02_중구": ["placements/d02_중구/2019.csv"],
    }


def test_files_at_the_top_of_their_folder_are_one_batch():
    files = [delivery("placements/2019_채용실적.csv"), delivery("job_fairs/2020.csv")]
    assert names(batch_deliveries(files)) == {"job_fairs, placements": ["job_fairs/2020.csv", "placements/2019_채용실적.csv"]}


def test_a_folder_past_the_batch_size_is_split_and_every_file_is_kept():
    files = [delivery(f"placements/d01/{year}.csv", size_bytes=40) for year in range(2018, 2023)]
    batches = batch_deliveries(files, batch_bytes=100)
    assert names(batches) == {
        "d01 (1/3)": ["placements/d01/2018.csv", "placements/d01/2019.csv"],
        "d01 (2/3)": ["placements/d01/2020.csv", "placements/d01/2021.csv"],
        "d01 (3/3)": ["placements/d01/2022.csv"],
    }


def test_a_file_larger_than_a_batch_still_gets_a_task():
    files = [delivery("placements/big.csv", size_bytes=500), delivery("placements/small.csv")]
    assert names(batch_deliveries(files, batch_bytes=100)) == {
        "placements (1/2)": ["placements/big.csv"], "placements (2/2)": ["placements/small.csv"]}


def test_no_delivery_no_batch():
    assert batch_deliveries([]) == {}


@pytest.mark.parametrize("engine", ["streaming", "auto"])
def test_every_bundled_delivery_validates_the_same_on_any_default_engine(engine):
    # our own per-file queries name their engine (validation.ENGINE); pandera's collects take the default
    project = make_project()
    deliveries = discover_deliveries(project.settings.raw_dir, project.catalog).to_dicts()
    assert len(deliveries) == 9

    def validate_all(engine_name: str) -> list:
        with pl.Config(engine_affinity=engine_name):
            results = [ingest_cached(d, project)[0] for d in deliveries]
        return [(r.valid, r.quarantined, r.failures, r.delivered) for r in results]

    for ours, theirs in zip(validate_all("in-memory"), validate_all(engine)):
        for frame, other in zip(ours, theirs):
            assert frame.equals(other)
