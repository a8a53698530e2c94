"""Card folders under raw/reported/: a folder named after no pledge is refused with what it could be."""

from __future__ import annotations

import shutil

import pytest

from pledgeflow.card.register import load_report
from pledgeflow.errors import ReportError
from pledgeflow.synth.generate import generate_project
from tests.conftest import REPO, make_project


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """Three districts, each with a pledge numbered 15 and its card in raw/reported/<pledge_id>/."""
    root = tmp_path_factory.mktemp("national") / "p"
    generate_project(root, REPO, 300, districts=3, seed=2)
    return root


def test_a_card_folder_named_after_no_pledge_among_pledges_sharing_its_number_is_refused(national, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(national, root)
    (root / "raw/reported/d01-2018-15").rename(root / "raw/reported/d1-2018-15")
    with pytest.raises(ReportError) as refused:
        load_report(make_project(root))
    error = refused.value
    assert error.source_file == "reported/d1-2018-15/_tables.csv"
    assert "'d1-2018-15' is no pledge id of the catalog" in error.message_en
    assert "공약번호 15 belongs to 3 pledges (d01-2018-15, d02-2022-15, d03-2018-15)" in error.message_en
    # the pledge of that number left without a card folder is the likeliest owner
    assert error.message_en.endswith("Did you mean d01-2018-15?") and "혹시 d01-2018-15 인가요?" in error.message_ko


def test_a_card_folder_whose_number_no_pledge_has_says_so(national, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(national, root)
    index = root / "raw/reported/d02-2022-15/_tables.csv"
    index.write_text(index.read_text(encoding="utf-8").replace(",15,", ",16,"), encoding="utf-8")
    (root / "raw/reported/d02-2022-15").rename(root / "raw/reported/card-b")
    with pytest.raises(ReportError, match="no pledge of the catalog has 공약번호 16"):
        load_report(make_project(root))


def test_cards_in_folders_named_after_their_pledges_load(national):
    report = load_report(make_project(national))
    assert sorted(report.targets["pledge_id"].unique()) == ["d01-2018-15", "d02-2022-15", "d03-2018-15"]
