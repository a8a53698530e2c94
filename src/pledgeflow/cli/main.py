"""The `pledgeflow` command line.

`run` and `serve` start Prefect; `validate`, `failures`, `reconcile`, `runs`,
`review` and `report` are for people (a data steward, an analyst) and never import
Prefect or Great Expectations, so they start in a couple of seconds.

Exit codes: 0 published (completed, or completed with warnings); 1 the run failed
(nothing published) or `validate` found failures; 2 bad usage or a path that does
not exist; 3 blocked by a data threshold or critical rule; 4 blocked by a critical
audit expectation; 5 another run is in progress. See `pledgeflow.run.operations`.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pledgeflow.cli.review import review_app
from pledgeflow.errors import EXIT_AUDIT, EXIT_BLOCKED, EXIT_BUSY, exit_code_of
from pledgeflow.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="pledgeflow: track pledge indicators from their records.")
app.add_typer(review_app, name="review", help="Record a steward's decision: correct, waive or exclude a record.")
console = Console()
RootOption = typer.Option(None, "--root", help="Project folder with raw/, schemas/, curated/ (default: $PLEDGEFLOW_ROOT or .)")

# Nothing may try to reach the internet: district networks are closed.
QUIET_PREFECT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def quiet_prefect_environment() -> None:
    """Default Prefect to no telemetry and a patient temporary server, unless the operator set otherwise."""
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)


@app.command()
def run(
    root: Path = RootOption,
    full: bool = typer.Option(False, "--full", help="Re-read and re-validate every delivery, even unchanged ones"),
    wait: float = typer.Option(0, "--wait", help="Seconds to wait if another run holds the lock"),
    task_runner: str = typer.Option("threads", "--task-runner", help="threads (one machine) or dask (worker processes)"),
    workers: int = typer.Option(4, "--workers", help="Files processed at once (threads) or Dask worker processes"),
) -> None:
    """Run the nightly flow once on the deliveries in raw/ and publish the curated tables."""
    quiet_prefect_environment()
    settings = project_settings(root)
    from pledgeflow.run.flow import with_task_runner  # Prefect is imported only here

    if task_runner not in ("threads", "dask"):
        console.print(f"[red]Unknown task runner {task_runner!r}[/]: threads | dask")
        raise typer.Exit(2)
    nightly = with_task_runner(task_runner, workers)
    if settings.uses_development_key:
        console.print("[yellow]PLEDGEFLOW_PSEUDONYM_KEY is not set: using the development key (fine for the bundled demo, not for real data).[/]")
    state = nightly(root=str(settings.root), full=full, wait_seconds=wait, return_state=True)
    if not state.is_completed():
        error = state.result(raise_on_failure=False)
        code = exit_code_of(error if isinstance(error, BaseException) else RuntimeError(state.message))
        what = {EXIT_BLOCKED: "blocked by its data", EXIT_AUDIT: "blocked by the audit",
                EXIT_BUSY: "not started"}.get(code, "failed")
        console.print(f"[bold red]Run {what}[/] (exit {code}): {escape(str(error))}")
        console.print("Nothing was published; the previous curated version is still current.")
        raise typer.Exit(code)
    summary = state.result()
    print_summary(summary)
    print_indicators(settings)
    console.print(f"Review pack (steward): [bold]{summary['review_pack']}[/]")
    console.print(f"Pledge report: [bold]{summary['pledge_report']}[/]", soft_wrap=True)


def print_indicators(settings: Settings) -> None:
    from pledgeflow.publish.version import read_current

    frame = read_current(settings.curated_dir, "indicators")
    table = Table(title="Indicators from records (공약달성 확인지표)")
    columns = {"subproject_id": "sub-project", "period": "기간", "target": "목표", "actual": "실적 records",
               "reported_actual": "실적 card", "cumulative_actual": "누적", "total_target": "총목표",
               "achievement_rate_pct": "이행률 %", "excluded_records": "held back", "status": "status"}
    for header in columns.values():
        table.add_column(header, overflow="fold")
    for row in frame.select(list(columns)).iter_rows():
        table.add_row(*cells(row))
    console.print(table)


def print_summary(summary: dict) -> None:
    table = Table(title=f"pledgeflow {summary['run_id']}: {summary['status']}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"Curated tables: [bold]{summary['curated_path']}[/] (parquet + pledgeflow.duckdb)")


@app.command()
def validate(
    path: Path = typer.Argument(..., help="A delivery file (xlsx or csv)"),
    dataset: str = typer.Option(None, help="placements | training_cohorts | job_fairs (default: from the folder name)"),
    root: Path = RootOption,
) -> None:
    """Check one delivery against its schema, without running the pipeline."""
    from pledgeflow.ingest import process_delivery
    from pledgeflow.privacy import mask_text
    from pledgeflow.project import Project

    settings = project_settings(root)
    name = mask_text(path.name)  # file names are echoed masked, like every other text
    if not path.is_file():
        console.print(f"[red]No such file: {escape(mask_text(str(path)))}[/] (give one delivery file, e.g. raw/placements/2019_채용실적.csv)")
        raise typer.Exit(2)
    project = Project.load(settings)
    catalog = project.catalog
    dataset = dataset or path.resolve().parent.name
    if dataset not in catalog.descriptors:
        console.print(f"[red]Unknown dataset {dataset!r}[/]: pass --dataset {' | '.join(catalog.descriptors)}")
        raise typer.Exit(2)
    result = process_delivery(path, dataset, name, project)
    console.print(
        f"{escape(name)}: read {result.rows_read}, valid {result.counts['rows_valid']}, quarantined {result.quarantined.height}"
        + (f" (encoding {result.encoding}, header row {result.header_row})" if result.encoding else "")
    )
    console.print("[dim]Cross-file checks (duplicates, cited cohorts/fairs, age band) run in `pledgeflow run`.[/]")
    if result.failures.height:
        print_failures(result.failures, f"Failures in {name}")
        raise typer.Exit(1)
    console.print("[green]No failures.[/]")


def project_settings(root: Path | None) -> Settings:
    """Settings of a pledgeflow project folder, or a clear refusal when the folder is not one."""
    settings = Settings.from_root(root)
    if not settings.is_project:
        console.print(f"[red]{settings.root} is not a pledgeflow project[/]: no schemas/catalog.yaml there. "
                      "Run from the project folder or pass --root (or set PLEDGEFLOW_ROOT).")
        raise typer.Exit(2)
    return settings


def print_failures(failures: pl.DataFrame, title: str, limit: int = 200) -> None:
    table = Table(title=title)
    columns = ["source_file", "source_row", "column", "rule", "value", "message_ko", "message_en"]
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in failures.head(limit).select(columns).iter_rows():
        table.add_row(*cells(row))
    console.print(table)
    if failures.height > limit:
        console.print(f"... and {failures.height - limit} more")


@app.command()
def failures(
    dataset: str = typer.Option(None, help="Only this dataset"),
    limit: int = typer.Option(200, help="Rows to show"),
    root: Path = RootOption,
) -> None:
    """Show the validation failures (quarantine) of the current published version."""
    frame = read_published(root, "validation_failures")
    if dataset:
        frame = frame.filter(pl.col("dataset") == dataset)
    print_failures(frame, f"Quarantine: {frame.height} failures", limit)


@app.command()
def reconcile(
    all_rows: bool = typer.Option(False, "--all", help="Include checks that match"),
    root: Path = RootOption,
) -> None:
    """Show the reconciliation of the current published version (disagreements first)."""
    frame = read_published(root, "reconciliation")
    if not all_rows:
        frame = frame.filter(pl.col("status") != "match")
    table = Table(title=f"Reconciliation: {frame.height} rows")
    columns = ["kind", "rule", "subject", "period", "expected", "observed", "observed_text", "status", "message_ko", "message_en"]
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in frame.sort("status", "kind", "check_id").select(columns).iter_rows():
        table.add_row(*cells(row))
    console.print(table)


def cells(row: tuple) -> list[str]:
    """Table cells as plain text: '[column]' in a message is data, not rich markup."""
    return ["" if v is None else escape(str(v)) for v in row]


@app.command()
def runs(root: Path = RootOption, last: int = typer.Option(20, help="How many runs to show")) -> None:
    """Show the run history: status, counts, reused files, durations, failures new / resolved."""
    from pledgeflow.contracts import load_contract
    from pledgeflow.run.history import read_runs

    settings = Settings.from_root(root)
    contract = load_contract(settings.schemas_dir / "curated" / "runs.schema.yaml")
    frame = read_runs(settings.state_dir, contract).sort("run_number").tail(last)
    table = Table(title=f"Runs ({frame.height} shown)")
    columns = ["run_number", "status", "started_at", "duration_s", "files_read", "files_reused", "rows_read", "rows_valid",
               "rows_quarantined", "mismatches", "failures_new", "failures_resolved", "version", "message"]
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in frame.select(columns).iter_rows():
        table.add_row(*cells(row))
    console.print(table)


@app.command()
def serve(root: Path = RootOption) -> None:
    """Serve the nightly deployment (schedule from prefect.yaml: 02:00 Asia/Seoul) from this process."""
    quiet_prefect_environment()
    from pledgeflow.run.flow import nightly
    from pledgeflow.run.deployment import nightly_schedules

    settings = project_settings(root)
    nightly.serve(name="nightly", schedules=nightly_schedules(settings.root), parameters={"root": str(settings.root)})


@app.command()
def synth(
    target: Path = typer.Argument(..., help="Folder to create the synthetic project in (never the repo's raw/)"),
    rows: int = typer.Option(10_000, "--rows", help="Placement rows (cohorts and fairs follow in proportion)"),
    districts: int = typer.Option(25, "--districts"),
    seed: int = typer.Option(1, "--seed"),
    defect_rate: float = typer.Option(0.01, "--defect-rate", help="Share of rows with a planted defect"),
    root: Path = RootOption,
) -> None:
    """Write deterministic synthetic deliveries (XLSX, CP949 / UTF-8 CSV, Korean formats) for benchmarks."""
    from pledgeflow.synth.generate import generate_project

    settings = project_settings(root)
    if target.resolve() == settings.root:
        console.print("[red]Refusing to write into the project itself[/]: pick an empty folder.")
        raise typer.Exit(2)
    info = generate_project(target, settings.root, rows, districts=districts, seed=seed, defect_rate=defect_rate)
    console.print(f"Wrote {len(info['files'])} delivery files into {target}: rows {info['rows']}")
    console.print(f"Run it with: pledgeflow run --root {target}")


@app.command()
def report(
    pledge: str = typer.Option(None, "--pledge", help="Only this pledge's page (pledge id); the overview lists all"),
    out: Path = typer.Option(None, "--out", help="Folder to write the pages into (default: state/reports/<version>/)"),
    pdf: bool = typer.Option(False, "--pdf", help="Also print each pledge page to PDF (A4) with headless Chromium"),
    root: Path = RootOption,
) -> None:
    """The pledge report of the current version: offline HTML pages (overview + one card per pledge)."""
    from pledgeflow.report import VersionError, build_report  # no Prefect, no Great Expectations

    settings = project_settings(root)
    current = settings.curated_dir / "current"
    if not current.is_dir():
        console.print("[red]Nothing published yet.[/] Run `pledgeflow run` first.")
        raise typer.Exit(2)
    own = current / "report" / "index.html"
    if own.is_file() and out is None and pledge is None and not pdf:
        typer.echo(str(own))  # plain paths, never wrapped: scripts read them
        return
    target = out or settings.state_dir / "reports" / current.resolve().name
    try:
        pages = build_report(current, target, pledge=pledge, pdf=pdf,
                             status_rule=settings.schemas_dir / "report" / "status_rule.yaml")
    except VersionError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    for path in [pages.index, *pages.pledges.values(), *pages.pdfs.values()]:
        typer.echo(str(path))


def read_published(root: Path | None, table: str) -> pl.DataFrame:
    from pledgeflow.publish.version import read_current

    frame = read_current(Settings.from_root(root).curated_dir, table)
    if frame is None:
        console.print("[red]Nothing published yet.[/] Run `pledgeflow run` first.")
        raise typer.Exit(2)
    return frame


if __name__ == "__main__":
    app()
