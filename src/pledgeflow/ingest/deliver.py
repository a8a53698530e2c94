"""Ingestion of one delivery file: read it, validate it, account for every row.

`process_delivery` is the unit of work: the flow runs it for each file of a batch
(a district's folder), and a steward runs it on one file with `pledgeflow validate`.
A file that cannot be read at all becomes a file-level failure, not a crash: the
rest of the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pledgeflow.catalog import ID_COLUMNS
from pledgeflow.contracts import FAILURE_SCHEMA, conform
from pledgeflow.ingest.shapes import grand_totals
from pledgeflow.privacy import mask_text
from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.read import read_delivery
from pledgeflow.ingest.validate import ROW, validate_frame
from pledgeflow.project import Project


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one delivery file: typed valid rows, quarantined rows, failures, counts."""

    dataset: str
    source_file: str
    valid: pl.DataFrame | pl.LazyFrame  # lazy once cached: the rows stay on disk until a query needs them
    quarantined: pl.DataFrame
    failures: pl.DataFrame
    delivered: pl.DataFrame  # quarantined rows as delivered (masked, pseudonymised), for the steward
    rows_read: int
    encoding: str | None = None
    header_row: int | None = None
    blank_rows: int = 0
    unmapped_headers: tuple[str, ...] = field(default_factory=tuple)
    file_error: str | None = None
    rows_valid: int | None = None  # known without reading the rows (None: count `valid`)
    # the shape of the file (ingest/shapes.py, sheets.py, profiles.py, sidecar.py); JSON-ready for the cache
    total_rows: int = 0
    repeated_header_rows: int = 0
    rows_below_header: int = 0
    cancelled_rows: int = 0  # valid rows of a cancelled event (e.g. a cohort with 수강인원 0): they count nowhere
    sheets: tuple[str, ...] = ()
    skipped_sheets: tuple[str, ...] = ()  # a workbook's sheets with cells but no header: "name (N rows)"
    profile: str | None = None
    unknown_columns: tuple[dict, ...] = ()  # header, suggestion, column
    defaults_applied: tuple[str, ...] = ()
    delivery_facts: tuple[tuple[str, str], ...] = ()  # from the sidecar: sidecar, delivered_by, delivered_on, ...
    declared_totals: tuple[dict, ...] = ()  # source_file, source_row, column, declared, observed

    @property
    def counts(self) -> dict:
        return {
            "dataset": self.dataset,
            "source_file": self.source_file,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid if self.rows_valid is not None else self.valid.lazy().select(pl.len()).collect().item(),
            "rows_quarantined": self.quarantined.height,
            "blank_rows": self.blank_rows,
            "encoding": self.encoding,
            "header_row": self.header_row,
            "unmapped_headers": list(self.unmapped_headers),
            "file_error": self.file_error,
            "total_rows": self.total_rows,
            "repeated_header_rows": self.repeated_header_rows,
            "rows_below_header": self.rows_below_header,
            "cancelled_rows": self.cancelled_rows,
            "sheets": list(self.sheets),
            "skipped_sheets": list(self.skipped_sheets),
            "profile": self.profile,
            "unknown_columns": [dict(u) for u in self.unknown_columns],
            "defaults_applied": list(self.defaults_applied),
            "delivery_facts": [list(f) for f in self.delivery_facts],
            "declared_totals": [dict(t) for t in self.declared_totals],
        }


def process_delivery(path: Path, dataset: str, source_file: str, project: Project) -> DeliveryResult:
    """Read and validate one delivery file; an unreadable file yields one file-level failure."""
    descriptor = project.catalog.descriptors[dataset]
    try:
        delivery = read_delivery(Path(path), descriptor, source_file)
    except DeliveryError as exc:
        return unreadable_delivery(dataset, source_file, exc, project)
    checked = validate_frame(delivery.frame, descriptor, project)
    sidecar = delivery.sidecar
    failures = note_defaults(checked.failures.drop(ROW), delivery.defaults_applied, descriptor, sidecar.name if sidecar else "")
    return DeliveryResult(
        dataset=dataset,
        source_file=source_file,
        valid=checked.valid.drop(ROW),
        quarantined=checked.quarantined.drop(ROW),
        failures=failures,
        delivered=checked.delivered.drop(ROW),
        rows_read=delivery.rows_read,
        encoding=delivery.encoding,
        header_row=delivery.header_row,
        blank_rows=delivery.blank_rows,
        unmapped_headers=tuple(mask_text(h) for h in delivery.unmapped_headers),  # headers are echoed too
        rows_valid=checked.valid.height,
        total_rows=delivery.total_rows,
        repeated_header_rows=delivery.repeated_header_rows,
        rows_below_header=delivery.rows_below_header,
        cancelled_rows=count_cancelled(checked.valid, descriptor),
        sheets=delivery.sheets,
        skipped_sheets=delivery.skipped_sheets,
        profile=delivery.profile,
        unknown_columns=tuple(u.as_dict() for u in delivery.unknown_columns),
        defaults_applied=delivery.defaults_applied,
        delivery_facts=tuple(sorted({"sidecar": sidecar.name, **sidecar.facts}.items())) if sidecar else (),
        declared_totals=check_totals(delivery.totals, pl.concat([checked.valid, checked.quarantined])),
    )


def count_cancelled(valid: pl.DataFrame, descriptor) -> int:
    if descriptor.cancelled_when_zero is None:
        return 0
    return valid.filter(pl.col(descriptor.cancelled_when_zero) == 0).height


def check_totals(totals: pl.DataFrame | None, rows: pl.DataFrame) -> tuple[dict, ...]:
    """Each (sheet's) declared total against the sum of its data rows, valid or quarantined."""
    if totals is None or totals.height == 0:
        return ()
    checked = []
    for (source_file,), declared in totals.group_by("source_file", maintain_order=True):
        grand = grand_totals(declared)
        mine = rows.filter(pl.col("source_file") == source_file)
        observed = mine.select(pl.col(c).sum() for c in grand["column"]).row(0, named=True) if grand.height else {}
        checked += [{"source_file": source_file, "source_row": row["source_row"], "column": row["column"],
                     "declared": row["declared"], "observed": observed.get(row["column"])} for row in grand.to_dicts()]
    return tuple(sorted(checked, key=lambda t: (t["source_file"], t["column"])))


def note_defaults(failures: pl.DataFrame, applied: tuple[str, ...], descriptor, sidecar: str) -> pl.DataFrame:
    """A failure on a column the sidecar filled says so: the fix is in the sidecar, not the file."""
    if not applied or failures.height == 0:
        return failures
    names = {a.split("=", 1)[0] for a in applied}
    columns = names | {ID_COLUMNS[c.type] for c in descriptor.columns if c.name in names and c.type in ID_COLUMNS}
    from_sidecar = pl.col("column").is_in(sorted(columns)).fill_null(False)
    return failures.with_columns(
        pl.when(from_sidecar).then(pl.format("{} (값은 납품 정보 파일 {}의 기본값)", "message_ko", pl.lit(sidecar))).otherwise("message_ko").alias("message_ko"),
        pl.when(from_sidecar).then(pl.format("{} (value from the delivery sidecar {})", "message_en", pl.lit(sidecar))).otherwise("message_en").alias("message_en"),
    )


def empty_typed(project: Project, dataset: str) -> pl.DataFrame:
    """A typed frame with no rows and the dataset's typed columns, as its YAML contract declares them."""
    return pl.DataFrame(schema=project.typed_shape(dataset))


def unreadable_delivery(dataset: str, source_file: str, exc: DeliveryError, project: Project) -> DeliveryResult:
    """A file-level quarantine entry: no rows could be read, so none are counted as read."""
    empty = empty_typed(project, dataset)
    rule = project.rules.filter(pl.col("rule") == "file_unreadable")
    failure = conform(pl.DataFrame({
        "dataset": [dataset],
        "source_file": [source_file],
        "rule": ["file_unreadable"],
        "severity": ["error"],
        "message_ko": [f"{rule['message_ko'].item()} {mask_text(exc.message_ko)}"],
        "message_en": [f"{rule['message_en'].item()} {mask_text(exc.message_en)}"],
    }), FAILURE_SCHEMA).with_columns(pl.lit(f"file:{source_file}").alias("fingerprint"))
    return DeliveryResult(dataset, source_file, empty, empty, failure, pl.DataFrame(), rows_read=0,
                          file_error=mask_text(str(exc)), rows_valid=0)


def combine_results(results: list[DeliveryResult], project: Project) -> tuple[dict, dict, pl.DataFrame]:
    """Concatenate per-file results by dataset -> (valid, quarantined, failures), in file order.

    Valid rows come back lazy (one query over every file's rows) as soon as one result is lazy, i.e. cached.
    """
    datasets = tuple(project.catalog.descriptors)
    ordered = sorted(results, key=lambda r: (r.dataset, r.source_file))
    valid, held = {}, {}
    for dataset in datasets:
        empty = empty_typed(project, dataset)
        mine = [r for r in ordered if r.dataset == dataset]
        parts = [empty, *[r.valid for r in mine]]
        if any(isinstance(p, pl.LazyFrame) for p in parts):
            valid[dataset] = pl.concat([p.lazy() for p in parts])
        else:
            valid[dataset] = pl.concat(parts)
        held[dataset] = pl.concat([empty, *[r.quarantined for r in mine]])
    failures = (pl.concat([r.failures for r in ordered]) if ordered
                else pl.DataFrame(schema={**FAILURE_SCHEMA, "fingerprint": pl.String}))
    return valid, held, failures
