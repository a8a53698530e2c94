"""Incremental runs: a delivery's validated result, reused while nothing it depends on changed.

The key covers everything a delivery's validated result depends on, and nothing else: the file's
content hash and path, its dataset, the configuration that shapes validation (catalog, dataset
descriptors, raw schemas, rules: not the curated contract, the register or the ledger), the code that
reads and validates (`ingest/` and the shared vocabulary it uses: not the CLI, the review pack or
publish), the versions of the libraries it runs on, and (a digest of) the pseudonymisation key.
Change any of them and the delivery is read and validated again. Decisions are applied after this
stage, so they do not invalidate it.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
import json
import os
import shutil
from dataclasses import fields, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

import pledgeflow
from pledgeflow.ingest.deliver import DeliveryResult, process_delivery
from pledgeflow.ingest.sidecar import sidecar_bytes

if TYPE_CHECKING:
    from pledgeflow.project import Project

FRAMES = ("valid", "quarantined", "failures", "delivered")
CACHE_FORMAT = 5  # 3: a delivery's facts (sheets, totals, sidecar); 4: entries carry their key, file checksums and frame schemas; 5: skipped sheets


# The code a validated result depends on, relative to the package: a change anywhere else (the CLI, the review
# pack, publish, the flow) leaves every cached result valid.
RESULT_CODE = ("ingest", "catalog.py", "catalog_model.py", "contracts.py", "errors.py", "korean.py", "privacy.py", "project.py", "storage.py")
# What in `schemas/` is applied after this stage, or to other inputs: not part of a delivery's result.
NOT_RESULT_CONFIG = ("curated", "reported", "report", "decisions.yaml", "decisions.schema.yaml")


def tree_digest(folder: Path, pattern: str = "*", skip: tuple[str, ...] = ()) -> str:
    """One digest of every file's relative path and bytes under `folder` (sorted: order-independent).

    `skip`: first-level names (files or folders) of `folder` left out.
    """
    digest = hashlib.sha256()
    paths = (p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    for path in sorted(p for p in paths if p.relative_to(folder).parts[0] not in skip):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@cache
def code_digest(package: Path | None = None) -> str:
    """Digest of the source that shapes a delivery's validated result (`RESULT_CODE` of the installed package)."""
    package = Path(package or Path(pledgeflow.__file__).parent)
    digest = hashlib.sha256()
    for name in RESULT_CODE:
        path = package / name
        digest.update(name.encode())
        digest.update((tree_digest(path, "*.py") if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()).encode())
    return digest.hexdigest()


# the libraries whose behaviour a validated result depends on: an upgrade re-validates everything
DEPENDENCIES = ("polars", "pandera", "fastexcel", "polars-hash")


def context_digest(schemas_dir: Path, pseudonym_key: str) -> str:
    """What every delivery's result depends on besides its own bytes."""
    key_digest = hashlib.sha256(pseudonym_key.encode()).hexdigest()
    versions = ",".join(f"{name}={metadata.version(name)}" for name in DEPENDENCIES)
    config = tree_digest(schemas_dir, skip=NOT_RESULT_CONFIG)
    parts = [f"format={CACHE_FORMAT}", config, code_digest(), key_digest, versions]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def result_key(dataset: str, source_file: str, sha256: str, context: str) -> str:
    # the path is part of the key: row numbers and failure locations name the file
    return hashlib.sha256(f"{dataset}\n{source_file}\n{sha256}\n{context}".encode()).hexdigest()[:32]


def load_result(cache_dir: Path, key: str, expected: dict[str, pl.DataType] | None = None) -> DeliveryResult | None:
    """The cached result for `key`, or None: missing, damaged or foreign entries are simply recomputed.

    An entry is trusted only when it names `key`, every file has the checksum it was stored with, every
    frame has the schema it was stored with, and (given `expected`) the valid rows have the dataset's typed
    shape: an entry swapped for another entry's file, or left by older code, fails one of these.
    Valid rows come back lazy (a parquet scan): a run reads only the columns its checks and counts use,
    and never holds every delivery's rows at once. The small frames are read.
    """
    folder = cache_dir / key
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        seal = meta.pop("seal")
        if seal["key"] != key or any(file_sha256(folder / f"{name}.parquet") != seal["sha256"][name] for name in FRAMES):
            return None
        schemas = {name: schema_text(pl.read_parquet_schema(folder / f"{name}.parquet")) for name in FRAMES}
        if schemas != seal["schemas"] or (expected is not None and schemas["valid"] != schema_text(expected)):
            return None
        meta = {name: tuple(tuple(v) if name == "delivery_facts" else v for v in value) if isinstance(value, list) else value
                for name, value in meta.items()}
        return DeliveryResult(**stored_frames(folder), **meta)
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
        return None


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def schema_text(schema) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in dict(schema).items()}


def cache_result(cache_dir: Path, key: str, result: DeliveryResult, refresh: bool = False) -> DeliveryResult:
    """Store `result` and return it as a reused entry comes back: valid rows as a scan of the stored file, the
    small frames read back from theirs, so that a run holds only the rows it keeps.

    Read back, not kept: a frame filtered out of a delivery (its few quarantined rows) still holds the whole
    delivery's text buffers, and a 10M-row run held over 1 GB of them through settle and publish.
    """
    store_result(cache_dir, key, result, refresh)
    return replace(result, rows_valid=result.counts["rows_valid"], **stored_frames(cache_dir / key))


def stored_frames(folder: Path) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """An entry's frames: the valid rows as a scan (a run reads only the columns it needs), the small frames read."""
    return {name: pl.scan_parquet(folder / f"{name}.parquet") if name == "valid" else pl.read_parquet(folder / f"{name}.parquet")
            for name in FRAMES}


def store_result(cache_dir: Path, key: str, result: DeliveryResult, refresh: bool = False) -> None:
    """Write the entry into a temporary folder, then rename it into place (readers never see half an entry).

    An entry already there is kept if it loads (unless `refresh`: a `--full` run never reuses one),
    replaced otherwise (damaged, swapped, or half pruned).
    """
    folder = cache_dir / key
    if folder.exists():
        if not refresh and load_result(cache_dir, key) is not None:
            return
        shutil.rmtree(folder, ignore_errors=True)
    tmp = cache_dir / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in FRAMES:
        frame = getattr(result, name)
        # zstd level 1: a third less CPU than polars' default level and no larger on these rows
        (frame.collect() if isinstance(frame, pl.LazyFrame) else frame).write_parquet(
            tmp / f"{name}.parquet", compression="zstd", compression_level=1)
    meta = {f.name: getattr(result, f.name) for f in fields(result) if f.name not in FRAMES}
    meta["rows_valid"] = result.counts["rows_valid"]
    meta = {name: list(value) if isinstance(value, tuple) else value for name, value in meta.items()}
    meta["seal"] = {"key": key, "sha256": {name: file_sha256(tmp / f"{name}.parquet") for name in FRAMES},
                    "schemas": {name: schema_text(pl.read_parquet_schema(tmp / f"{name}.parquet")) for name in FRAMES}}
    (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    try:
        os.rename(tmp, folder)
    except OSError:  # another process stored the same entry first
        shutil.rmtree(tmp, ignore_errors=True)


def prune_results(cache_dir: Path, keep: set[str]) -> int:
    """Drop entries the latest run did not use, so the cache tracks the current deliveries only."""
    if not cache_dir.exists():
        return 0
    stale = [p for p in cache_dir.iterdir() if p.is_dir() and p.name not in keep]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


# ---- a run's use of the cache --------------------------------------------------------------------


def cache_dir(project: Project) -> Path:
    return project.settings.state_dir / "cache"


def project_context(project: Project) -> str:
    """What every delivery's cached result in this project depends on besides its bytes."""
    return context_digest(project.schemas_dir, project.key)


def delivery_key(delivery: dict, context: str | None) -> str:
    """The cache key of one row of `discover_deliveries`: its bytes and its sidecar's (defaults shape its rows)."""
    sidecar = sidecar_bytes(delivery["path"])
    content = delivery["sha256"] + (f"+{hashlib.sha256(sidecar).hexdigest()}" if sidecar else "")
    return result_key(delivery["dataset"], delivery["source_file"], content, context or "")


def load_unchanged(deliveries: pl.DataFrame, project: Project, context: str) -> dict[str, tuple[DeliveryResult, str]]:
    """source_file -> (cached result, key) for every delivery unchanged since it was last validated."""
    found = {}
    for delivery in deliveries.to_dicts():
        key = delivery_key(delivery, context)
        expected = project.typed_shape(delivery["dataset"])
        if (cached := load_result(cache_dir(project), key, expected)) is not None:
            found[delivery["source_file"]] = (cached, key)
    return found


def ingest_cached(delivery: dict, project: Project, context: str | None = None,
                  refresh: bool = False) -> tuple[DeliveryResult, str]:
    """One row of `discover_deliveries` -> (its validated result, cache key); with a `context` the result is cached
    and its valid rows are read from the cache from then on, only the columns a query needs. `refresh`
    (a `--full` run) replaces any stored entry instead of keeping it."""
    result = process_delivery(Path(delivery["path"]), delivery["dataset"], delivery["source_file"], project)
    key = delivery_key(delivery, context)
    if context:
        result = cache_result(cache_dir(project), key, result, refresh)
    return result, key
