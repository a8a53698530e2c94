"""The synthetic generator: deterministic by seed, real delivery formats, about 1% defects, raw/ untouched."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pledgeflow.catalog import load_catalog
from pledgeflow.ingest.deliver import process_delivery
from pledgeflow.ingest.read import discover_deliveries, read_delivery
from pledgeflow.synth.generate import add_delivery, generate_project, plan_districts
from tests.conftest import REPO, make_project, tree_digest

ROWS = 4_000


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "project"
    generate_project(root, REPO, ROWS, districts=3, seed=7)
    return root


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(synthetic, tmp_path):
    again = tmp_path / "again"
    generate_project(again, REPO, ROWS, districts=3, seed=7)
    assert tree_digest(again / "raw") == tree_digest(synthetic / "raw")
    other = tmp_path / "other"
    generate_project(other, REPO, ROWS, districts=3, seed=8)
    assert tree_digest(other / "raw") != tree_digest(synthetic / "raw")


def test_districts_split_the_rows_exactly():
    plan = plan_districts(1_234_567, 25, seed=1)
    assert sum(d.placements for d in plan) == 1_234_567 and len({d.folder for d in plan}) == 25
    assert plan[18].folder == "d19_영등포구"


def test_deliveries_come_in_every_real_format_with_korean_headers(synthetic):
    catalog = load_catalog(synthetic / "schemas")
    deliveries = discover_deliveries(synthetic / "raw", catalog)
    read = [read_delivery(Path(r["path"]), catalog.descriptors[r["dataset"]], r["source_file"]) for r in deliveries.iter_rows(named=True)]
    assert {d.encoding for d in read} == {"xlsx", "cp949", "utf-8-sig", "utf-8"}
    assert {d.header_row for d in read} == {1, 2, 3}  # no title line, a CSV title line, an XLSX title + blank line
    placements = [d for d, r in zip(read, deliveries.iter_rows(named=True)) if r["dataset"] == "placements"]
    assert sum(d.rows_read for d in placements) == ROWS
    assert all(not d.unmapped_headers for d in read)
    row, delivery = next((r, d) for r, d in zip(deliveries.iter_rows(named=True), read) if d.encoding == "cp949")
    header = Path(row["path"]).read_bytes().decode("cp949").splitlines()[delivery.header_row - 1]
    labels = {a for c in catalog.descriptors[row["dataset"]].columns for a in (c.label_ko, *c.aliases)}
    assert sum(cell.strip('"') in labels for cell in header.split(",")) >= 5


def test_about_one_percent_of_placements_fail_validation_with_many_rules(synthetic):
    catalog = load_catalog(synthetic / "schemas")
    deliveries = discover_deliveries(synthetic / "raw", catalog).filter(pl.col("dataset") == "placements")
    project = make_project(synthetic)
    results = [process_delivery(Path(r["path"]), "placements", r["source_file"], project) for r in deliveries.iter_rows(named=True)]
    quarantined = sum(r.quarantined.height for r in results)
    rules = set(pl.concat([r.failures for r in results])["rule"])
    assert 0.003 * ROWS < quarantined < 0.02 * ROWS
    assert {"parse_date", "date_in_term", "brn_check_digit", "unknown_subproject", "no_personal_number", "parse_number"} <= rules


def test_generation_never_touches_the_template(tmp_path):
    before = tree_digest(REPO / "raw")
    generate_project(tmp_path / "p", REPO, 500, districts=2, seed=1)
    assert tree_digest(REPO / "raw") == before
    assert (tmp_path / "p/schemas/catalog.yaml").exists() and (tmp_path / "p/raw/reported/d01-2018-15/targets.csv").exists()
    assert json.loads((tmp_path / "p/synth.json").read_text(encoding="utf-8"))["placements"] == 500


def test_an_added_delivery_is_one_new_file_and_leaves_the_others_alone(tmp_path):
    root = tmp_path / "p"
    generate_project(root, REPO, 1_000, districts=2, seed=3)
    before = tree_digest(root / "raw")
    path = add_delivery(root, 250, district=2)
    after = tree_digest(root / "raw")
    assert set(after) - set(before) == {str(path.relative_to(root / "raw"))}
    assert all(after[k] == v for k, v in before.items())
    catalog = load_catalog(root / "schemas")
    assert read_delivery(path, catalog.descriptors["placements"], "x").rows_read == 250


def test_every_district_is_a_government_with_its_own_pledge_sub_projects_term_and_card(synthetic):
    """The national project: N pledges from configuration, each card in its own register folder; records cite their district's own sub-projects."""
    from pledgeflow.card.register import load_report

    project = make_project(synthetic)
    catalog = project.catalog
    assert [p["pledge_id"] for p in catalog.pledges] == ["d01-2018-15", "d02-2022-15", "d03-2018-15"]
    assert len({p["district_ko"] for p in catalog.pledges}) == 3
    assert [p["period_grid"] for p in catalog.pledges] == ["term-2018", "term-2022", "term-2018"]
    assert all(s["subproject_id"].startswith(p["government_id"] + "_") for p in catalog.pledges for s in p["subprojects"])
    report = load_report(project)
    assert sorted(report.targets["pledge_id"].unique()) == ["d01-2018-15", "d02-2022-15", "d03-2018-15"]
    assert report.targets["indicator_id"].null_count() == report.targets.filter(pl.col("subproject_id") == "total").height
    cohorts = discover_deliveries(synthetic / "raw", catalog).filter(pl.col("dataset") == "training_cohorts")
    for row in cohorts.iter_rows(named=True):
        valid = process_delivery(Path(row["path"]), "training_cohorts", row["source_file"], project).valid
        district = row["source_file"].split("/")[1][:3]
        assert valid.height and set(valid["subproject_id"]) <= {f"{district}_corporate_linkage", f"{district}_midcareer"}


def test_districts_alternate_two_terms_each_with_its_grid_dates_and_card(synthetic):
    """민선 7기 (2018-2022) and 민선 8기 (2022-2026): the later grid is the template's four years on, labels included,
    and a district's records, files and card periods are all of its own term."""
    catalog = load_catalog(synthetic / "schemas")
    terms = {p["pledge_id"]: (str(p["term_start_date"]), str(p["term_end_date"])) for p in catalog.pledges}
    assert terms["d02-2022-15"] == ("2022-07-01", "2026-06-30") and terms["d01-2018-15"] == ("2018-07-01", "2022-06-30")
    grid = catalog.periods_frame.filter(pl.col("pledge_id") == "d02-2022-15")
    assert grid["period"].to_list() == ["2022", "2023", "2024", "2025", "2026.6."]
    assert str(grid["start_date"][0]) == "2022-07-01" and str(grid["end_date"][-1]) == "2026-06-30"
    files = sorted(p.name for p in (synthetic / "raw/placements/d02_중구").iterdir())
    assert [f[:4] for f in files] == ["2022", "2023", "2024", "2025", "2026"] and "하반기" in files[0]
    results = pl.read_csv(synthetic / "raw/reported/d02-2022-15/results.csv")
    assert results["기간"].unique().sort().to_list() == ["2022년", "2023년", "2024년", "2025년", "2026.6."]
    budget = pl.read_csv(synthetic / "raw/reported/d02-2022-15/budget.csv", infer_schema=False)
    assert set(budget["기간"]) == {"계", "2022년", "2023년", "2024년", "2025년", "2026.6."}


def test_a_later_term_record_dated_in_the_earlier_term_fails_against_its_own_pledges_term(synthetic):
    """The out-of-term defect dates a hire one term early: for a 민선 8기 district that day lies inside 민선 7기, which
    other pledges of the project have, so only a check against the record's own pledge's term catches it."""
    project = make_project(synthetic)
    deliveries = discover_deliveries(synthetic / "raw", project.catalog).filter(
        pl.col("dataset") == "placements", pl.col("source_file").str.contains("/d02_"))
    failures = pl.concat([process_delivery(Path(r["path"]), "placements", r["source_file"], project).failures
                          for r in deliveries.iter_rows(named=True)])
    outside = failures.filter(pl.col("rule") == "date_in_term")
    assert outside.height
    days = outside["value"].str.replace_all(r"\s", "").str.strptime(pl.Date, "%Y.%m.%d.")
    assert days.is_between(pl.date(2018, 7, 1), pl.date(2022, 6, 30)).all()
    assert outside["message_ko"].str.contains("d02-2022-15").all()
