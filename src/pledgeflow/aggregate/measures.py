"""Measures: what an indicator reads (dataset, date column, filters) and how it measures it, per period.

An indicator groups the records of its source dataset by sub-project and by the period its date falls in, keeps
those its filters keep, and measures them: a count, a sum of a numeric column, a count of distinct values, or
a ratio of two such measures. A ratio's side may read another dataset by its own date column (취업률 = placed
÷ completed: placements by hire date over cohorts by end date); otherwise both sides share the indicator's rows.
"""

from __future__ import annotations

import json

import polars as pl

from pledgeflow.catalog import Catalog, period_of
from pledgeflow.catalog_model import AGE_BAND_FILTER
from pledgeflow.contracts import INDICATOR_KEY, Rows

GROUP = INDICATOR_KEY
SIDES = ("numerator", "denominator")


def indicator_groups(catalog: Catalog) -> dict[tuple, dict]:
    """Indicators that measure the same thing the same way (source, date column, filters, measure), across pledges.

    One query per group, whatever the number of pledges: 25 districts counting placements by hire date is one pass.
    """
    groups: dict[tuple, dict] = {}
    for p in catalog.pledges:
        for i in p["indicators"]:
            key = (i["source_dataset"], i["date_column"], json.dumps(i["filters"], sort_keys=True, default=str),
                   json.dumps(i["measure"], sort_keys=True, default=str))
            group = groups.setdefault(key, {"indicator": i, "cells": []})
            group["cells"] += [(p["pledge_id"], sp, i["indicator_id"]) for sp in i["subprojects"]]
    return groups


def filter_expr(filters: dict, date_column: str, catalog: Catalog) -> pl.Expr:
    """An indicator's filters as one polars condition: `column: [values]`, or `age_band: <band>` (year of the date - birth_year)."""
    conditions = [pl.lit(True)]
    for column, values in sorted(filters.items()):
        if column == AGE_BAND_FILTER:
            band = catalog.age_bands[values]
            age = pl.col(date_column).dt.year().cast(pl.Int64) - pl.col("birth_year")
            conditions.append(age.is_between(band["min_age"], band["max_age"]))
        else:
            conditions.append(pl.col(column).is_in(values if isinstance(values, list) else [values]))
    return pl.all_horizontal(conditions)


def measure_aggs(measure: dict, name: str) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
    """A measure as (per record day, then per period) aggregations when it adds up, and as direct aggregations over
    the records (needed by a distinct count); into column `name` (a ratio: `name` and `name`__den)."""
    if measure["kind"] == "ratio":
        sides = [measure_aggs(measure[side], col) for side, col in zip(SIDES, (name, f"{name}__den"))]
        return tuple([*sides[0][k], *sides[1][k]] for k in range(3))
    where, column = measure.get("__where"), measure.get("column")
    if measure["kind"] == "count":
        direct = pl.len() if where is None else where.sum()
    elif measure["kind"] == "sum":
        direct = pl.col(column).sum() if where is None else pl.col(column).filter(where).sum()
    else:
        values = pl.col(column) if where is None else pl.col(column).filter(where)
        return [], [], [values.drop_nulls().n_unique().cast(pl.Int64).alias(name)]
    direct = direct.cast(pl.Int64).alias(name)
    return [direct], [pl.col(name).sum().alias(name)], [direct]


def measure_cells(records: dict[str, Rows], catalog: Catalog, name: str, by: tuple[str, ...] = (),
                  measured: bool = True) -> pl.DataFrame:
    """Per pledge, sub-project, indicator and period (and `by`) the indicator's measure over `records` -> column `name`.

    `measured=False` counts the records each indicator cell takes in (what quarantine or a decision moved), whatever
    the measure. Ratio measures add `name`__den; measured, each value column has a `__new` twin: what the period adds
    to the running total (`first_seen`). Additive measures are summed per record day first (millions of records
    become thousands of days), then placed in the period of their own pledge's grid.
    """
    parts = []
    for (source, date_column, _, _), group in indicator_groups(catalog).items():
        indicator = group["indicator"]
        cells = pl.DataFrame(group["cells"], schema=GROUP, orient="row")
        if measured and crosses_datasets(indicator):
            part = measure_across(records, indicator, cells, name, by, catalog)
        elif source in records:
            measure = resolve_side_filters(indicator["measure"], catalog, date_column) if measured else {"kind": "count"}
            part = measure_group(records[source], date_column, [indicator["filters"]], measure, cells, name, by, catalog)
        else:
            part = None
        if part is not None:
            parts.append(part)
    ratio = any(g["indicator"]["measure"]["kind"] == "ratio" for g in indicator_groups(catalog).values()) and measured
    measures = [name, *([f"{name}__den"] if ratio else [])]
    # measured: also what each period adds to the running total (`__new`; see first_seen)
    schema = {**{c: pl.String for c in GROUP}, "period": pl.String, **{c: pl.String for c in by},
              **{c: pl.Int64 for c in measures}, **({f"{c}__new": pl.Int64 for c in measures} if measured else {})}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.with_columns([pl.lit(None, pl.Int64).alias(c) for c in schema if c not in p.collect_schema()]).select(list(schema)).cast(schema)
                      for p in parts]).collect()


def measure_group(rows: Rows, date_column: str, filter_sets: list[dict], measure: dict, cells: pl.DataFrame, name: str,
                  by: tuple[str, ...], catalog: Catalog) -> pl.LazyFrame:
    """One group's cells with the measure of the rows its sub-projects and filters keep, per period (and `by`)."""
    subprojects = cells["subproject_id"].unique().to_list()
    base = rows.lazy().filter(pl.col("subproject_id").is_in(subprojects) & filters_expr(filter_sets, date_column, catalog))
    daily, final, direct = measure_aggs(measure, name)
    keys = ["subproject_id", *by]
    additive = len(daily) == len(direct)
    if additive:
        base = base.group_by(*keys, date_column).agg(daily)
    dated = base.with_columns(period_of(date_column, catalog)).filter(pl.col("period").is_not_null())
    values = dated.group_by(*keys, "period").agg(final if additive else direct)
    for column, part in measured_parts(measure, name):
        if part["kind"] == "distinct":
            values = values.join(first_seen(dated, keys, date_column, part, column, catalog), on=[*keys, "period"], how="left")
        else:
            values = values.with_columns(pl.col(column).alias(f"{column}__new"))
    return cells.lazy().join(values, on="subproject_id")


def measured_parts(measure: dict, name: str) -> list[tuple[str, dict]]:
    """(output column, measure) of a measure, or of each side of a ratio (`name`, `name`__den)."""
    if measure["kind"] == "ratio":
        return [(column, measure[side]) for side, column in zip(SIDES, (name, f"{name}__den"))]
    return [(name, measure)]


def first_seen(dated: pl.LazyFrame, keys: list[str], date_column: str, measure: dict, name: str,
               catalog: Catalog) -> pl.LazyFrame:
    """`name`__new: per period, the distinct values first seen in it (none in an earlier period of the term).

    What a period adds to a distinct count's running total: an employer hiring in 2019 and 2020 is one employer
    to date, not two. Summed over periods, it gives the distinct count of every record to date."""
    where = measure.get("__where")
    rows = (dated if where is None else dated.filter(where)).filter(pl.col(measure["column"]).is_not_null())
    firsts = rows.group_by(*keys, measure["column"]).agg(pl.col(date_column).min())
    return (firsts.with_columns(period_of(date_column, catalog)).group_by(*keys, "period")
            .agg(pl.len().cast(pl.Int64).alias(f"{name}__new")))


def measure_across(records: dict[str, Rows], indicator: dict, cells: pl.DataFrame, name: str, by: tuple[str, ...],
                   catalog: Catalog) -> pl.LazyFrame | None:
    """A ratio whose sides read different datasets or dates: each side measured on its own rows, joined by period."""
    sides = []
    for side, column in zip(SIDES, (name, f"{name}__den")):
        reading = side_reading(indicator, side)
        rows = records.get(reading["source_dataset"])
        if rows is not None:
            sides.append(measure_group(rows, reading["date_column"], reading["filter_sets"], reading["measure"], cells, column, by, catalog))
    if len(sides) < 2:
        return sides[0] if sides else None
    return sides[0].join(sides[1], on=[*GROUP, *by, "period"], how="full", coalesce=True)



def crosses_datasets(indicator: dict) -> bool:
    """A ratio one of whose sides names its own dataset or date column (other than the indicator's)."""
    measure = indicator["measure"]
    return measure["kind"] == "ratio" and any(
        measure[side].get(key, indicator[key]) != indicator[key] for side in SIDES for key in ("source_dataset", "date_column"))


def side_reading(indicator: dict, side: str) -> dict:
    """What one side of a ratio reads: its dataset and date column (the indicator's unless it names its own), the
    indicator's filters when it reads the indicator's dataset, and its own."""
    spec = indicator["measure"][side]
    source = spec.get("source_dataset", indicator["source_dataset"])
    shared = [indicator["filters"]] if source == indicator["source_dataset"] else []
    return {"source_dataset": source, "date_column": spec.get("date_column", indicator["date_column"]),
            "filter_sets": [*shared, spec.get("filters") or {}], "subprojects": indicator["subprojects"],
            "measure": {key: value for key, value in spec.items() if key in ("kind", "column")}}


def readings(indicator: dict) -> list[dict]:
    """Each (dataset, date column, filter sets, sub-projects) an indicator reads: one, or one per side of a ratio
    that crosses datasets (what makes a record counted, for `unassigned`)."""
    if crosses_datasets(indicator):
        return [side_reading(indicator, side) for side in SIDES]
    return [{"source_dataset": indicator["source_dataset"], "date_column": indicator["date_column"],
             "filter_sets": [indicator["filters"]], "subprojects": indicator["subprojects"], "measure": indicator["measure"]}]


def filters_expr(filter_sets: list[dict], date_column: str, catalog: Catalog) -> pl.Expr:
    """Every filter set must keep the record (the indicator's, and a ratio side's own)."""
    return pl.all_horizontal([filter_expr(filters, date_column, catalog) for filters in filter_sets] or [pl.lit(True)])


def resolve_side_filters(measure: dict, catalog: Catalog, date_column: str) -> dict:
    """A ratio's sides carry their own filters: compile them with the catalog (age bands) once."""
    if measure["kind"] != "ratio":
        return measure
    sides = {side: {**measure[side], "__where": filter_expr(measure[side]["filters"], date_column, catalog) if measure[side].get("filters") else None}
             for side in SIDES}
    return {**measure, **sides}


def count_records(records: dict[str, Rows], catalog: Catalog, name: str, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Records per pledge, sub-project, indicator and period (and `by`) that each indicator cell takes in -> column `name`."""
    return measure_cells(records, catalog, name, by, measured=False)
