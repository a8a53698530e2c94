"""The project model: everything a run knows about a project, loaded once from its `schemas/` folder.

`Project.load(settings)` reads the catalog and dataset descriptors, the rules' messages, the decisions
ledger's descriptor and the curated contract (dtype tables derived from `schemas/curated/*.schema.yaml`).
The pandera schemas of the raw datasets, the ledger and the report register are compiled on first use
and kept (pandera costs ~2 s to import: a steward's `pledgeflow failures` never pays for it).

Stages receive the project (or the part of it they need) instead of paths to reload: a run loads its
configuration once, and everything in it agrees with everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from pledgeflow.catalog import Catalog, Descriptor, load_catalog, load_descriptor
from pledgeflow.contracts import ROW_DIGEST, load_contract, load_contracts
from pledgeflow.settings import Settings

RULES_FILE = "rules.yaml"
LEDGER_DESCRIPTOR_FILE = "decisions.yaml"
LEDGER_SCHEMA_FILE = "decisions.schema.yaml"
RULES_SCHEMA = {"rule": pl.String, "rule_severity": pl.String, "message_ko": pl.String,
                "message_en": pl.String, "rule_column": pl.String}


@dataclass(frozen=True)
class Project:
    """One project's settings and configuration, loaded once per run (picklable: Dask workers get a copy)."""

    settings: Settings
    catalog: Catalog
    rules: pl.DataFrame  # rule, rule_severity, message_ko, message_en, rule_column
    ledger_descriptor: Descriptor
    ledger_config: dict  # the ledger's actions, problem messages and hints (schemas/decisions.yaml)
    contracts: dict[str, dict[str, pl.DataType]] = field(default_factory=dict)  # curated table -> column dtypes

    @classmethod
    def load(cls, settings: Settings) -> "Project":
        schemas = settings.schemas_dir
        return cls(
            settings=settings,
            catalog=load_catalog(schemas),
            rules=load_rules(schemas),
            ledger_descriptor=load_descriptor(schemas / LEDGER_DESCRIPTOR_FILE),
            ledger_config=yaml.safe_load((schemas / LEDGER_DESCRIPTOR_FILE).read_text(encoding="utf-8")),
            contracts=load_contracts(schemas / "curated"),
        )

    @property
    def key(self) -> str:
        """The pseudonymisation key (HMAC): from the settings, never from data."""
        return self.settings.pseudonym_key

    @property
    def schemas_dir(self) -> Path:
        return self.settings.schemas_dir

    def raw_schema(self, dataset: str):
        """The pandera schema a dataset's typed rows must meet (compiled once per process)."""
        return compile_catalog_checks(self.schemas_dir / self.catalog.descriptors[dataset].schema, self._catalog_terms)

    @property
    def _catalog_terms(self) -> tuple:
        """What the raw schemas' catalog checks need, hashable (the compiled schema is cached on it)."""
        terms = self.catalog.terms_frame.with_columns(pl.col("term_start_date", "term_end_date").cast(pl.String))
        return tuple(terms.select("subproject_id", "term_start_date", "term_end_date").iter_rows())

    def ledger_schema(self):
        return load_pandera_schema(self.schemas_dir / LEDGER_SCHEMA_FILE)

    def register_schema(self, table: str):
        """The pandera contract of one report-register table (`schemas/reported/<table>.schema.yaml`)."""
        return load_pandera_schema(self.schemas_dir / "reported" / f"{table}.schema.yaml")

    def typed_shape(self, dataset: str) -> dict[str, pl.DataType]:
        """Columns and dtypes of a dataset's typed rows, as its YAML contract declares them (plus the row digest)."""
        declared = load_contract(self.schemas_dir / self.catalog.descriptors[dataset].schema)
        head = {name: declared[name] for name in ("source_file", "source_row")}
        rest = {name: dtype for name, dtype in declared.items() if name not in head}
        return {**head, ROW_DIGEST: pl.String(), **rest}

    def contract(self, table: str) -> dict[str, pl.DataType]:
        """Column dtypes of a curated table, from `schemas/curated/<table>.schema.yaml`."""
        return self.contracts[table]


def load_rules(schemas_dir: Path) -> pl.DataFrame:
    """rule, rule_severity, message_ko, message_en, rule_column — from `schemas/rules.yaml`."""
    rules = yaml.safe_load((Path(schemas_dir) / RULES_FILE).read_text(encoding="utf-8"))["rules"]
    rows = [{"rule": name, "rule_severity": r["severity"], "message_ko": r["message_ko"],
             "message_en": r["message_en"], "rule_column": r.get("column")} for name, r in rules.items()]
    return pl.DataFrame(rows, schema=RULES_SCHEMA)


@cache
def load_pandera_schema(path: Path):
    """A pandera YAML schema, with pledgeflow's custom checks registered first (pandera resolves them by name)."""
    import pandera.polars as pa

    from pledgeflow.ingest.checks import register_checks

    register_checks()
    return pa.DataFrameSchema.from_yaml(path)


@cache
def compile_catalog_checks(path: Path, terms: tuple):
    """Replace the YAML schema's catalog markers by checks with the catalog's values.

    `known_subproject` -> isin (the catalog's sub-project ids); `in_pledge_term` -> the record's date inside
    the term of its own pledge (rule `date_in_term`). `terms` = ((subproject_id, start, end), ...).
    """
    import pandera.polars as pa

    schema = load_pandera_schema(path)
    ids = sorted(t[0] for t in terms)
    start, end = min(t[1] for t in terms), max(t[2] for t in terms)
    by_subproject = {sid: [lo, hi] for sid, lo, hi in terms}
    compiled = {
        "known_subproject": lambda: pa.Check.isin(ids),
        "in_pledge_term": lambda: pa.Check.date_in_pledge_term(
            start=start, end=end, by="subproject_id", terms=by_subproject,
            error=f"date_in_term(the pledge's term; {start}..{end} overall)"),
    }
    for name, column in schema.columns.items():
        if any(check.name in compiled for check in column.checks):
            checks = [compiled[c.name]() if c.name in compiled else c for c in column.checks]
            schema = schema.update_column(name, checks=checks)
    return schema
