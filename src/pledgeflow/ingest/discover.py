"""Find the delivery files under `raw/`, and account for every file that is not one.

Every file under a dataset's folder ends in exactly one of two lists: a delivery (read, validated, each
of its rows counted) or a skipped file with its reason (`skipped_files`): hidden files and folders,
Excel's `~$` lock files, READMEs, names no pattern of the dataset accepts, links whose target is gone,
and links leading out of the project (refused: a delivery folder must not make the pipeline read files
elsewhere on the machine). A file the system will not let us read stays a delivery: reading it fails,
and it becomes a file-level failure with the cause.

File names are echoed everywhere (failures, manifests, logs): `source_file` is the relative path with
personal numbers masked; only `path` (never written into a table) keeps the name as it is on disk.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from pathlib import Path, PurePath, PurePosixPath

import polars as pl

from pledgeflow import storage
from pledgeflow.catalog import DATASETS, Catalog, Descriptor
from pledgeflow.privacy import mask_personal_numbers

# One row per delivery file; `source_file` is the posix path relative to raw/, as in every later table.
DELIVERIES_SCHEMA = {
    "dataset": pl.String,
    "source_file": pl.String,
    "path": pl.String,
    "size_bytes": pl.Int64,
    "sha256": pl.String,
}
SKIPPED_SCHEMA = {"dataset": pl.String, "source_file": pl.String, "reason": pl.String, "message_ko": pl.String,
                  "message_en": pl.String}
SKIP_REASONS = {
    "hidden": ("숨김 파일(이름이 '.'으로 시작)이라 읽지 않았습니다.", "Hidden file (name starts with '.'): not read."),
    "lock_file": ("Excel이 열려 있는 동안 만드는 임시 파일(~$)이라 읽지 않았습니다.", "Excel's temporary lock file (~$): not read."),
    "readme": ("설명 파일(README)이라 읽지 않았습니다.", "A README: not read."),
    "unsupported_type": ("이 자료의 파일 형식(이름 패턴)이 아니라 읽지 않았습니다. .xlsx나 .csv로 제출해 주세요.",
                         "Not a file type this dataset accepts: not read. Deliver it as .xlsx or .csv."),
    "dangling_link": ("가리키는 파일이 없는 링크라 읽지 않았습니다. 파일을 다시 복사해 주세요.",
                      "A link whose target is missing: not read. Copy the file in again."),
    "link_outside_project": ("프로젝트 밖을 가리키는 링크라 거부했습니다. 파일 자체를 복사해 넣어 주세요.",
                             "A link pointing outside the project: refused. Copy the file itself in."),
    "folder_link": ("폴더 링크는 따라가지 않습니다. 파일을 폴더 안으로 복사해 주세요.",
                    "A link to a folder is not followed. Copy the files into the folder."),
}
UNREADABLE_HASH = "unreadable"


def discover_deliveries(raw_dir: Path | str, catalog: Catalog) -> pl.DataFrame:
    """One row per delivery file under each dataset's folder, with its size and content hash.

    `raw_dir` may be an fsspec URL (`s3://bucket/raw`): `path` is then the file's URL.
    """
    rows = [row for dataset, descriptor in dataset_descriptors(catalog)
            for row in (describe_remote if storage.is_remote(raw_dir) else describe_local)(raw_dir, dataset, descriptor)]
    return order(pl.DataFrame(rows, schema=DELIVERIES_SCHEMA, orient="row").with_columns(masked_names()))


def discover_skipped(raw_dir: Path | str, catalog: Catalog) -> pl.DataFrame:
    """One row per file under a dataset's folder that is not read, with its reason (SKIPPED_SCHEMA)."""
    if storage.is_remote(raw_dir):
        return pl.DataFrame(schema=SKIPPED_SCHEMA)
    raw_dir = Path(raw_dir)
    rows = [(dataset, path.relative_to(raw_dir).as_posix(), reason, *SKIP_REASONS[reason])
            for dataset, descriptor in dataset_descriptors(catalog)
            for path, reason in classify_folder(raw_dir / descriptor.folder, descriptor, raw_dir.parent) if reason]
    return order(pl.DataFrame(rows, schema=SKIPPED_SCHEMA, orient="row").with_columns(masked_names()))


def dataset_descriptors(catalog: Catalog) -> list[tuple[str, Descriptor]]:
    return [(d, catalog.descriptors[d]) for d in DATASETS if d in catalog.descriptors]


def order(frame: pl.DataFrame) -> pl.DataFrame:
    rank = pl.col("dataset").replace_strict({d: i for i, d in enumerate(DATASETS)}, return_dtype=pl.Int32)
    return frame.sort(rank, "source_file")


def masked_names() -> pl.Expr:
    """source_file with personal numbers masked; a name that masks like another keeps a `#n` suffix."""
    masked = mask_personal_numbers(pl.col("source_file"))
    nth = pl.int_range(pl.len()).over(masked)
    return pl.when(nth == 0).then(masked).otherwise(masked + "#" + (nth + 1).cast(pl.String)).alias("source_file")


def describe_local(raw_dir: Path | str, dataset: str, descriptor: Descriptor) -> list[tuple]:
    raw_dir = Path(raw_dir)
    return [describe_file(raw_dir, dataset, path) for path in list_delivery_files(raw_dir / descriptor.folder, descriptor)]


def describe_remote(raw_dir: str, dataset: str, descriptor: Descriptor) -> list[tuple]:
    """The same rows for an fsspec location: source_file is relative to raw_dir, path is the file's URL."""
    folder = storage.join(raw_dir, descriptor.folder)
    return [
        (dataset, f"{descriptor.folder}/{relative}", url, storage.file_size(url), storage.sha256(url))
        for url, relative in storage.list_files(folder)
        if is_delivery(PurePosixPath(relative), descriptor)
    ]


def is_delivery(relative: PurePath, descriptor: Descriptor) -> bool:
    return skip_reason(relative, descriptor) is None


def skip_reason(relative: PurePath, descriptor: Descriptor) -> str | None:
    name = relative.name
    if any(part.startswith(".") for part in relative.parts):
        return "hidden"
    if name.startswith("~$"):
        return "lock_file"
    if name.lower().startswith("readme"):
        return "readme"
    patterns = [p.lower() for p in descriptor.file_patterns]
    return None if any(fnmatch.fnmatchcase(name.lower(), p) for p in patterns) else "unsupported_type"


def is_clutter(relative: PurePath) -> bool:
    """Hidden files and folders, READMEs and Excel's `~$` lock files are not deliveries."""
    name = relative.name
    hidden = any(part.startswith(".") for part in relative.parts)
    return hidden or name.lower().startswith("readme") or name.startswith("~$")


def list_delivery_files(folder: Path, descriptor: Descriptor, project_root: Path | None = None) -> list[Path]:
    """Files under `folder` matching the descriptor's patterns (case-insensitively), minus clutter and refused links."""
    root = project_root or folder.parent.parent
    return [path for path, reason in classify_folder(folder, descriptor, root) if reason is None]


def classify_folder(folder: Path, descriptor: Descriptor, project_root: Path) -> list[tuple[Path, str | None]]:
    """Every entry under `folder` (without descending into hidden folders or folder links) and its skip reason."""
    if not folder.is_dir():
        return []
    found = []
    for directory, subdirs, files in os.walk(folder):  # os.walk does not follow folder links
        base = Path(directory)
        links = [d for d in subdirs if (base / d).is_symlink()]
        hidden = [d for d in subdirs if d.startswith(".") and d not in links]
        subdirs[:] = sorted(d for d in subdirs if d not in links and d not in hidden)
        found += [(base / d, "hidden") for d in hidden]
        found += [(base / name, classify_file(base / name, folder, descriptor, project_root)) for name in files]
        found += [(base / d, link_reason(base / d, project_root) or "folder_link") for d in links]
    return sorted(found)


def classify_file(path: Path, folder: Path, descriptor: Descriptor, project_root: Path) -> str | None:
    reason = skip_reason(path.relative_to(folder), descriptor)
    if reason is None and path.is_symlink():
        reason = link_reason(path, project_root)
    if reason is None and not path.is_file():
        reason = "unsupported_type"  # a socket, a device, a pipe
    return reason


def link_reason(path: Path, project_root: Path) -> str | None:
    """A link is read only when its target exists and lies inside the project."""
    target = Path(os.path.realpath(path))
    if not target.exists():
        return "dangling_link"
    return None if target.is_relative_to(Path(os.path.realpath(project_root))) else "link_outside_project"


def describe_file(raw_dir: Path, dataset: str, path: Path) -> tuple:
    return (dataset, path.relative_to(raw_dir).as_posix(), str(path), path.stat().st_size, hash_file(path))


def hash_file(path: Path) -> str:
    """SHA-256 of the file's bytes, streamed so multi-GB deliveries do not fill memory. A file the system
    will not let us read gets a marker instead: reading it then fails as a file-level failure."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return f"{UNREADABLE_HASH}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
