"""The pledge catalog and dataset descriptors, loaded from `schemas/`.

The catalog says what is tracked (pledges, sub-projects, indicators, periods,
channels, the mid-career age band); descriptors say how each raw dataset
arrives (Korean header aliases, column types, keys, personal-data columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
DEFAULT_TOTAL_LABELS = ("합계", "계", "소계", "총계")


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
    # a row whose key (or first non-empty) cell is one of these, with numbers only in count columns, is a totals row
    total_labels: tuple[str, ...] = DEFAULT_TOTAL_LABELS
    sheet: str | None = None  # the workbook sheet to read (a name or glob); None: every sheet with a header row
    profiles: tuple[dict, ...] = ()  # known source formats (e.g. the HRD-Net export): see ingest/profiles.py
    cancelled_when_zero: str | None = None  # a count column whose 0 marks a cancelled event (valid, counted nowhere)
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
    """What the pipeline tracks; loaded from `schemas/catalog.yaml` (see `pledgeflow.catalog_model`).

    `pledges` carry their own term, sub-projects, indicators (normalised: measure, filters, target and rate
    semantics filled in) and period grid (`periods`: a list of {period, start_date, end_date}).
    """

    pledges: tuple[dict, ...]
    periods: tuple[dict, ...]  # the default grid (a pledge that names none uses it)
    mid_career_age: dict
    channels: tuple[dict, ...]
    descriptors: dict[str, Descriptor] = field(default_factory=dict)
    age_bands: dict = field(default_factory=dict)  # name -> {min_age, max_age, basis_ko}
    source: str = "schemas/catalog.yaml"

    @cached_property
    def periods_frame(self) -> pl.DataFrame:
        """pledge_id, period, start_date, end_date, period_order — each pledge's own grid, sorted by start."""
        rows = [{"pledge_id": p["pledge_id"], **{k: q[k] for k in ("period", "start_date", "end_date")}}
                for p in self.pledges for q in p["periods"]]
        schema = {"pledge_id": pl.String, "period": pl.String, "start_date": pl.Date, "end_date": pl.Date}
        return (
            pl.DataFrame(rows, schema=schema)
            .sort("pledge_id", "start_date")
            .with_columns(pl.int_range(1, pl.len() + 1).over("pledge_id").cast(pl.Int32).alias("period_order"))
        )

    @cached_property
    def subprojects_frame(self) -> pl.DataFrame:
        """pledge_id, subproject_id, subproject_name_ko."""
        rows = [
            {"pledge_id": p["pledge_id"], "subproject_id": s["subproject_id"], "subproject_name_ko": s["name_ko"]}
            for p in self.pledges
            for s in p["subprojects"]
        ]
        return pl.DataFrame(rows, schema={"pledge_id": pl.String, "subproject_id": pl.String, "subproject_name_ko": pl.String})

    @cached_property
    def pledge_of_subproject(self) -> dict[str, str]:
        return {s["subproject_id"]: p["pledge_id"] for p in self.pledges for s in p["subprojects"]}

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
        """One row per pledge, sub-project and indicator with the indicator's definition (see `INDICATOR_FIELDS`)."""
        rows = [
            {"pledge_id": p["pledge_id"], "subproject_id": sp, **indicator_fields(i)}
            for p in self.pledges
            for i in p["indicators"]
            for sp in i["subprojects"]
        ]
        return pl.DataFrame(rows, schema={"pledge_id": pl.String, "subproject_id": pl.String, **INDICATOR_FIELDS})

    def only(self, pledge_id: str) -> "Catalog":
        """The catalog of one pledge (its card is reconciled with its own grid and vocabulary)."""
        return replace(self, pledges=tuple(p for p in self.pledges if p["pledge_id"] == pledge_id))

    @cached_property
    def terms_frame(self) -> pl.DataFrame:
        """subproject_id, pledge_id, term_start_date, term_end_date: the term each record is checked against."""
        rows = [{"subproject_id": s["subproject_id"], "pledge_id": p["pledge_id"],
                 "term_start_date": p["term_start_date"], "term_end_date": p["term_end_date"]}
                for p in self.pledges for s in p["subprojects"]]
        return pl.DataFrame(rows, schema={"subproject_id": pl.String, "pledge_id": pl.String,
                                          "term_start_date": pl.Date, "term_end_date": pl.Date})

    @property
    def term_start_date(self) -> str:
        return str(min(p["term_start_date"] for p in self.pledges))

    @property
    def term_end_date(self) -> str:
        return str(max(p["term_end_date"] for p in self.pledges))


# an indicator's definition as the indicators frame (and the dimension table) carry it
INDICATOR_FIELDS = {
    "indicator_id": pl.String, "indicator_name_ko": pl.String, "indicator_name_en": pl.String, "unit": pl.String,
    "source_dataset": pl.String, "date_column": pl.String, "measure_kind": pl.String, "measure_column": pl.String,
    "filters_text": pl.String, "measure_text": pl.String, "target_semantics": pl.String, "rate_definition": pl.String,
}


def indicator_fields(indicator: dict) -> dict:
    """The flat definition of one (normalised) indicator."""
    measure = indicator["measure"]
    return {
        "indicator_id": indicator["indicator_id"], "indicator_name_ko": indicator["name_ko"],
        "indicator_name_en": indicator.get("name_en"), "unit": indicator["unit"],
        "source_dataset": indicator["source_dataset"], "date_column": indicator["date_column"],
        "measure_kind": measure["kind"], "measure_column": measure.get("column"),
        "filters_text": filters_text(indicator["filters"]), "measure_text": measure_text(measure),
        "target_semantics": indicator["target"], "rate_definition": indicator["rate"],
    }


def filters_text(filters: dict) -> str | None:
    """{"channel_id": ["job_fair"], "age_band": "mid_career_age"} -> "age_band = mid_career_age; channel_id in [job_fair]"."""
    parts = [f"{k} = {v}" if isinstance(v, str) else f"{k} in [{', '.join(map(str, v))}]" for k, v in sorted(filters.items())]
    return "; ".join(parts) or None


def measure_text(measure: dict) -> str:
    """count() | sum(completed_count) | distinct(employer_brn) | ratio(sum(a) / sum(b))."""
    if measure["kind"] == "ratio":
        parts = [measure_text(measure[side]) + (f" where {filters_text(measure[side]['filters'])}" if measure[side].get("filters") else "")
                 for side in ("numerator", "denominator")]
        return f"ratio({parts[0]} / {parts[1]})"
    return f"{measure['kind']}({measure.get('column') or ''})"


def period_of(date_column: str, catalog: Catalog) -> pl.Expr:
    """The period (of the record's own pledge's grid) whose start..end holds the date; null outside every period.

    When every pledge shares one grid the record's sub-project does not matter (one comparison per period);
    otherwise each period also asks whether the record's `subproject_id` belongs to a pledge using that grid.
    """
    grids: dict[tuple, list[str]] = {}
    for p in catalog.pledges:
        grid = tuple((q["period"], q["start_date"], q["end_date"]) for q in p["periods"])
        grids.setdefault(grid, []).extend(s["subproject_id"] for s in p["subprojects"])
    period = pl.lit(None, dtype=pl.String)
    for grid, subprojects in grids.items():
        mine = pl.lit(True) if len(grids) == 1 else pl.col("subproject_id").is_in(subprojects)
        for name, start, end in sorted(grid, key=lambda g: g[1]):
            period = pl.when(mine & pl.col(date_column).is_between(start, end)).then(pl.lit(name)).otherwise(period)
    return period.alias("period")


def assign_periods(frame: pl.DataFrame | pl.LazyFrame, date_column: str, catalog: Catalog) -> pl.DataFrame | pl.LazyFrame:
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
        total_labels=tuple(raw.get("total_labels", DEFAULT_TOTAL_LABELS)),
        sheet=raw.get("sheet"),
        profiles=tuple(raw.get("profiles", [])),
        cancelled_when_zero=raw.get("cancelled_when_zero"),
        read_limits=tuple(sorted((str(k), int(v)) for k, v in (raw.get("limits") or {}).items())),
    )


def load_catalog(schemas_dir: Path) -> Catalog:
    """Read `catalog.yaml` and every `datasets/*.yaml` descriptor under `schemas_dir`; the catalog is checked
    (`pledgeflow.catalog_model.check_catalog`) and a broken one raises CatalogError naming file and line."""
    from pledgeflow.catalog_model import build_catalog

    descriptors = {
        d.dataset: d for d in (load_descriptor(p) for p in sorted((Path(schemas_dir) / "datasets").glob("*.yaml")))
    }
    return build_catalog(Path(schemas_dir) / "catalog.yaml", descriptors)
