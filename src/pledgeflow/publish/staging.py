"""A candidate version built and checked in a staging folder, before anything can see it.

`stage_version` writes the tables (parquet sorted by content, the DuckDB file, the data dictionary, manifest.json
with every file's sha256), then checks them against their curated contracts and for unmasked personal data, and
runs the Great Expectations audit while the companion files (review pack, pledge report) are written beside it.
Publishing the staged folder (a rename and a symlink switch, or an upload) is `pledgeflow.publish.version`'s and
`pledgeflow.publish.remote`'s job; both build through this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pledgeflow.errors import BlockedByAudit, PublishError
from pledgeflow.privacy import contains_personal_number
from pledgeflow.publish.dictionary import TableDoc, load_dictionary, write_dictionary
from pledgeflow.publish.duckdb_file import write_duckdb
from pledgeflow.publish.manifest import write_manifest
from pledgeflow.publish.recovery import crash_point

MANIFEST_FILE = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path | str  # a URL when curated/ is on object storage
    files: dict[str, str]  # file name -> sha256


def stage_version(
    staging: Path, version: str, tables: dict[str, pl.DataFrame], manifest: dict, schemas_dir: Path,
    audit: Callable[[Path], None] | None, extras: Callable[[Path], None] | None, reject: Callable[[], None],
) -> dict[str, str]:
    """Write and audit a candidate version in `staging`; on a failed audit, `reject()` it and re-raise.

    The companion files are written while the audit runs (they do not depend on each other; the nightly run's audit
    is in a worker process, an in-process audit gets the GIL when the review pack's polars and zlib work leaves it);
    the version is complete only when both are.
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
    full disk) propagates (from an audit worker: OSError or AuditWorkerError): the run failed, it was not blocked.
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
