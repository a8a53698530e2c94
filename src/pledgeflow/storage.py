"""Storage beyond local disk: fsspec helpers for deliveries and published versions.

A location is a local path (`Path` or plain string) or an fsspec URL (`s3://bucket/raw`, `gs://…`,
`memory://…`). Local paths keep the local code paths (symlinks, renames, fsync); only URLs go through
fsspec, so nothing changes for a project on disk.

Publishing to an object store cannot rename a folder or switch a symlink. The protocol there is:

    <curated>/versions/<version>/...        uploaded file by file, `manifest.json` last
    <curated>/CURRENT                       one small object holding the current version's name

A version is complete once its manifest exists; `CURRENT` is written (one PUT, atomic per object on
S3, GCS and Azure) only after that, so a reader who reads `CURRENT` first and then that version's
files sees the previous complete version or the new one, never a mix. A crash mid-upload leaves a
version folder without a manifest, which `CURRENT` never names and the next publish removes.
Object stores have no locks: one writer per curated location is the scheduler's job (one nightly
deployment with a concurrency limit of 1); publishes from one machine are also serialised with a
local lock file keyed by the URL.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path, PurePosixPath

import fsspec
from fsspec.core import url_to_fs

CURRENT_FILE = "CURRENT"


def is_remote(location: str | Path) -> bool:
    """True for an fsspec URL other than file:// (a `Path` is always local)."""
    if isinstance(location, Path):
        return False
    protocol = str(location).split("://", 1)[0] if "://" in str(location) else ""
    return protocol not in ("", "file", "local")


def filesystem(location: str | Path) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of a location and the location's path inside it (no protocol)."""
    fs, path = url_to_fs(str(location))
    return fs, path.rstrip("/")


def join(location: str | Path, *parts: str) -> str | Path:
    """`location / parts`, keeping a URL a URL and a path a Path."""
    if not is_remote(location):
        return Path(location).joinpath(*parts)
    return "/".join([str(location).rstrip("/"), *(p.strip("/") for p in parts)])


def read_bytes(location: str | Path) -> bytes:
    if not is_remote(location):
        return Path(location).read_bytes()
    fs, path = filesystem(location)
    return fs.cat_file(path)


def write_bytes(location: str | Path, data: bytes) -> None:
    """Write one object (or file) whole; on object stores a PUT is atomic per object."""
    if not is_remote(location):
        Path(location).parent.mkdir(parents=True, exist_ok=True)
        Path(location).write_bytes(data)
        return
    fs, path = filesystem(location)
    fs.pipe_file(path, data)


def exists(location: str | Path) -> bool:
    if not is_remote(location):
        return Path(location).exists()
    fs, path = filesystem(location)
    return fs.exists(path)


def file_size(location: str | Path) -> int:
    if not is_remote(location):
        return Path(location).stat().st_size
    fs, path = filesystem(location)
    return int(fs.size(path))


def sha256(location: str | Path) -> str:
    """SHA-256 of a file's bytes, streamed in 1 MiB blocks (multi-GB deliveries never sit in memory)."""
    digest = hashlib.sha256()
    fs, path = filesystem(location)
    with fs.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_files(location: str | Path) -> list[tuple[str, str]]:
    """Every file under a folder, recursively, as (full location, posix path relative to the folder), sorted."""
    fs, root = filesystem(location)
    if not fs.isdir(root):
        return []
    prefix = str(location).rstrip("/")
    found = sorted(p for p in fs.find(root) if not p.endswith("/"))
    return [(f"{prefix}/{rel}", rel) for rel in (PurePosixPath(p).relative_to(root).as_posix() for p in found)]


def list_folders(location: str | Path) -> list[str]:
    """Names of the immediate sub-folders of a folder (empty if the folder does not exist)."""
    fs, root = filesystem(location)
    if not fs.isdir(root):
        return []
    return sorted(PurePosixPath(p["name"]).name for p in fs.ls(root, detail=True) if p["type"] == "directory")


def modified_ns(location: str | Path) -> int:
    """Last-modified time of an object in ns (0 when the store does not say), for ordering versions."""
    fs, path = filesystem(location)
    try:
        return int(fs.modified(path).timestamp() * 1e9)
    except (NotImplementedError, FileNotFoundError, OSError, AttributeError):
        return 0


def upload_tree(local: Path, location: str, last: str | None = None) -> None:
    """Copy every file of a local folder to `location`, the file named `last` after all the others."""
    fs, root = filesystem(location)
    files = sorted(p for p in local.iterdir() if p.is_file())
    for path in sorted(files, key=lambda p: p.name == last):
        fs.put_file(str(path), f"{root}/{path.name}")


def remove_tree(location: str) -> None:
    fs, root = filesystem(location)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def read_pointer(location: str | Path) -> str | None:
    """The version named by `<location>/CURRENT`, or None before the first publish."""
    pointer = join(location, CURRENT_FILE)
    return read_bytes(pointer).decode("utf-8").strip() if exists(pointer) else None


def write_pointer(location: str | Path, version: str) -> None:
    write_bytes(join(location, CURRENT_FILE), f"{version}\n".encode("utf-8"))


def local_lock_path(location: str | Path) -> Path:
    """A lock file on this machine for a remote location: serialises publishes from one host."""
    digest = hashlib.sha256(str(location).encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pledgeflow-publish-{digest}.lock"
