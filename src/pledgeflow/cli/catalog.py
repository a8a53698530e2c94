"""`pledgeflow catalog check`: lint the configuration a steward wrote, before a run refuses it.

Reports every problem with its file and line, in Korean and English: unknown ids, overlapping periods, a filter
on a column the dataset lacks, a measure on a non-numeric column (errors, which block a run with exit 3), and
an indicator cell no register figure refers to (a warning). Never imports Prefect or Great Expectations.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.markup import escape

from pledgeflow.catalog import load_descriptor
from pledgeflow.catalog_model import Issue, read_catalog
from pledgeflow.cli.common import RootOption, console, project_settings
from pledgeflow.errors import EXIT_BLOCKED, CatalogError, HumanError
from pledgeflow.settings import Settings

catalog_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Check the catalog (pledges, indicators, periods).")


@catalog_app.command("check")
def check(root: Path = RootOption) -> None:
    """Lint schemas/catalog.yaml and the cards' registers; exit 3 when a run would refuse the catalog."""
    settings = project_settings(root)
    issues = lint_project(settings)
    for item in issues:
        colour = "red" if item.severity == "error" else "yellow"
        console.print(f"[{colour}]{escape(str(item))}[/]", soft_wrap=True)
    errors = sum(i.severity == "error" for i in issues)
    console.print(f"{errors} error(s), {len(issues) - errors} warning(s) / 오류 {errors}건, 경고 {len(issues) - errors}건")
    if errors:
        raise typer.Exit(EXIT_BLOCKED)


def lint_project(settings: Settings) -> list[Issue]:
    """Every issue of the catalog, then the register issues that need a loadable catalog."""
    schemas = settings.schemas_dir
    descriptors = {d.dataset: d for d in (load_descriptor(p) for p in sorted((schemas / "datasets").glob("*.yaml")))}
    try:
        catalog, issues = read_catalog(schemas / "catalog.yaml", descriptors)
    except CatalogError as refused:  # not YAML, or no mapping at its top: nothing further to check
        return list(refused.issues)
    if any(i.severity == "error" for i in issues):
        return issues
    return issues + lint_registers(settings)


def lint_registers(settings: Settings) -> list[Issue]:
    """An indicator cell (pledge, sub-project, indicator) that no target row of its card refers to."""
    from pledgeflow.card.register import load_report
    from pledgeflow.project import Project

    project = Project.load(settings)
    try:
        report = load_report(project)
    except HumanError as error:
        return [Issue(error.source, None, error.message_ko, error.message_en)]
    cells = project.catalog.indicators_frame.select("pledge_id", "subproject_id", "indicator_id")
    printed = report.targets.select("pledge_id", "subproject_id", "indicator_id").drop_nulls().unique()
    missing = cells.join(printed, on=["pledge_id", "subproject_id", "indicator_id"], how="anti").sort(pl.all())
    figures = pl.concat([frame.select("pledge_id", "subproject_id", "indicator_id") for frame in (report.targets, report.results)])
    uncounted = figures.filter(pl.col("subproject_id").is_not_null() & pl.col("indicator_id").is_null()).unique().sort(pl.all())
    return [Issue(project.catalog.source, None,
                  f"지표 {i}(공약 {p}, 세부사업 {s})를 가리키는 보고 대장(목표) 수치가 없습니다. raw/reported/의 targets.csv를 확인하세요.",
                  f"no register figure (targets) refers to indicator {i} of pledge {p}, sub-project {s}: check targets.csv under raw/reported/.",
                  "warning")
            for p, s, i in missing.iter_rows()] + [
            Issue(project.catalog.source, None,
                  f"공약 {p}의 카드가 세부사업 {s}의 수치를 인쇄하지만 어느 지표의 수치인지 정할 수 없습니다(그 세부사업을 세는 지표가 없거나, "
                  "여럿인데 대장에 지표 열이 없음). 대사에서 no_indicator로 표시됩니다.",
                  f"the card of pledge {p} prints figures of sub-project {s} that belong to no indicator (none counts that sub-project, "
                  "or several do and the register has no indicator column); reconciliation lists them as no_indicator.", "warning")
            for p, s, _ in uncounted.iter_rows()]
