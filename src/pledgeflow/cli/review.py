"""`pledgeflow review …`: the steward records decisions (correct, waive, exclude) and lists the ledger.

Each command finds the record in the current published `validation_failures` (by file and row, or by a
failure's fingerprint) to learn its dataset and record_id, then appends one row to
`raw/decisions/decisions.csv`; the next run applies it. A valid record (not in the failure list) can be
corrected or excluded by file and row: its delivery is read again to compute its record_id.
Never imports Prefect or Great Expectations, so it starts in a couple of seconds.
Exit codes: 0 recorded; 2 bad usage, record not found, nothing published yet.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from pledgeflow.cli.common import JsonOption, RootOption, console, err_console, print_json, project_settings
from pledgeflow.settings import Settings

review_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Steward decisions 검토 결정: correct 수정, waive 면제 or exclude 제외 a record.")
FileOption = typer.Option(None, "--file", help="Delivery file relative to raw/, e.g. placements/2019_채용실적.csv")
RowOption = typer.Option(None, "--row", help="Row number as Excel shows it")
FingerprintOption = typer.Option(None, "--fingerprint", help="A failure's fingerprint, instead of --file/--row")
ByOption = typer.Option(..., "--by", help="Who decides 결정자")
ReasonOption = typer.Option(..., "--reason", help="Why 사유")
# "+90d", "6m", "1y", "30일", "6개월", "1년": an expiry relative to today in Seoul, so an example never goes stale
RELATIVE_EXPIRY = re.compile(r"^\+?\s*(\d+)\s*(d|m|y|일|개월|년)$")
OFFSETS = {"d": "d", "일": "d", "m": "mo", "개월": "mo", "y": "y", "년": "y"}


def refuse(message_ko: str, message_en: str) -> None:
    err_console.print(f"[red]{escape(message_ko)}[/]\n{escape(message_en)}")
    raise typer.Exit(2)


def project(root: Path | None) -> Settings:
    return project_settings(root)


def find_record(settings: Settings, file: str | None, row: int | None, fingerprint: str | None) -> dict:
    """dataset, source_file, source_row, record_id, failing of the record a decision is about."""
    from pledgeflow.publish.version import read_current

    if (fingerprint is None) == (file is None or row is None):
        refuse("--file과 --row, 또는 --fingerprint 중 하나만 주세요.", "Give either --file and --row, or --fingerprint.")
    failures = read_current(settings.curated_dir, "validation_failures")
    if failures is None:
        refuse("게시된 버전이 없습니다. 먼저 `pledgeflow run`을 실행하세요.", "Nothing published yet: run `pledgeflow run` first.")
    file = file.replace("\\", "/").removeprefix("raw/") if file else None
    hits = failures.filter(pl.col("fingerprint") == fingerprint) if fingerprint else failures.filter(
        (pl.col("source_file") == file) & (pl.col("source_row") == row))
    hits = hits.filter(pl.col("record_id").is_not_null())
    if hits.height:
        first = hits.row(0, named=True)
        return {k: first[k] for k in ("dataset", "source_file", "source_row", "record_id")} | {"failing": True}
    if fingerprint:
        refuse(f"현재 게시된 실패 목록에 지문 {fingerprint}인 레코드 실패가 없습니다.",
               f"No record failure with fingerprint {fingerprint} in the current published failures.")
    return find_valid_record(settings, file, row)


def find_valid_record(settings: Settings, file: str, row: int) -> dict:
    """A record that is not failing: read its delivery again to compute its record_id."""
    from pledgeflow.contracts import record_id
    from pledgeflow.ingest import process_delivery
    from pledgeflow.project import Project

    project = Project.load(settings)
    catalog, dataset, path = project.catalog, file.split("/")[0], settings.raw_dir / file
    if dataset not in catalog.descriptors or not path.is_file():
        refuse(f"raw/{file} 파일이 없거나 알려진 데이터셋 폴더에 있지 않습니다.", f"raw/{file} does not exist or is not in a dataset folder.")
    result = process_delivery(path, dataset, file, project)
    rows = pl.concat([result.valid, result.quarantined]).filter(pl.col("source_row") == row)
    if rows.height == 0:
        refuse(f"{file} {row}행은 데이터 행이 아닙니다(머리글, 빈 행 또는 파일 끝 이후).",
               f"Row {row} of {file} is not a data row (header, blank, or past the end).")
    return {"dataset": dataset, "source_file": file, "source_row": row,
            "record_id": rows.select(record_id(pl.col("row_digest"))).item(0, 0), "failing": False}


def record(settings: Settings, action: str, target: dict, **fields: object) -> None:
    """Append the decision to the ledger and tell the steward what was recorded."""
    from pledgeflow.catalog import load_descriptor
    from pledgeflow.errors import LedgerError
    from pledgeflow.privacy import mask_text
    from pledgeflow.project import LEDGER_DESCRIPTOR_FILE
    from pledgeflow.steward.ledger import LEDGER_FILE
    from pledgeflow.steward.ledger_writer import append_decision

    ledger = settings.raw_dir / "decisions" / LEDGER_FILE
    decision = {"action": action, **{k: target[k] for k in ("dataset", "source_file", "source_row", "record_id")}, **fields}
    try:
        decision_id = append_decision(ledger, decision, load_descriptor(settings.schemas_dir / LEDGER_DESCRIPTOR_FILE))
    except LedgerError as error:
        refuse(error.message_ko, error.message_en)
    console.print(f"[bold green]{decision_id}[/] {action}: {escape(target['source_file'])} row {target['source_row']} "
                  f"(record {target['record_id']}, {target['dataset']})")
    if fields.get("column"):
        console.print(f"  {fields['column']} := {escape(mask_text(str(fields['new_value'])))}")
    console.print(f"다음 실행에서 적용됩니다 / the next run applies it. Ledger: {escape(str(ledger))}")
    # a decision changes what the records count, so the reconciliation with the printed card changes with it
    effect = {"exclude": ("이 레코드는 지표에서 빠집니다", "the record leaves the indicators"),
              "correct": ("통과하면 이 레코드가 지표에 들어갑니다", "once valid, the record counts in the indicators"),
              "waive": ("이 레코드가 지표에 들어갑니다", "the record counts in the indicators")}[action]
    console.print(f"[dim]{effect[0]}: 카드와의 대조(reconcile) 결과가 달라질 수 있습니다 / {effect[1]}: "
                  "the reconciliation with the printed card may change (`pledgeflow reconcile`).[/]")


def correctable_column(settings: Settings, dataset: str, name: str) -> str:
    """The delivered column a correction may set, from any name of it; refuses unknown or personal columns."""
    from pledgeflow.catalog import load_catalog, normalise_label
    from pledgeflow.steward.ledger import column_catalog

    names = column_catalog(load_catalog(settings.schemas_dir)).filter(
        (pl.col("dataset") == dataset) & (pl.col("label") == normalise_label(name)))
    if names.height == 0:
        refuse(f"'{name}'은(는) {dataset} 데이터셋의 열이 아닙니다.", f"'{name}' is not a column of dataset {dataset}.")
    if not names["correctable"][0]:
        refuse("개인 식별 열은 결정으로 고칠 수 없습니다. 원본을 고쳐 다시 제출받으세요.",
               "A person identifier cannot be corrected by a decision; have the delivery fixed upstream.")
    return names["column"][0]


@review_app.command()
def correct(
    column: str = typer.Option(..., "--column", help="Column to set (name as in the failure list, or the Korean header)"),
    value: str = typer.Option(..., "--value", help="New cell text as it would be delivered ('-' clears the cell)"),
    file: str = FileOption, row: int = RowOption, fingerprint: str = FingerprintOption,
    by: str = ByOption, reason: str = ReasonOption, root: Path = RootOption,
) -> None:
    """Set a column of a record to a new value; the next run re-validates the record."""
    settings = project(root)
    target = find_record(settings, file, row, fingerprint)
    column = correctable_column(settings, target["dataset"], column)
    record(settings, "correct", target, column=column, new_value=value, decided_by=by, reason=reason)


@review_app.command()
def waive(
    file: str = FileOption, row: int = RowOption, fingerprint: str = FingerprintOption,
    by: str = ByOption, reason: str = ReasonOption,
    expires: str = typer.Option(None, "--expires", help="Last day (Seoul) the waiver holds: a date (2027-12-31) or from today (+90d, 6m, 1y); runs after it stop applying it"),
    root: Path = RootOption,
) -> None:
    """Accept a quarantined record as it is (optionally until --expires)."""
    settings = project(root)
    target = find_record(settings, file, row, fingerprint)
    if not target["failing"]:
        refuse("이 레코드에는 검증 실패가 없어 면제할 것이 없습니다.", "This record has no failure: nothing to waive.")
    until = parse_expiry(expires)
    record(settings, "waive", target, decided_by=by, reason=reason, expires_date=until)


def parse_expiry(text: str | None, today: date | None = None) -> date | None:
    """The last day (a Seoul date) a waiver holds: a date in any Korean form, or relative to today ("+90d", "6m", "1y").

    A run applies the waiver on every day up to and including it (runs date themselves in Seoul), so a
    date before today would be expired at the next run: refused.
    """
    if text is None:
        return None
    from pledgeflow.clock import now_seoul
    from pledgeflow.korean import parse_date

    today = today or now_seoul().date()
    relative = RELATIVE_EXPIRY.match(text.strip())
    if relative:
        offset = f"{relative.group(1)}{OFFSETS[relative.group(2)]}"
        return pl.select(pl.lit(today).dt.offset_by(offset)).item()
    until = pl.select(parse_date(pl.lit(text, dtype=pl.String))).item()
    if until is None or until < today:
        refuse(f"만료일 '{text}'을(를) 읽을 수 없거나 이미 지났습니다(오늘 {today}). 예) 2027-12-31, +90d(90일 뒤), 6m, 1y",
               f"Expiry '{text}' is not a date or is before today ({today}, Seoul), e.g. 2027-12-31, +90d (in 90 days), 6m, 1y.")
    return until


@review_app.command()
def exclude(
    file: str = FileOption, row: int = RowOption, fingerprint: str = FingerprintOption,
    by: str = ByOption, reason: str = ReasonOption, root: Path = RootOption,
) -> None:
    """Keep a record (valid or quarantined) out of the indicators on purpose."""
    settings = project(root)
    target = find_record(settings, file, row, fingerprint)
    record(settings, "exclude", target, decided_by=by, reason=reason)


@review_app.command("list")
def list_decisions(root: Path = RootOption, as_json: bool = JsonOption) -> None:
    """Show the decisions ledger, with each decision's outcome in the current published version."""
    from pledgeflow.clock import in_seoul
    from pledgeflow.privacy import mask_personal_numbers
    from pledgeflow.project import Project
    from pledgeflow.publish.version import read_current
    from pledgeflow.steward.ledger import load_decisions

    settings = project(root)
    ledger = load_decisions(settings.raw_dir / "decisions", Project.load(settings))
    published = read_current(settings.curated_dir, "decisions")
    outcomes = published.select("decision_id", "outcome") if published is not None and "outcome" in published.columns \
        else pl.DataFrame(schema={"decision_id": pl.String, "outcome": pl.String})
    shown = ledger.join(outcomes.unique("decision_id"), on="decision_id", how="left").with_columns(
        in_seoul(pl.col("decided_at")).alias("decided_at_kst"),
        in_seoul(pl.col("decided_at")).dt.strftime("%Y-%m-%d %H:%M"),
        mask_personal_numbers(pl.col("new_value")), mask_personal_numbers(pl.col("reason")),
        pl.when(pl.col("problem_rule").is_not_null()).then(pl.lit("invalid")).otherwise("outcome").alias("outcome"),
    )
    columns = ["decision_id", "decided_at", "decided_by", "action", "source_file", "source_row", "column",
               "new_value", "reason", "expires_date", "outcome"]
    if as_json:  # decided_at in ISO 8601 with its Seoul offset
        print_json(shown.with_columns(pl.col("decided_at_kst").alias("decided_at")).select(columns, "problem_ko", "problem_en"))
        return
    table = Table(title=f"Decisions 검토 결정: {ledger.height}")
    for name in columns:
        table.add_column(name, overflow="fold")
    for values in shown.select(columns).iter_rows():
        table.add_row(*("" if v is None else escape(str(v)) for v in values))
    console.print(table)
    for ledger_file, ledger_row, problem in shown.filter(pl.col("problem_ko").is_not_null()).select(
            "ledger_file", "ledger_row", "problem_ko").iter_rows():
        console.print(f"[red]{escape(str(ledger_file))} {ledger_row or '-'}행[/]: {escape(problem)}")
