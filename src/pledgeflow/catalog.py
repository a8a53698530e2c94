"""The pledge catalog and dataset descriptors, loaded from `schemas/`.

The catalog says what is tracked (pledges, sub-projects, indicators, periods,
channels, the mid-career age band); descriptors say how each raw dataset
arrives (Korean header aliases, column types, keys, personal-data columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl
import yaml

DATASETS = ("training_cohorts", "job_fairs", "placements")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a delivery: canonical name, Korean aliases, type, personal-data role."""

    name: str
    label_ko: str
    aliases: tuple[str, ...]
    type: str
    required: bool = False
    personal: str | None = None
    none_means: str = "none"  # what "-" means in the column: "none" (null) or "zero" (counts)


NONE_MEANINGS = ("none", "zero")


@dataclass(frozen=True)
class Descriptor:
    """How one raw dataset arrives and which pandera schema its typed frame must meet."""

    dataset: str
    title_ko: str
    title_en: str
    folder: str
    file_patterns: tuple[str, ...]
    schema: str
    record_key: tuple[str, ...]
    dedupe_key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    warning_rules: tuple[str, ...] = ()
    max_quarantined_pct: float | None = None  # past this share of quarantined rows the run fails
    critical_rules: tuple[str, ...] = ()  # any failure of one of these fails the run
    read_limits: tuple[tuple[str, int], ...] = ()  # `limits:` overrides of ingest.limits.ReadLimits

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def header_aliases(self) -> dict[str, str]:
        """Normalised Korean (or English) header -> canonical column name."""
        mapping = {normalise_label(c.name): c.name for c in self.columns}
        for col in self.columns:
            for alias in (col.label_ko, *col.aliases):
                mapping[normalise_label(alias)] = col.name
        return mapping


# a looked-up column type -> the id column it resolves to through the catalog
ID_COLUMNS = {"subproject": "subproject_id", "channel": "channel_id"}


def pseudonym_column(name: str) -> str:
    """person_key -> person_id: the column that replaces a pseudonymised one after ingestion."""
    return name.removesuffix("_key") + "_id"


def normalise_label(text: str) -> str:
    """Header/label comparison ignores spaces, case and the middle-dot variants Excel users type."""
    return "".join(str(text).split()).replace("ㆍ", "·").replace("・", "·").lower()


def normalise_label_expr(expr: pl.Expr) -> pl.Expr:
    """`normalise_label` as a polars expression, for whole columns of labels."""
    return expr.str.replace_all(r"\s+", "").str.replace_all("[ㆍ・]", "·").str.to_lowercase()


@dataclass(frozen=True)
class Catalog:
    """What the pipeline tracks; loaded from `schemas/catalog.yaml`."""

    pledges: tuple[dict, ...]
    periods: tuple[dict, ...]
    mid_career_age: dict
    channels: tuple[dict, ...]
    descriptors: dict[str, Descriptor] = field(default_factory=dict)

    @cached_property
    def periods_frame(self) -> pl.DataFrame:
        """period, start_date, end_date, period_order — sorted by start."""
        return (
            pl.DataFrame(list(self.periods))
            .with_columns(pl.col("start_date", "end_date").cast(pl.Date))
            .sort("start_date")
            .with_row_index("period_order", offset=1)
            .with_columns(pl.col("period_order").cast(pl.Int32))
        )

    @cached_property
    def subprojects_frame(self) -> pl.DataFrame:
        """pledge_id, subproject_id, subproject_name_ko."""
        rows = [
            {"pledge_id": p["pledge_id"], "subproject_id": s["subproject_id"], "subproject_name_ko": s["name_ko"]}
            for p in self.pledges
            for s in p["subprojects"]
        ]
        return pl.DataFrame(rows)

    @cached_property
    def subproject_aliases(self) -> dict[str, str]:
        """Normalised spelling -> subproject_id, for every spelling the catalog knows."""
        return {
            normalise_label(alias): s["subproject_id"]
            for p in self.pledges
            for s in p["subprojects"]
            for alias in (s["name_ko"], s["subproject_id"], *s.get("aliases", []))
        }

    @cached_property
    def channel_aliases(self) -> dict[str, str]:
        return {
            normalise_label(alias): c["channel_id"]
            for c in self.channels
            for alias in (c["name_ko"], c["channel_id"], *c.get("aliases", []))
        }

    @cached_property
    def indicators_frame(self) -> pl.DataFrame:
        """pledge_id, subproject_id, indicator_id, indicator_name_ko, unit, source_dataset, date_column."""
        rows = [
            {
                "pledge_id": p["pledge_id"],
                "subproject_id": sp,
                "indicator_id": i["indicator_id"],
                "indicator_name_ko": i["name_ko"],
                "unit": i["unit"],
                "source_dataset": i["source_dataset"],
                "date_column": i["date_column"],
            }
            for p in self.pledges
            for i in p["indicators"]
            for sp in i["subprojects"]
        ]
        return pl.DataFrame(rows)

    @property
    def term_start_date(self) -> str:
        return str(min(p["term_start_date"] for p in self.pledges))

    @property
    def term_end_date(self) -> str:
        return str(max(p["term_end_date"] for p in self.pledges))


def period_of(date_column: str, catalog: Catalog) -> pl.Expr:
    """The catalog period whose start..end holds the date (null outside every period).

    A handful of periods: one comparison per period over the column, no sort, rows keep their order.
    """
    period = pl.lit(None, dtype=pl.String)
    for name, start, end in catalog.periods_frame.select("period", "start_date", "end_date").iter_rows():
        period = pl.when(pl.col(date_column).is_between(start, end)).then(pl.lit(name)).otherwise(period)
    return period.alias("period")


def assign_periods(frame, date_column: str, catalog: Catalog) -> Rows:
    """Add `period` (see `period_of`)."""
    return frame.with_columns(period_of(date_column, catalog))


def load_descriptor(path: Path) -> Descriptor:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    columns = tuple(
        ColumnSpec(
            name=c["name"],
            label_ko=c["label_ko"],
            aliases=tuple(c.get("aliases", [])),
            type=c["type"],
            required=bool(c.get("required", False)),
            personal=c.get("personal"),
            none_means=c.get("none_means", "none"),
        )
        for c in raw["columns"]
    )
    for c in columns:
        if c.none_means not in NONE_MEANINGS or (c.none_means == "zero" and c.type != "int"):
            raise ValueError(f"{path.name}: column {c.name}: none_means must be one of {NONE_MEANINGS} ('zero' for int columns only)")
    return Descriptor(
        dataset=raw["dataset"],
        title_ko=raw["title_ko"],
        title_en=raw["title_en"],
        folder=raw["folder"],
        file_patterns=tuple(raw["file_patterns"]),
        schema=raw["schema"],
        record_key=tuple(raw["record_key"]),
        dedupe_key=tuple(raw["dedupe_key"]),
        columns=columns,
        warning_rules=tuple(raw.get("warning_rules", [])),
        max_quarantined_pct=raw.get("thresholds", {}).get("max_quarantined_pct"),
        critical_rules=tuple(raw.get("thresholds", {}).get("critical_rules", [])),
        read_limits=tuple(sorted((str(k), int(v)) for k, v in (raw.get("limits") or {}).items())),
    )


def load_catalog(schemas_dir: Path) -> Catalog:
    """Read `catalog.yaml` and every `datasets/*.yaml` descriptor under `schemas_dir`."""
    raw = yaml.safe_load((schemas_dir / "catalog.yaml").read_text(encoding="utf-8"))
    descriptors = {
        d.dataset: d for d in (load_descriptor(p) for p in sorted((schemas_dir / "datasets").glob("*.yaml")))
    }
    return Catalog(
        pledges=tuple(raw["pledges"]),
        periods=tuple(raw["periods"]),
        mid_career_age=dict(raw["mid_career_age"]),
        channels=tuple(raw["channels"]),
        descriptors=descriptors,
    )
