"""Great Expectations audit of a candidate version, run by publish before the version goes live.

Expectation suites are files in `gx/expectations/<table>.json` (GX's own suite layout: name,
expectations[type, kwargs, meta]); each expectation's `meta.severity` is `critical` (blocks publish)
or `warning` (reported only). GX has no cross-row expectations, so `derive_check_columns` adds
`derived_*` columns in polars (running sums, sums of parts, cross-table counts) that the suites expect
to be 0 (or at most 0).

Data Docs are built into `<version>/data_docs` and made offline-safe by `pledgeflow.publish.data_docs`
(external references removed, our own static index instead of GX's JavaScript one).

great_expectations costs 6-9 s to import: it is imported inside `run_suites` and `context_config` only,
so commands that merely import this module (validate, failures, review) never pay for it. The nightly run
audits in a child interpreter that imports it while the run reads or settles (`audit_apart.AuditWorker`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from pledgeflow.publish.audit_checks import derive_check_columns

from pledgeflow.publish.data_docs import describe_kwargs, make_docs_offline, write_docs_index
from pledgeflow.errors import BlockedByAudit

SEVERITIES = ("critical", "warning")
DOCS_DIR = "data_docs"
AUDIT_FILE = "audit.json"
_PARTIAL_VALUES = 20


@dataclass(frozen=True)
class Outcome:
    """One expectation evaluated on one table."""

    table: str
    expectation_type: str
    kwargs: dict
    severity: str
    success: bool
    observed: object = None
    unexpected_count: int | None = None
    error: str | None = None

    @property
    def expectation(self) -> str:
        """`expect_x(column, 0, 1000)`: the expectation as written in its suite."""
        return f"{self.expectation_type}({describe_kwargs(self.kwargs)})"

    def describe(self) -> str:
        """`table: expect_x(column, 0, 1000) failed (2 rows)` — what BlockedByAudit and warnings say."""
        head = f"{self.table}: {self.expectation}"
        if self.success:
            return f"{head} passed"
        if self.error:
            return f"{head} failed (error: {self.error})"
        if self.unexpected_count is not None:
            return f"{head} failed ({self.unexpected_count} rows)"
        return f"{head} failed (observed: {json.dumps(self.observed, ensure_ascii=False, default=str)})"


@dataclass(frozen=True)
class AuditResult:
    outcomes: list[Outcome] = field(default_factory=list)
    docs_index: Path | None = None

    @property
    def critical_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]


def audit_version(version_dir: Path, suites_dir: Path) -> AuditResult:
    """Run every suite on the version's tables, build offline Data Docs, write audit.json.

    Raises BlockedByAudit naming each failed critical expectation; warnings never raise.
    """
    version_dir = Path(version_dir)
    suites = load_suites(suites_dir)
    tables = {path.stem: pl.read_parquet(path) for path in sorted(version_dir.glob("*.parquet"))}
    checked, broken = derive_check_columns(tables)
    problems = [Outcome(name, "derive_check_columns", {}, "critical", False, error=error) for name, error in sorted(broken.items())]
    docs_dir = version_dir / DOCS_DIR
    outcomes = problems + coverage_outcomes(tables, suites) + run_suites(checked, suites, docs_dir, version_dir.name)
    make_docs_offline(docs_dir)
    result = AuditResult(outcomes=outcomes, docs_index=write_docs_index(docs_dir, outcomes))
    write_audit_json(version_dir / AUDIT_FILE, outcomes)
    if result.critical_failures:
        raise BlockedByAudit("; ".join(o.describe() for o in result.critical_failures))
    return result


# ---- suites -------------------------------------------------------------------------------------------


def load_suites(suites_dir: Path) -> dict[str, dict]:
    """`<suites_dir>/expectations/*.json` (or `<suites_dir>/*.json`) -> table name -> suite dict."""
    suites_dir = Path(suites_dir)
    folder = suites_dir / "expectations" if (suites_dir / "expectations").is_dir() else suites_dir
    suites = {}
    for path in sorted(folder.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for expectation in suite["expectations"]:
            severity = expectation.get("meta", {}).get("severity")
            if severity not in SEVERITIES:
                raise ValueError(f"{path.name}: {expectation['type']} has severity {severity!r}, not one of {SEVERITIES}")
        suites[suite.get("meta", {}).get("table", path.stem)] = suite
    if not suites:
        raise ValueError(f"no expectation suites in {folder}")
    return suites


def coverage_outcomes(tables: dict[str, pl.DataFrame], suites: dict[str, dict]) -> list[Outcome]:
    """A suite whose table is missing is critical; a table nobody wrote a suite for is a warning."""
    missing = [Outcome(t, "table_exists", {}, "critical", False, error="table missing from the version")
               for t in sorted(set(suites) - set(tables))]
    unaudited = [Outcome(t, "expectation_suite_exists", {}, "warning", False, error="no expectation suite for this table")
                 for t in sorted(set(tables) - set(suites))]
    return missing + unaudited


# ---- running the suites -------------------------------------------------------------------------------


def import_great_expectations() -> None:
    """Import what an audit needs now (an audit worker warming up, the benchmark's fixed costs); errors wait for
    `run_suites`, which imports again and raises as usual."""
    try:
        import great_expectations  # noqa: F401
        from great_expectations.core.run_identifier import RunIdentifier  # noqa: F401
        from great_expectations.data_context.types.base import DataContextConfig  # noqa: F401
    except Exception:  # noqa: BLE001 - run_suites imports again and reports the error
        pass


def run_suites(tables: dict[str, pl.DataFrame], suites: dict[str, dict], docs_dir: Path, run_name: str) -> list[Outcome]:
    """Validate each table (as pandas) against its suite in an ephemeral GX context; build Data Docs."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = gx.get_context(mode="ephemeral", project_config=context_config(docs_dir))
    source = context.data_sources.add_pandas("pledgeflow")
    run_id = RunIdentifier(run_name=run_name)
    outcomes = []
    for table in sorted(set(suites) & set(tables)):
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)
        frame = tables[table].to_pandas()
        for suite_name, expectations, shown in split_by_visibility(table, suites[table]["expectations"]):
            suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=expectations))
            definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
            result = definition.run(batch_parameters={"dataframe": frame}, run_id=run_id,
                                    result_format={"result_format": "SUMMARY", "partial_unexpected_count": shown})
            outcomes += [to_outcome(table, evr, expectations) for evr in result.results]
    context.build_data_docs(site_names=["audit"])
    return sorted(outcomes, key=lambda o: (o.table, o.severity, o.expectation_type, json.dumps(o.kwargs, sort_keys=True)))


def context_config(docs_dir: Path):
    """In-memory stores, no analytics, no progress bars; one Data Docs site in `docs_dir`."""
    from great_expectations.data_context.types.base import (
        DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig,
    )

    site = {"class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}}
    return DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                             progress_bars=ProgressBarsConfig(globally=False), data_docs_sites={"audit": site})


def split_by_visibility(table: str, expectations: list[dict]) -> list[tuple[str, list[dict], int]]:
    """(suite name, expectations, values shown): `meta.show_values: false` ones run with no values echoed.

    An expectation that hunts personal data must not copy what it finds into the docs or audit.json.
    """
    indexed = [e | {"meta": {**e.get("meta", {}), "index": i}} for i, e in enumerate(expectations)]
    shown = [e for e in indexed if e["meta"].get("show_values", True)]
    hidden = [e for e in indexed if not e["meta"].get("show_values", True)]
    groups = [(table, shown, _PARTIAL_VALUES), (f"{table}_values_hidden", hidden, 0)]
    return [group for group in groups if group[1]]


def to_outcome(table: str, evr, expectations: list[dict]) -> Outcome:
    """One GX result -> Outcome, with the kwargs as written in the suite file (GX adds batch ids, casts)."""
    written = next(e for e in expectations if e["meta"]["index"] == evr.expectation_config.meta["index"])
    result = evr.to_json_dict().get("result") or {}
    error = raised_exception(evr.exception_info)
    observed = result.get("observed_value")
    if observed is None and "unexpected_count" in result:
        observed = {k: result[k] for k in ("element_count", "unexpected_count", "partial_unexpected_list") if k in result}
    return Outcome(table, written["type"], written["kwargs"], written["meta"]["severity"], bool(evr.success) and not error,
                   observed, result.get("unexpected_count"), error)


def raised_exception(info) -> str | None:
    """GX's exception_info is flat for an expectation and keyed by metric for batch-level errors."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [str(e.get("exception_message") or "exception") for e in entries if e.get("raised_exception")]
    return messages[0].splitlines()[0][:200] if messages else None


# ---- output: audit.json -------------------------------------------------------------------------------


def write_audit_json(path: Path, outcomes: list[Outcome]) -> None:
    """Per expectation: table, type, kwargs, severity, success, observed value (no wall-clock values)."""
    body = {
        "passed": not any(o.severity == "critical" and not o.success for o in outcomes),
        "critical_failures": [o.describe() for o in outcomes if o.severity == "critical" and not o.success],
        "warnings": [o.describe() for o in outcomes if o.severity == "warning" and not o.success],
        "expectations": [asdict(o) for o in outcomes],
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
