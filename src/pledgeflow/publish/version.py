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

import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
from filelock import FileLock

from pledgeflow import storage
from pledgeflow.errors import PublishError
from pledgeflow.publish.recovery import crash_point
from pledgeflow.publish.staging import MANIFEST_FILE, PublishResult, check_names, stage_version

FILE_MODE, FOLDER_MODE = 0o644, 0o755


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


def recover_staging(curated_dir: Path) -> None:
    """Remove builds left in .staging/ by runs that crashed (safe: we hold the publish lock)."""
    staging_root = curated_dir / ".staging"
    if staging_root.exists():
        shutil.rmtree(staging_root)
    staging_root.mkdir(parents=True)


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
