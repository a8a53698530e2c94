"""`pledgeflow catalog check` and the catalog's own checks: every problem with its file and line, ko and en."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pledgeflow.catalog import load_catalog
from pledgeflow.cli.commands import app
from pledgeflow.errors import EXIT_BLOCKED, CatalogError, exit_code_of
from tests.conftest import copy_project
from tests.second_pledge import add_second_pledge

runner = CliRunner()


def edit_catalog(root: Path, old: str, new: str) -> int:
    """Replace `old` by `new` in the project's catalog; the 1-based line where the edit landed."""
    path = root / "schemas" / "catalog.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


@pytest.fixture
def two(tmp_path) -> Path:
    return add_second_pledge(copy_project(tmp_path / "p"))


def check(root: Path):
    return runner.invoke(app, ["catalog", "check", "--root", str(root)], env={"COLUMNS": "250"})


def test_a_clean_catalog_passes(two):
    result = check(two)
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("filters: {channel_id: [job_fair], age_band: mid_career_age}", "filters: {channel_id: [job_fare], age_band: mid_career_age}",
         ["job_fare", "채널", "unknown"]),
        ("filters: {channel_id: [job_fair], age_band: mid_career_age}", "filters: {shoe_size: [270]}", ["shoe_size", "not in the dataset"]),
        ("measure: {kind: sum, column: completed_count}", "measure: {kind: sum, column: course_name_ko}", ["course_name_ko", "not a numeric"]),
        ("measure: {kind: distinct, column: employer_brn}", "measure: {kind: median, column: employer_brn}", ["median"]),
        ("source_dataset: training_cohorts\n                date_column: start_date", "source_dataset: trainings\n                date_column: start_date",
         ["trainings"]),
        ("rate: period_over_target", "rate: best_effort", ["best_effort"]),
        # accepted once and computed as cumulative_over_total: refused now, with the definitions that exist
        ("rate: period_over_target", "rate: latest_over_target", ["latest_over_target", "period_over_target"]),
    ],
)
def test_each_broken_indicator_is_named_with_its_line(two, old, new, words):
    line = edit_catalog(two, old, new)
    result = check(two)
    assert result.exit_code == EXIT_BLOCKED
    errors = [row for row in result.output.splitlines() if "[error]" in row]
    assert errors and all(w in result.output for w in words if w != "채널"), result.output
    # the line of the indicator's mapping: at or before the edited line, in the same indicator block
    lines = [int(row.split("catalog.yaml:")[1].split(":")[0]) for row in errors]
    assert all(line - 12 <= n <= line for n in lines), (lines, line)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # a typo YAML accepts: read as written, the filter would be dropped and the numbers change without a word
        ("filters: {channel_id: [job_fair], age_band: mid_career_age}", "filter: {channel_id: [job_fair], age_band: mid_career_age}",
         ["unknown key 'filter'", "모르는 항목"]),
        ("measure: {kind: sum, column: completed_count}", "measure: {kind: sum, colum: completed_count}", ["unknown key 'colum'"]),
        ("subprojects: [hb_senior_fair]\n                filters", "subprojects: hb_senior_fair\n                filters",
         ["must be a list", "[hb_senior_fair]"]),
        ('{period: "2023 상반기", start_date: 2023-01-01, end_date: 2023-06-30}',
         '{period: "2023 상반기", start_date: 2023-01-01, end_date: 2023-06-31}', ["2023-06-31", "not a date"]),
        ("          - pledge_id: hb-2022-7", "          - pledge_id: [hb-2022-7",
         ["YAML syntax error", "YAML 문법 오류"]),
    ],
)
def test_what_yaml_accepts_but_the_catalog_cannot_mean_is_an_error_with_its_line(two, old, new, words):
    line = edit_catalog(two, old, new)
    result = check(two)
    assert result.exit_code == EXIT_BLOCKED, result.output
    assert all(w in result.output for w in words), result.output
    errors = [row for row in result.output.splitlines() if "[error]" in row]
    assert len(errors) <= 2 and "Traceback" not in result.output, result.output  # not one error per letter of a string
    lines = [int(row.split("catalog.yaml:")[1].split(":")[0]) for row in errors]
    assert all(line - 12 <= n <= line + 40 for n in lines), (lines, line)


def test_a_run_refuses_a_broken_catalog_before_prefect_and_keeps_it_in_the_history(two):
    edit_catalog(two, "          - pledge_id: hb-2022-7", "          - pledge_id: [hb-2022-7")
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from pledgeflow.cli.commands import app\n"
        f"result = CliRunner().invoke(app, ['run', '--root', {str(two)!r}], env={{'COLUMNS': '250'}})\n"
        "print(result.output)\n"
        "assert result.exit_code == 3, result.output\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'prefect']\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "Run blocked by its data (exit 3)" in completed.stdout and "YAML" in completed.stdout
    assert "Nothing was published" in completed.stdout and not (two / "curated" / "current").exists()
    history = pl.read_parquet(two / "state" / "runs.parquet")
    assert history.select("run_number", "status").rows() == [(1, "blocked")]
    assert history["message"][0].startswith("CatalogError: schemas/catalog.yaml")


def test_overlapping_periods_and_a_grid_nobody_declared_are_errors(two):
    edit_catalog(two, '{period: "2023 상반기", start_date: 2023-01-01', '{period: "2023 상반기", start_date: 2022-12-01')
    result = check(two)
    assert result.exit_code == EXIT_BLOCKED and "overlap" in result.output and "겹칩니다" in result.output
    edit_catalog(two, "periods: half-years-2022", "periods: half-years-2020")
    assert "half-years-2020" in check(two).output


def test_the_run_refuses_a_broken_catalog_as_blocked_by_its_data(two):
    edit_catalog(two, "measure: {kind: sum, column: completed_count}", "measure: {kind: sum, column: course_name_ko}")
    with pytest.raises(CatalogError) as refused:
        load_catalog(two / "schemas")
    assert exit_code_of(refused.value) == EXIT_BLOCKED
    assert "schemas/catalog.yaml" in refused.value.source and "course_name_ko" in refused.value.message_en
    assert refused.value.issues[0].line and "행" in refused.value.message_ko


def test_a_gap_between_two_periods_is_a_warning(two):
    edit_catalog(two, '{period: "2023 상반기", start_date: 2023-01-01', '{period: "2023 상반기", start_date: 2023-02-01')
    result = check(two)
    assert result.exit_code == 0 and "[warning]" in result.output and "belong to no period" in result.output, result.output


def test_a_spelling_shared_by_two_sub_projects_is_refused(two):
    edit_catalog(two, "aliases: [신중년 박람회]", "aliases: [신중년 박람회, 중장년 일자리]")
    result = check(two)
    assert result.exit_code == EXIT_BLOCKED and "중장년일자리" in result.output


def test_an_indicator_no_register_figure_refers_to_is_a_warning(two):
    edit_catalog(two, "              - indicator_id: fair_employers", "              - indicator_id: fair_firms")
    edit_catalog(two, "name_ko: 채용 참여기업 수", "name_ko: 신규 참여기업 수")  # the card prints the old name only
    result = check(two)
    assert result.exit_code == 0 and "[warning]" in result.output and "fair_firms" in result.output


def test_catalog_check_imports_neither_prefect_nor_gx(tmp_path):
    project = copy_project(tmp_path / "p")
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from pledgeflow.cli.commands import app\n"
        f"result = CliRunner().invoke(app, ['catalog', 'check', '--root', {str(project)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'great_expectations'))\n"
        "assert not heavy, heavy[:5]\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_a_shared_grids_period_error_is_said_once_at_the_periods_own_line(tmp_path):
    """term-2018 is declared once and used by two districts' pledges: its overlap is one error, at the period's line."""
    from pledgeflow.synth.generate import generate_project
    from tests.conftest import REPO

    root = tmp_path / "p"
    generate_project(root, REPO, 300, districts=3, seed=2)
    line = edit_catalog(root, "  - period: '2019'\n    start_date: 2019-01-01", "  - period: '2019'\n    start_date: 2018-12-01")
    output = check(root).output
    errors = [said for said in output.splitlines() if "[error]" in said]
    assert errors == [f"schemas/catalog.yaml:{line}: [error] 기간 '2018'과 '2019'이 겹칩니다. / periods '2018' and '2019' overlap."]
    edit_catalog(root, "  - period: '2020'", "  - label: '2020'")
    assert "a period has no label (period)" in check(root).output
