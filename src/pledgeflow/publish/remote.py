"""Write-audit-publish to object storage (an fsspec URL for `curated/`): no rename, no symlink.

A version is built and audited in a local temporary folder, uploaded under `versions/<version>/` with its
`manifest.json` last, and the small `CURRENT` object naming it is written after that. The protocol is
described in `pledgeflow.storage`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
from filelock import FileLock

from pledgeflow import storage
from pledgeflow.errors import PublishError
from pledgeflow.publish.staging import MANIFEST_FILE, PublishResult, check_names, stage_version


def publish_remote(
    location: str, schemas_dir: Path, version: str, tables: dict[str, pl.DataFrame], manifest: dict,
    audit: Callable[[Path], None] | None, keep_versions: int, extras: Callable[[Path], None] | None,
) -> PublishResult:
    """Write-audit-publish to object storage: build and audit locally, upload, then write `CURRENT`.

    The protocol (manifest uploaded last, the `CURRENT` pointer written after it) is in `storage`.
    """
    check_names(version, tables)
    final = f"{location.rstrip('/')}/versions/{version}"
    with FileLock(storage.local_lock_path(location)), tempfile.TemporaryDirectory(prefix="pledgeflow-") as tmp:
        if storage.exists(f"{final}/{MANIFEST_FILE}"):
            raise PublishError(f"version {version!r} already exists; version names are immutable")
        storage.remove_tree(final)  # an upload that crashed before its manifest: never current, safe to drop
        staging = Path(tmp) / version

        def reject() -> None:
            storage.remove_tree(f"{location}/.rejected/{version}")
            storage.upload_tree(staging, f"{location}/.rejected/{version}")

        files = stage_version(staging, version, tables, manifest, schemas_dir, audit, extras, reject)
        storage.upload_tree(staging, final, last=MANIFEST_FILE)
        storage.write_pointer(location, version)
        prune_remote(location, keep_versions)
    return PublishResult(version=version, path=final, files=files)


def prune_remote(location: str, keep_versions: int) -> list[str]:
    """`prune_versions` for object storage: newest by manifest time (then name), never the current one."""
    current = storage.read_pointer(location)
    root = f"{location.rstrip('/')}/versions"
    names = sorted(storage.list_folders(root), key=lambda v: (storage.modified_ns(f"{root}/{v}/{MANIFEST_FILE}"), v),
                   reverse=True)
    doomed = [v for v in names[max(keep_versions, 1):] if v != current]
    for name in doomed:
        storage.remove_tree(f"{root}/{name}")
    return sorted(doomed)


