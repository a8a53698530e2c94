"""Write-audit-publish of the curated tables: a reader sees a complete version or none.

Layout under `curated/`:
    .staging/<version>/    built here; anything left over is a crashed run and is removed on the next publish
    .rejected/<version>/   a build that failed its audit, kept for inspection
    versions/<version>/    one parquet per table, pledgeflow.duckdb with the same tables, manifest.json,
                           data_dictionary.md/.html (`pledgeflow.publish.dictionary`)
    current -> versions/<version>   relative symlink, switched with os.replace (atomic on POSIX)

Version names are immutable: publishing a name that already exists under versions/ is refused with
PublishError before anything is written, so a rerun can never alter what a reader may be reading.
The flow names versions by run number, so a rerun of the nightly job gets a fresh name.
Every published file is world-readable (0644, folders 0755) whatever the umask, like the rest of curated/.
The DuckDB file is written in DuckDB 1.0's storage format, which the DuckDB 1.x embedded in BI tools opens.
Publishes are serialised with a lock file, which also makes removing staging leftovers safe.

`curated_dir` may also be an fsspec URL (object storage): there is no rename or symlink, so a version
is built and audited in a local temporary folder, uploaded under versions/<version>/ (manifest.json
last), and a small `CURRENT` object naming it is written last. See `pledgeflow.storage`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from filelock import FileLock

from pledgeflow import storage
from pledgeflow.publish.dictionary import TableDoc, load_dictionary, write_dictionary
from pledgeflow.publish.duckdb_file import write_duckdb
from pledgeflow.publish.manifest import write_manifest
from pledgeflow.publish.recovery import crash_point
from pledgeflow.privacy import contains_personal_number
from pledgeflow.errors import BlockedByAudit, PublishError

FILE_MODE, FOLDER_MODE = 0o644, 0o755
MANIFEST_FILE = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path | str  # a URL when curated/ is on object storage
    files: dict[str, str]  # file name -> sha256


def publish_version(
    curated_dir: Path | str,
    schemas_dir: Path,
    version: str,
    tables: dict[str, pl.DataFrame],
    manifest: dict,
    audit: Callable[[Path], None] | None = None,
    keep_versions: int = 10,
    extras: Callable[[Path], None] | None = None,
) -> PublishResult:
    """Build `tables` into a staging folder, audit it, then make it the current version atomically.

    `extras(staging)` writes companion files (the review pack) into the version while it is audited,
    so they appear with it, atomically, or not at all. `curated_dir` may be an fsspec URL:
    see `publish_remote`.
    """
    if storage.is_remote(curated_dir):
        from pledgeflow.publish.remote import publish_remote

        return publish_remote(str(curated_dir), schemas_dir, version, tables, manifest, audit, keep_versions, extras)
    curated_dir = Path(curated_dir)
    check_names(version, tables)
    curated_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(curated_dir / ".publish.lock"):
        final = curated_dir / "versions" / version
        if final.exists():
            raise PublishError(f"version {version!r} already exists; version names are immutable")
        recover_staging(curated_dir)
        staging = curated_dir / ".staging" / version
        files = stage_version(staging, version, tables, manifest, schemas_dir, audit, extras,
                              reject=lambda: reject_version(curated_dir, staging, version))
        crash_point("audited")
        promote_version(curated_dir, staging, final)
        crash_point("switched")
        prune_versions(curated_dir, keep_versions)
    return PublishResult(version=version, path=final, files=files)


def stage_version(
    staging: Path, version: str, tables: dict[str, pl.DataFrame], manifest: dict, schemas_dir: Path,
    audit: Callable[[Path], None] | None, extras: Callable[[Path], None] | None, reject: Callable[[], None],
) -> dict[str, str]:
    """Write and audit a candidate version in `staging`; on a failed audit, `reject()` it and re-raise.

    The companion files are written while the audit runs (they do not depend on each other, and the
    review pack's polars and zlib work leaves the GIL to the audit); the version is complete only when both are.
    """
    files = build_version(staging, tables, manifest | {"version": version}, Path(schemas_dir) / "curated")
    crash_point("staged")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-extras") as pool:
        companions = pool.submit(extras, staging) if extras is not None else None
        try:
            audit_version(staging, Path(schemas_dir) / "curated", audit)
        except BlockedByAudit as failed:  # a verdict: keep the build for inspection; any other error is a failure
            wait([companions] if companions else [])
            if companions is not None and companions.exception() is not None:
                failed.add_note(f"writing the companion files failed too: {companions.exception()!r}")
            reject()
            raise
        if companions is not None:
            companions.result()  # a failed review pack fails the publish, as before
    return files


def check_names(version: str, tables: dict[str, pl.DataFrame]) -> None:
    """Refuse names that could escape curated/ or break a DuckDB statement."""
    if not _NAME.match(version):
        raise PublishError(f"invalid version name {version!r}")
    bad = sorted(name for name in tables if not _TABLE.match(name))
    if bad:
        raise PublishError(f"invalid table name(s): {', '.join(bad)}")


def recover_staging(curated_dir: Path) -> None:
    """Remove builds left in .staging/ by runs that crashed (safe: we hold the publish lock)."""
    staging_root = curated_dir / ".staging"
    if staging_root.exists():
        shutil.rmtree(staging_root)
    staging_root.mkdir(parents=True)


def build_version(staging: Path, tables: dict[str, pl.DataFrame], manifest: dict,
                  contracts_dir: Path | None = None) -> dict[str, str]:
    """Write parquet files, the DuckDB file, the data dictionary and manifest.json into `staging`; return file -> sha256.

    The contracts of `contracts_dir` document the tables: parquet field metadata, DuckDB comments, the dictionary.
    """
    staging.mkdir(parents=True)
    docs = load_dictionary(contracts_dir) if contracts_dir is not None else {}
    for name in sorted(tables):
        write_table_parquet(sort_table(tables[name]), staging / f"{name}.parquet", docs.get(name))
    write_duckdb(staging, sorted(tables), docs)
    if docs:
        write_dictionary(staging, docs)
    files = {path.name: sha256_file(path) for path in sorted(staging.iterdir())}
    write_manifest(staging / MANIFEST_FILE, manifest | {"files": files})
    return files


def sort_table(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a content-determined order, so the same content gives the same bytes."""
    return frame.sort(frame.columns, nulls_last=True, maintain_order=True) if frame.width else frame


def write_table_parquet(frame: pl.DataFrame, path: Path, doc: TableDoc | None = None) -> None:
    """One table as parquet; with its contract `doc`, each field carries its description (and the file the table's)."""
    if doc is None:
        frame.write_parquet(path, compression="zstd", statistics=True)
        return
    import pyarrow as pa

    described = {column.name: column.description for column in doc.columns}
    schema = frame.head(0).to_arrow().schema
    fields = [f.with_metadata({"description": described[f.name]}) if described.get(f.name) else f for f in schema]
    frame.write_parquet(path, compression="zstd", statistics=True, arrow_schema=pa.schema(fields),
                        metadata={"pledgeflow.table": doc.name, "pledgeflow.description": doc.description})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def audit_version(staging: Path, contracts_dir: Path, audit: Callable[[Path], None] | None) -> None:
    """Raise BlockedByAudit unless every table meets its contract and the extra `audit` passes.

    Only a verdict on the tables is BlockedByAudit; an error of the audit itself (a broken import, a
    full disk) propagates as it is: the run failed, it was not blocked.
    """
    tables = {path.stem: pl.read_parquet(path) for path in sorted(staging.glob("*.parquet"))}
    contracts = {path.name.removesuffix(".schema.yaml") for path in contracts_dir.glob("*.schema.yaml")}
    if set(tables) != contracts:
        raise BlockedByAudit(
            f"tables do not match the curated contract: missing {sorted(contracts - set(tables))}, "
            f"unknown {sorted(set(tables) - contracts)}"
        )
    problems = [p for name in sorted(tables) for p in contract_problems(name, tables[name], contracts_dir)]
    problems += [p for name in sorted(tables) for p in personal_data_problems(name, tables[name])]
    if problems:
        raise BlockedByAudit("audit failed: " + "; ".join(problems))
    if audit is not None:
        audit(staging)


def contract_problems(table: str, frame: pl.DataFrame, contracts_dir: Path) -> list[str]:
    """One message per (column, rule) that `frame` breaks in its pandera contract."""
    # pandera's polars backend costs ~2 s to import: only a publish pays for it.
    import pandera.polars as pa
    from pandera.errors import SchemaErrors

    schema = pa.DataFrameSchema.from_yaml(contracts_dir / f"{table}.schema.yaml")
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        # Schema-level cases (null index) name a column or dtype and are safe to echo; data values
        # are not echoed, since they could be personal data.
        summary = (
            exc.failure_cases.with_columns(
                pl.col("column", "check").cast(pl.String).fill_null("(table)"),
                pl.when(pl.col("index").is_null())
                .then(pl.format(" [{}]", pl.col("failure_case").cast(pl.String)))
                .otherwise(pl.lit(""))
                .alias("detail"),
            )
            .group_by("column", "check", "detail")
            .agg(pl.len().alias("cases"))
            .sort("column", "check", "detail")
            .select(pl.format("{}.{}: {}{} ({} cases)", pl.lit(table), "column", "check", "detail", "cases"))
        )
        return summary.to_series().to_list()
    return []


def personal_data_problems(table: str, frame: pl.DataFrame) -> list[str]:
    """Columns of `frame` with a value that looks like an unmasked 주민등록번호 or phone number."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text_columns or not frame.height:
        return []
    hits = frame.select(contains_personal_number(pl.col(name)).any().alias(name) for name in text_columns).row(0, named=True)
    return [f"{table}.{name}: unmasked personal data" for name, hit in hits.items() if hit]


def reject_version(curated_dir: Path, staging: Path, version: str) -> None:
    """Keep a failed build in .rejected/<version> for inspection (replacing an older rejection)."""
    rejected = curated_dir / ".rejected" / version
    rejected.parent.mkdir(parents=True, exist_ok=True)
    if rejected.exists():
        shutil.rmtree(rejected)
    os.rename(staging, rejected)


def promote_version(curated_dir: Path, staging: Path, final: Path) -> None:
    """Move the audited build into versions/ and point `current` at it in one rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    publish_modes(staging)
    _fsync_tree(staging)
    os.rename(staging, final)
    crash_point("promoted")
    link = curated_dir / "current"
    temporary = curated_dir / f".current.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(Path("versions") / final.name, target_is_directory=True)
    os.replace(temporary, link)
    _fsync_dir(curated_dir)


def publish_modes(folder: Path) -> None:
    """Every file 0644 and every folder 0755, whatever the umask or a writer's own mode (mkstemp's 0600)."""
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(FOLDER_MODE if path.is_dir() else FILE_MODE)
    folder.chmod(FOLDER_MODE)


def prune_versions(curated_dir: Path, keep_versions: int) -> list[str]:
    """Remove all but the newest `keep_versions` versions (never the current one); return the removed."""
    current = current_version(curated_dir)
    versions = sorted(
        (p for p in (curated_dir / "versions").iterdir() if p.is_dir()),
        key=lambda p: (_published_at(p), p.name),
        reverse=True,
    )
    doomed = [p for p in versions[max(keep_versions, 1):] if p.name != current]
    for path in doomed:
        shutil.rmtree(path)
    return sorted(p.name for p in doomed)


def current_version(curated_dir: Path | str) -> str | None:
    """Name of the version `current` (or, on object storage, `CURRENT`) points at; None before the first publish."""
    if storage.is_remote(curated_dir):
        return storage.read_pointer(curated_dir)
    link = Path(curated_dir) / "current"
    return Path(os.readlink(link)).name if link.is_symlink() else None


def read_current(curated_dir: Path | str, table: str) -> pl.DataFrame | None:
    """`table` of the current version, or None if nothing is published or the table is absent."""
    version = current_version(curated_dir)
    if version is None:
        return None
    # Read through the resolved version folder, not `current`, so a switch mid-read cannot mix versions.
    path = storage.join(curated_dir, "versions", version, f"{table}.parquet")
    if not storage.exists(path):
        return None
    return pl.read_parquet(io.BytesIO(storage.read_bytes(path))) if storage.is_remote(path) else pl.read_parquet(path)


def _published_at(version_dir: Path) -> int:
    manifest = version_dir / MANIFEST_FILE
    return manifest.stat().st_mtime_ns if manifest.exists() else 0


def _fsync_tree(folder: Path) -> None:
    # companion folders (review pack, Data Docs) are part of the version too
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            _fsync_dir(path)
        else:
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
