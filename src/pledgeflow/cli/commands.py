"""The `pledgeflow` command line.

`run` and `serve` start Prefect; `validate`, `failures`, `reconcile`, `runs`,
`review` and `report` are for people (a data steward, an analyst) and never import
Prefect or Great Expectations, so they start in a couple of seconds.

Exit codes: 0 published (completed, or completed with warnings); 1 the run failed
(nothing published) or `validate` found failures; 2 bad usage or a path that does
not exist; 3 blocked by a data threshold or critical rule; 4 blocked by a critical
audit expectation; 5 another run is in progress. See `pledgeflow.errors`; what a run
prints is `pledgeflow.cli.run_output`.
"""

from __future__ import annotations

import os
from enum import Enum
from importlib.metadata import version as package_version
from pathlib import Path

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from pledgeflow.cli import review
from pledgeflow.cli.catalog import catalog_app
from pledgeflow.cli.common import (JsonOption, RootOption, add_columns, cells, check_choice, console, dataset_choices, err_console,
                                   fit_to_output, print_json, project_settings)
from pledgeflow.cli.review import review_app
from pledgeflow.cli.run_output import print_indicators, print_summary, refuse_broken_catalog, stop_unpublished
from pledgeflow.cli.shown import OPEN_STATES, count_states, failures_headline, failures_to_show, print_failures, step_durations
from pledgeflow.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="pledgeflow: track pledge indicators from their records.")
app.add_typer(review_app, name="review", help="Record a steward's decision: correct, waive or exclude a record.")
app.add_typer(catalog_app, name="catalog", help="Check the catalog: pledges, indicators, periods (no Prefect, no GX).")
DATASET_HELP = "Dataset of the project's catalog (bundled: placements | training_cohorts | job_fairs); others are refused with the list"


class TaskRunner(str, Enum):
    threads = "threads"
    dask = "dask"


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"pledgeflow {package_version('pledgeflow')}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True,
                                      help="Print the version and exit")) -> None:
    """pledgeflow: track pledge indicators from their records."""
    fit_to_output(console, err_console, review.console)

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
    task_runner: TaskRunner = typer.Option(TaskRunner.threads, "--task-runner", help="threads (one machine) or dask (worker processes)"),
    workers: int = typer.Option(4, "--workers", help="Files processed at once (threads) or Dask worker processes"),
) -> None:
    """Run the nightly flow once on the deliveries in raw/ and publish the curated tables."""
    quiet_prefect_environment()
    settings = project_settings(root)
    refuse_broken_catalog(settings, wait)  # before a temporary server's 10-40 s, not after
    from pledgeflow.run.flow import with_task_runner  # Prefect is imported only here

    nightly = with_task_runner(task_runner.value, workers)
    if settings.uses_development_key:
        console.print("[yellow]PLEDGEFLOW_PSEUDONYM_KEY is not set: using the development key (fine for the bundled demo, not for real data).[/]")
    # the temporary Prefect server takes 10-40 s to start: say so before the wait, not after
    console.print("Starting the nightly flow"
                  + (f" on the Prefect server at {os.environ['PREFECT_API_URL']}" if os.environ.get("PREFECT_API_URL")
                     else " (starting a temporary local Prefect server first: 10-40 s)") + " …")
    state = nightly(root=str(settings.root), full=full, wait_seconds=wait, return_state=True)
    if not state.is_completed():
        error = state.result(raise_on_failure=False)
        stop_unpublished(settings, error if isinstance(error, BaseException) else RuntimeError(state.message))
    summary = state.result()
    print_summary(summary)
    print_indicators(settings)
    console.print(f"Review pack (steward): [bold]{summary['review_pack']}[/]")
    console.print(f"Pledge report: [bold]{summary['pledge_report']}[/]", soft_wrap=True)


@app.command()
def validate(
    path: Path = typer.Argument(..., help="A delivery file (xlsx or csv)"),
    dataset: str = typer.Option(None, help=DATASET_HELP + " (default: from the folder name)"),
    root: Path = RootOption,
) -> None:
    """Check one delivery against its schema, without running the pipeline."""
    from pledgeflow.ingest import process_delivery
    from pledgeflow.ingest.shape_report import WARNING, shape_lines
    from pledgeflow.privacy import mask_text
    from pledgeflow.project import Project

    settings = project_settings(root)
    check_choice(dataset, dataset_choices(settings), "--dataset")
    name = mask_text(path.name)  # file names are echoed masked, like every other text
    if not path.is_file():
        console.print(f"[red]No such file: {escape(mask_text(str(path)))}[/] (give one delivery file, e.g. raw/placements/2019_채용실적.csv)")
        raise typer.Exit(2)
    project = Project.load(settings)
    catalog = project.catalog
    # the dataset's folder may hold a folder per district (raw/placements/d01_종로구/…), as the run reads it
    folders = {d.folder: name for name, d in catalog.descriptors.items()}
    dataset = dataset or next((folders[p.name] for p in path.resolve().parents if p.name in folders), path.resolve().parent.name)
    if dataset not in catalog.descriptors:
        console.print(f"[red]Unknown dataset {dataset!r}[/]: pass --dataset {' | '.join(catalog.descriptors)}")
        raise typer.Exit(2)
    result = process_delivery(path, dataset, name, project)
    console.print(
        f"{escape(name)}: read {result.rows_read}, valid {result.counts['rows_valid']}, quarantined {result.quarantined.height}"
        + (f" (encoding {result.encoding}, header row {result.header_row})" if result.encoding else "")
    )
    if result.file_error:
        console.print(f"[red]The file could not be read:[/] {escape(result.file_error)}")
    for level, said in shape_lines(result.counts):
        console.print(("[yellow]" if level == WARNING else "") + escape(said) + ("[/]" if level == WARNING else ""), soft_wrap=True)
    console.print("[dim]Cross-file checks (duplicates, cited cohorts/fairs, age band) run in `pledgeflow run`.[/]")
    if result.failures.height:
        print_failures(result.failures, f"Failures in {name}")
        raise typer.Exit(1)
    console.print("[green]No failures.[/]")


@app.command()
def failures(
    dataset: str = typer.Option(None, help=DATASET_HELP),
    state: str = typer.Option(None, help="Only failures in this state: new | persisting | waived | corrected | excluded"),
    limit: int = typer.Option(200, help="Rows to show"),
    as_json: bool = JsonOption,
    root: Path = RootOption,
) -> None:
    """Show the validation failures a steward acts on, with their state (new, persisting, waived, corrected, excluded).

    After a blocked run (exit 3) these are the failures that blocked it, until a later run publishes;
    otherwise those of the current published version. The first line says which run they are from.
    """
    from pledgeflow.steward.review_html import STATES

    settings = project_settings(root)
    check_choice(dataset, dataset_choices(settings), "--dataset")
    check_choice(state, list(STATES), "--state")
    frame, context = failures_to_show(settings)
    if dataset:
        frame = frame.filter(pl.col("dataset") == dataset)
    counts = count_states(frame)
    if state:
        frame = frame.filter(pl.col("state") == state)
    frame = frame.sort(pl.col("state").is_in(OPEN_STATES).not_(), "dataset", "source_file", "source_row", nulls_last=True)
    if as_json:
        print_json(frame, **context, **counts)
        return
    print_failures(frame, failures_headline(context, counts, dataset), limit)
    console.print(f"Review pack: {context['review_pack']}", soft_wrap=True)


@app.command()
def reconcile(
    all_rows: bool = typer.Option(False, "--all", help="Include checks that match"),
    as_json: bool = JsonOption,
    root: Path = RootOption,
) -> None:
    """Show the reconciliation of the current published version (disagreements first)."""
    frame = read_published(root, "reconciliation")
    if not all_rows:
        frame = frame.filter(pl.col("status") != "match")
    frame = frame.sort("status", "kind", "check_id")
    if as_json:
        print_json(frame)
        return
    table = Table(title=f"Reconciliation: {frame.height} rows")
    columns = ["kind", "rule", "subject", "period", "expected", "observed", "observed_text", "status", "message_ko", "message_en"]
    add_columns(table, columns, {"subject", "observed_text", "message_ko", "message_en"})
    for row in frame.select(columns).iter_rows():
        table.add_row(*cells(row))
    console.print(table)


@app.command()
def runs(root: Path = RootOption, last: int = typer.Option(20, help="How many runs to show"), as_json: bool = JsonOption) -> None:
    """Show the run history: status, start time (KST), duration and seconds per step, counts, reused files, failures."""
    from pledgeflow.clock import in_seoul
    from pledgeflow.contracts import load_contract
    from pledgeflow.run.history import read_runs

    settings = project_settings(root)
    contract = load_contract(settings.schemas_dir / "curated" / "runs.schema.yaml")
    frame = read_runs(settings.state_dir, contract).sort("run_number").tail(last)
    if as_json:
        print_json(frame)
        return
    shown = frame.with_columns(in_seoul(pl.col("started_at")).dt.strftime("%Y-%m-%d %H:%M:%S KST").alias("started_at"),
                               step_durations(pl.col("step_seconds_json")).alias("steps"))
    table = Table(title=f"Runs ({frame.height} shown; times in KST, Asia/Seoul)")
    # short headers: fifteen columns must fit a terminal without folding numbers into slivers
    columns = {"run_number": "run", "status": "status", "started_at": "started (KST)", "duration_s": "total s",
               "steps": "seconds per step", "files_read": "files", "files_reused": "reused", "rows_read": "rows",
               "rows_valid": "valid", "rows_quarantined": "quarant.", "mismatches": "mismatch", "failures_new": "new",
               "failures_resolved": "resolved", "version": "version", "message": "message"}
    add_columns(table, list(columns.values()), {"seconds per step", "message"})
    for row in shown.select(list(columns)).iter_rows():
        table.add_row(*cells(row))
    console.print(table)


@app.command()
def serve(root: Path = RootOption) -> None:
    """Serve the nightly deployment prefect.yaml defines (02:00 Asia/Seoul, its parameters) from this process."""
    settings = project_settings(root)
    quiet_prefect_environment()
    from pledgeflow.run.flow import nightly
    from pledgeflow.run.deployment import serve_options

    nightly.serve(**serve_options(settings.root))


@app.command()
def synth(
    target: Path = typer.Argument(..., help="Folder to create the synthetic project in (never the repo's raw/)"),
    rows: int = typer.Option(10_000, "--rows", min=1, help="Placement rows, 1 or more (cohorts and fairs follow in proportion)"),
    districts: int = typer.Option(25, "--districts", min=1),
    seed: int = typer.Option(1, "--seed"),
    defect_rate: float = typer.Option(0.01, "--defect-rate", help="Share of rows with a planted defect"),
    root: Path = RootOption,
) -> None:
    """Write a deterministic synthetic national project for benchmarks: N governments, each with its own pledge,
    sub-projects, term (민선 7기 and 8기 in turn) and card, and deliveries as offices send them (XLSX, CP949 / UTF-8 CSV)."""
    from pledgeflow.synth.generate import generate_project

    settings = project_settings(root)
    refuse_project_target(target, settings)
    info = generate_project(target, settings.root, rows, districts=districts, seed=seed, defect_rate=defect_rate)
    console.print(f"Wrote {len(info['files'])} delivery files into {target}: rows {info['rows']}")
    console.print(f"Run it with: pledgeflow run --root {target}")


def refuse_project_target(target: Path, settings: Settings) -> None:
    """synth replaces raw/, schemas/ and gx/ of its target: never the project's own, nor anything in its raw/."""
    place = target.resolve()
    if place == settings.root.resolve() or place.is_relative_to(settings.raw_dir.resolve()):
        err_console.print(f"[red]Refusing to write a synthetic project into {escape(str(place))}[/]: it is the project "
                          f"itself or inside its raw/ (deliveries are never written by code). Pick an empty folder "
                          f"outside them, e.g. /tmp/synth.")
        raise typer.Exit(2)


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
        err_console.print("[red]Nothing published yet.[/] Run `pledgeflow run` first.")
        raise typer.Exit(2)
    own = current / "report" / "index.html"
    if own.is_file() and out is None and pledge is None and not pdf:
        typer.echo(str(own))  # plain paths, never wrapped: scripts read them
        return
    target = out or settings.state_dir / "reports" / current.resolve().name
    try:
        pages = build_report(current, target, pledge=pledge, pdf=pdf, chart_cache=settings.chart_cache_dir,
                             status_rule=settings.schemas_dir / "report" / "status_rule.yaml")
    except VersionError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    for path in [pages.index, *pages.pledges.values(), *pages.pdfs.values()]:
        typer.echo(str(path))


def read_published(root: Path | None, table: str) -> pl.DataFrame:
    from pledgeflow.publish.version import read_current

    frame = read_current(project_settings(root).curated_dir, table)
    if frame is None:
        err_console.print("[red]Nothing published yet.[/] Run `pledgeflow run` first.")
        raise typer.Exit(2)
    return frame

