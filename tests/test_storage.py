"""Storage beyond local disk: fsspec's memory filesystem end to end (discover -> read -> validate -> publish -> read back)."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import polars as pl
import pytest

from pledgeflow import storage
from pledgeflow.catalog import load_catalog
from pledgeflow.contracts import conform
from tests.conftest import CURATED, make_project
from pledgeflow.run.history import track_failures
from pledgeflow.errors import BlockedByAudit, PublishError
from pledgeflow.publish.version import current_version, publish_version, read_current
from pledgeflow.ingest.read import discover_deliveries, read_delivery
from pledgeflow.settings import DEVELOPMENT_PSEUDONYM_KEY
from pledgeflow.ingest.validate import validate_frame

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"


@pytest.fixture
def bucket():
    """A fresh bucket on fsspec's in-process memory filesystem, removed afterwards."""
    name = f"memory://pledgeflow-{uuid.uuid4().hex[:8]}"
    yield name
    storage.remove_tree(name)


@pytest.fixture
def remote_raw(bucket):
    """The bundled deliveries uploaded to the memory filesystem (the real raw/ is only read)."""
    fs = fsspec.filesystem("memory")
    for dataset in ("placements", "training_cohorts", "job_fairs"):
        for path in sorted((REPO / "raw" / dataset).iterdir()):
            fs.pipe_file(f"{storage.filesystem(bucket)[1]}/raw/{dataset}/{path.name}", path.read_bytes())
    fs.pipe_file(f"{storage.filesystem(bucket)[1]}/raw/placements/.hidden.csv", b"x")
    return f"{bucket}/raw"


def curated_tables(failures: pl.DataFrame) -> dict[str, pl.DataFrame]:
    tables = {name: pl.DataFrame(schema=schema) for name, schema in CURATED.items()}
    tables["validation_failures"] = conform(track_failures(CURATED["validation_failures"], failures, None, 1), CURATED["validation_failures"])
    return tables


def test_locations_tell_urls_from_paths():
    assert storage.is_remote("s3://bucket/raw") and storage.is_remote("memory://x")
    assert not storage.is_remote("raw") and not storage.is_remote(Path("/tmp/raw")) and not storage.is_remote("file:///tmp")
    assert storage.join("memory://b/raw", "placements", "a.csv") == "memory://b/raw/placements/a.csv"
    assert storage.join(Path("/tmp/raw"), "placements") == Path("/tmp/raw/placements")


def test_discovery_on_object_storage_matches_local_discovery(remote_raw):
    catalog = load_catalog(SCHEMAS)
    remote = discover_deliveries(remote_raw, catalog)
    local = discover_deliveries(REPO / "raw", catalog)
    assert remote.select("dataset", "source_file", "size_bytes", "sha256").equals(
        local.select("dataset", "source_file", "size_bytes", "sha256"))
    assert remote["path"].str.starts_with(remote_raw).all()


def test_a_delivery_read_from_a_url_equals_the_local_read(remote_raw):
    catalog = load_catalog(SCHEMAS)
    found = discover_deliveries(remote_raw, catalog)
    assert found.height == discover_deliveries(REPO / "raw", catalog).height > 0  # not vacuous
    for row in found.iter_rows(named=True):
        descriptor = catalog.descriptors[row["dataset"]]
        remote = read_delivery(row["path"], descriptor, row["source_file"])
        local = read_delivery(REPO / "raw" / row["source_file"], descriptor, row["source_file"])
        assert remote.frame.equals(local.frame) and remote.encoding == local.encoding, row["source_file"]


def test_end_to_end_discover_read_validate_publish_read_back(remote_raw, bucket):
    catalog = load_catalog(SCHEMAS)
    failures = []
    for row in discover_deliveries(remote_raw, catalog).iter_rows(named=True):
        delivery = read_delivery(row["path"], catalog.descriptors[row["dataset"]], row["source_file"])
        checked = validate_frame(delivery.frame, catalog.descriptors[row["dataset"]], make_project(key=DEVELOPMENT_PSEUDONYM_KEY))
        failures.append(checked.failures.drop("_row"))
    tables = curated_tables(pl.concat(failures))
    curated = f"{bucket}/curated"
    assert current_version(curated) is None and read_current(curated, "validation_failures") is None

    result = publish_version(curated, SCHEMAS, "v000001", tables, {"run_number": 1})

    assert result.path == f"{curated}/versions/v000001"
    assert storage.read_bytes(f"{curated}/CURRENT") == b"v000001\n"
    back = read_current(curated, "validation_failures")
    assert back.height == tables["validation_failures"].height > 0
    assert set(back["source_file"]) >= {"placements/2019_채용실적.csv"}


def test_a_new_version_switches_current_and_old_versions_are_pruned(bucket):
    curated = f"{bucket}/curated"
    tables = curated_tables(pl.DataFrame(schema=CURATED["validation_failures"]).drop("first_seen_run", "state"))
    for n in (1, 2, 3):
        publish_version(curated, SCHEMAS, f"v{n:06d}", tables, {"run_number": n}, keep_versions=2)
    assert current_version(curated) == "v000003"
    assert storage.list_folders(f"{curated}/versions") == ["v000002", "v000003"]
    with pytest.raises(PublishError, match="immutable"):
        publish_version(curated, SCHEMAS, "v000003", tables, {"run_number": 3})


def test_a_crashed_upload_is_never_current_and_is_replaced_by_the_next_publish(bucket):
    curated = f"{bucket}/curated"
    tables = curated_tables(pl.DataFrame(schema=CURATED["validation_failures"]).drop("first_seen_run", "state"))
    publish_version(curated, SCHEMAS, "v000001", tables, {"run_number": 1})
    storage.write_bytes(f"{curated}/versions/v000002/indicators.parquet", b"half an upload")  # no manifest
    assert current_version(curated) == "v000001"
    publish_version(curated, SCHEMAS, "v000002", tables, {"run_number": 2})
    assert current_version(curated) == "v000002"
    assert read_current(curated, "indicators").height == 0


def test_a_failed_audit_leaves_current_alone_and_keeps_the_build(bucket):
    curated = f"{bucket}/curated"
    tables = curated_tables(pl.DataFrame(schema=CURATED["validation_failures"]).drop("first_seen_run", "state"))
    publish_version(curated, SCHEMAS, "v000001", tables, {"run_number": 1})

    def refuse(staging: Path) -> None:
        raise BlockedByAudit("not today")

    with pytest.raises(BlockedByAudit, match="not today"):
        publish_version(curated, SCHEMAS, "v000002", tables, {"run_number": 2}, audit=refuse)
    assert current_version(curated) == "v000001"
    assert storage.exists(f"{curated}/.rejected/v000002/manifest.json")
    assert not storage.exists(f"{curated}/versions/v000002")
