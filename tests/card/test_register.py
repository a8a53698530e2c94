"""The report register loader: printed text kept, numbers read, labels resolved, contracts enforced."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandera.polars as pa
import polars as pl

from tests.conftest import CURATED, make_project
import pytest


from pledgeflow.card.figures import build_budget_table, report_results, report_targets
from pledgeflow.card.register import ReportError, load_report

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"


def register(tmp_path: Path, encoding: str = "utf-8-sig", **files: str) -> Path:
    """A copy of the real register with some files replaced by inline CSV text."""
    folder = tmp_path / "raw" / "reported"
    shutil.copytree(REPO / "raw" / "reported", folder)
    for name, text in files.items():
        (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    return folder


def test_real_register_keeps_the_misprinted_census_figure(report):
    other = report.census.filter((pl.col("measure") == "establishments") & (pl.col("industry_ko") == "기타")).row(0, named=True)
    assert (other["value_text"], other["value"], other["malformed"]) == ("1,9235", 19235, True)
    assert other["source_ref"] == "raw/reported/census.csv:7"
    assert other["as_of_date"] == date(2017, 12, 31)
    assert report.census.filter(pl.col("malformed")).height == 1


def test_census_file_is_cp949_and_others_are_utf8_with_bom():
    census = (REPO / "raw" / "reported" / "census.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        census.decode("utf-8")
    assert census.decode("cp949").startswith("구분,산업,값")
    assert (REPO / "raw" / "reported" / "budget.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_real_register_tables_and_their_index(report):
    assert report.tables["file"].to_list() == [
        "attributes.csv", "targets.csv", "results.csv", "budget.csv", "census.csv", "activities.csv"]
    assert report.targets.height == 12 and report.results.height == 14 and report.budget.height == 36
    assert set(report.results["as_of_date"]) == {date(2020, 12, 31)}
    assert report.attributes.filter(pl.col("attribute_ko") == "이행단계")["selected"].sum() == 2


def test_labels_resolve_through_the_catalog(report):
    spellings = dict(report.results.select("subproject_text", "subproject_id").unique().iter_rows())
    assert spellings == {"기업과 연계 일자리 창출": "corporate_linkage", "중장년 일자리 창출": "midcareer"}
    courses = report.activities.filter(pl.col("activity_name_ko") == "일반경비 신입과정")
    assert dict(courses.select("period_text", "period").iter_rows()) == {"계": "total", "‘18년": "2018", "‘19년": "2019", "‘20년": "2020"}
    rates = report.results.filter(pl.col("measure") == "rate")
    assert rates["rate_pct"].to_list() == [83.0, 87.0] and rates["actual"].null_count() == 2


def test_dates_with_curly_apostrophes_are_read_and_kept_as_printed(report):
    visit = report.activities.filter(pl.col("measure_ko") == "일자").row(0, named=True)
    assert visit["value_text"] == "‘19. 9. 27." and visit["value_date"] == date(2019, 9, 27) and not visit["malformed"]


def test_unknown_subproject_spelling_leaves_the_id_null(tmp_path, catalog):
    folder = register(tmp_path, targets="세부사업,단위,기간,목표\n청년 일자리 창출,명,계,10\n청년 일자리 창출,명,2019년,10\n")
    targets = load_report(make_project(), folder).targets
    assert targets["subproject_id"].to_list() == [None, None]
    assert targets["indicator_id"].to_list() == [None, None]


def test_blank_lines_do_not_shift_row_numbers_and_cp949_is_read(tmp_path, catalog):
    text = "세부사업,단위,기간,목표\r\n중장년 일자리 창출,명,계,\"1,100\"\r\n,,,\r\n중장년 일자리 창출,명,2019년,\"1,10\"\r\n"
    folder = register(tmp_path, encoding="cp949", targets=text)
    targets = load_report(make_project(), folder).targets
    assert targets["source_row"].to_list() == [2, 4]
    assert targets["target"].to_list() == [1100, 110]
    assert targets["malformed"].to_list() == [False, True]


def test_missing_required_column_names_it(tmp_path, catalog):
    folder = register(tmp_path, targets="세부사업,단위,기간\n중장년 일자리 창출,명,계\n")
    with pytest.raises(ReportError, match="목표"):
        load_report(make_project(), folder)


def test_undecodable_file_is_a_report_error(tmp_path, catalog):
    folder = register(tmp_path)
    (folder / "budget.csv").write_bytes(b"\xff\xfe\x00\x81\x00")
    with pytest.raises(ReportError, match="CP949"):
        load_report(make_project(), folder)


def test_contract_violation_is_a_report_error(tmp_path, catalog):
    duplicate = "세부사업,단위,기간,목표\n중장년 일자리 창출,명,계,115\n중장년 일자리 창출,명,계,115\n"
    with pytest.raises(ReportError, match="unique"):
        load_report(make_project(), register(tmp_path, targets=duplicate))


def test_report_targets_and_results_for_aggregation(report):
    targets = report_targets(report)
    assert targets.columns == ["pledge_id", "subproject_id", "indicator_id", "period", "target", "total_target"]
    mid_2018 = targets.filter((pl.col("subproject_id") == "midcareer") & (pl.col("period") == "2018")).row(0, named=True)
    assert mid_2018["target"] is None and mid_2018["total_target"] == 115
    assert set(targets["indicator_id"]) == {"jobs_created"} and targets.height == 10
    results = report_results(report)
    assert results.columns == ["pledge_id", "subproject_id", "indicator_id", "period", "reported_actual"]
    corp = results.filter(pl.col("subproject_id") == "corporate_linkage").sort("period")
    assert corp["reported_actual"].to_list() == [10, 59, 43, None, None]


def test_budget_table_matches_the_curated_contract(report, catalog):
    budget = build_budget_table(report, catalog, CURATED["budget"])
    assert budget.schema == pl.Schema(CURATED["budget"])
    assert budget.equals(budget.sort("pledge_id", "subproject_id", "funding_source", "period"))
    grand = budget.filter((pl.col("subproject_id") == "total") & (pl.col("funding_source") == "total") & (pl.col("period") == "total"))
    assert grand.select("amount_million_krw", "amount_text", "funding_source_ko").row(0) == (1572, "1,572", "계")
    mid = budget.filter(pl.col("subproject_id") == "midcareer")
    assert set(mid["funding_source"]) == {"total"} and mid["subproject_name_ko"][0] == "중장년 일자리 창출"
    assert set(budget["funding_source"]) == {"total", "district", "city", "national"}
    city_2018 = budget.filter((pl.col("funding_source") == "city") & (pl.col("period") == "2018")).row(0, named=True)
    assert city_2018["amount_million_krw"] is None and city_2018["amount_text"] == "-"


@pytest.mark.parametrize("path", sorted((SCHEMAS / "reported").glob("*.schema.yaml")), ids=lambda p: p.name)
def test_register_schemas_round_trip_and_describe_every_column(path):
    schema = pa.DataFrameSchema.from_yaml(path)
    assert pa.DataFrameSchema.from_yaml(schema.to_yaml()) == schema
    assert schema.strict and all(column.description for column in schema.columns.values())


def test_an_unquoted_thousands_separator_is_refused_not_cut(tmp_path, catalog):
    folder = tmp_path / "reported"
    shutil.copytree(REPO / "raw" / "reported", folder)
    budget = folder / "budget.csv"
    lines = budget.read_bytes().decode("utf-8-sig").splitlines()
    lines[1] = lines[1].replace('"1,572"', "1,572")
    assert "1,572" in lines[1] and '"1,572"' not in lines[1]
    budget.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    with pytest.raises(ReportError, match=r"Line\(s\) 2 have more cells than the header"):
        load_report(make_project(), folder)
