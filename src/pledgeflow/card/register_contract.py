"""The register's contracts: each table validated against `schemas/reported/`, odd figures flagged, not fatal.

A card prints what it prints: a rate of -5% is kept as text, read as nothing and flagged `malformed`,
and reconciliation reports it. Only a table that cannot be read as a whole (a missing column, a label
that breaks its contract) stops the run, with the register's line numbers in the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pledgeflow.errors import ReportError

if TYPE_CHECKING:
    from pledgeflow.project import Project


def validate_table(frame: pl.DataFrame, table: str, project: Project) -> pl.DataFrame:
    """Validate against `schemas/reported/<table>.schema.yaml`; column order follows the schema.

    The card is never corrected and never blocks the run for one odd figure: a printed figure its
    contract refuses (a rate of -5%) keeps its text, loses its read value and is flagged `malformed`,
    so reconciliation reports it. Only a table that cannot be read as a whole raises ReportError,
    naming the register's line numbers.
    """
    import pandera.errors

    schema = project.register_schema(table)
    ordered = frame.select([c for c in schema.columns if c in frame.columns])
    try:
        return schema.validate(ordered, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    flagged = flag_odd_figures(ordered, cases, schema)
    if flagged is not None:
        try:
            return schema.validate(flagged, lazy=True)
        except pandera.errors.SchemaErrors as again:
            cases = again.failure_cases
    raise register_error(ordered, cases, table)


def flag_odd_figures(frame: pl.DataFrame, cases: pl.DataFrame, schema) -> pl.DataFrame | None:
    """The frame with every refused figure read as null and its row flagged malformed, or None when the
    problems are not figures (a missing column, a refused label) or the table has no `malformed` flag."""
    figures = {name for name, dtype in frame.schema.items()
               if (dtype.is_numeric() or dtype.is_temporal()) and name not in ("source_row", "pledge_no")
               and schema.columns[name].nullable}
    if "malformed" not in frame.columns or cases["index"].null_count() or not set(cases["column"]) <= figures:
        return None
    odd = cases.select(pl.col("index").cast(pl.UInt32), pl.col("column").cast(pl.String)).unique()
    marked = frame.with_row_index("_index")
    for column in sorted(set(odd["column"])):
        rows = odd.filter(pl.col("column") == column)["index"].implode()
        marked = marked.with_columns(pl.when(pl.col("_index").is_in(rows)).then(None).otherwise(pl.col(column)).alias(column))
    return marked.with_columns((pl.col("malformed") | pl.col("_index").is_in(odd["index"].implode())).alias("malformed")).drop("_index")


def register_error(frame: pl.DataFrame, cases: pl.DataFrame, table: str) -> ReportError:
    """What the contract refused, located by the register's own line numbers (source_ref), not frame positions."""
    refs = frame.with_row_index("index").select(pl.col("index").cast(pl.Int64), "source_ref") if "source_ref" in frame.columns \
        else pl.DataFrame(schema={"index": pl.Int64, "source_ref": pl.String})
    located = cases.head(10).with_columns(pl.col("index").cast(pl.Int64)).join(refs, on="index", how="left")
    detail = located.select(pl.format("{}/{}: {} ({})", "column", "check",
                                      pl.col("failure_case").cast(pl.String).str.slice(0, 120),
                                      pl.col("source_ref").fill_null(f"raw/reported/{table}.csv"))).to_series().str.join("; ").item()
    return ReportError(f"reported/{table}", f"보고 대장 표가 계약에 맞지 않습니다: {detail}",
                       f"The register table breaks its contract: {detail}")
