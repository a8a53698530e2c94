"""What every `pledgeflow` command shares: the console, the project check, choices, JSON output.

Output goes to people at a terminal and to files (cron, systemd, make): a console that is not a
terminal takes its width from `COLUMNS` or a wide default, so tables are never cut at 80 columns.
`--json` output is one UTF-8 JSON object on stdout and nothing else (dates and times in ISO 8601).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pledgeflow.settings import Settings

console = Console()
err_console = Console(stderr=True)
RootOption = typer.Option(None, "--root", help="Project folder with raw/, schemas/, curated/ (default: $PLEDGEFLOW_ROOT or .)")
JsonOption = typer.Option(False, "--json", help="Print the rows as one JSON object on stdout (UTF-8, ISO dates), nothing else")
# a file or a pipe has no width of its own: wide enough for every table, so nothing is cut or folded into slivers
PIPE_WIDTH = 200


def fit_to_output(*consoles: Console) -> None:
    """Give consoles that do not write to a terminal the width of `COLUMNS`, or PIPE_WIDTH."""
    columns = os.environ.get("COLUMNS", "")
    for each in consoles:
        if not each.is_terminal:
            each.width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def project_settings(root: Path | None) -> Settings:
    """Settings of a pledgeflow project folder, or the one refusal every command gives outside a project (exit 2)."""
    settings = Settings.from_root(root)
    if not settings.is_project:
        err_console.print(
            f"[red]{escape(str(settings.root))} 폴더는 pledgeflow 프로젝트가 아닙니다[/] (schemas/catalog.yaml 없음).\n"
            f"[red]{escape(str(settings.root))} is not a pledgeflow project[/]: no schemas/catalog.yaml there. "
            "Run from the project folder or pass --root (or set PLEDGEFLOW_ROOT).")
        raise typer.Exit(2)
    return settings


def check_choice(value: str | None, choices: list[str], option: str) -> str | None:
    """`value` if it is one of `choices` (or None); otherwise list the choices and exit 2."""
    if value is None or value in choices:
        return value
    err_console.print(f"[red]Unknown value {escape(repr(value))} for {option}[/]: choose one of {' | '.join(choices)}")
    raise typer.Exit(2)


def dataset_choices(settings: Settings) -> list[str]:
    from pledgeflow.catalog import load_catalog

    return list(load_catalog(settings.schemas_dir).descriptors)


def json_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def print_json(rows: pl.DataFrame, **context: object) -> None:
    """One JSON object {context…, "rows": [...]} on stdout, UTF-8, dates ISO; nothing else reaches stdout."""
    document = {**context, "rows": rows.to_dicts()}
    text = json.dumps(document, ensure_ascii=False, default=json_value, indent=1) + "\n"
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)  # UTF-8 bytes whatever the locale says (a cron job's is often ASCII)
    if binary is not None:
        binary.write(text.encode("utf-8"))
        binary.flush()
    else:
        sys.stdout.write(text)


def cells(row: tuple) -> list[str]:
    """Table cells as plain text: '[column]' in a message is data, not rich markup."""
    return ["" if v is None else escape(str(v)) for v in row]


def add_columns(table: Table, columns: list[str], free_text: set[str] = frozenset()) -> None:
    """Short columns never wrap (a number or a status folded into slivers is unreadable); free text folds."""
    for name in columns:
        if name in free_text:
            table.add_column(name, overflow="fold", min_width=16)
        else:
            table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=len(name))
