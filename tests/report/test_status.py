"""The status rule (schemas/report/status_rule.yaml) on hand-made progress figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from pledgeflow.report.status import Progress, classify_progress, find_rule_file, load_status_rule
from tests.report.conftest import RULE


@pytest.fixture(scope="module")
def rule():
    return load_status_rule(RULE)


def progress(**kw) -> Progress:
    base = {"total_target": 135, "actual_to_date": 112, "target_due": 75, "periods_started": 3,
            "open_periods": ("2021", "2022.6."), "stages": ()}
    return Progress(**base | kw)


def test_ahead_of_the_targets_due_with_targets_still_open_is_on_track(rule):
    verdict = classify_progress(progress(), rule)
    assert (verdict.category, verdict.symbol, verdict.category_en) == ("정상추진", "●", "on track")
    assert progress().achievement_pct == 83.0 and not verdict.stage_disagrees


def test_complete_ticked_while_later_targets_are_open_disagrees(rule):
    verdict = classify_progress(progress(stages=("여론수렴", "완료(지속)")), rule)
    assert verdict.category == "정상추진"
    assert any("2개" in d for d in verdict.disagreements_ko)  # two stages ticked
    assert any("완료(지속)" in d and "2021, 2022.6." in d for d in verdict.disagreements_ko)
    assert any("targets still open in 2021, 2022.6." in d for d in verdict.disagreements_en)


def test_all_targets_met_and_none_open_is_complete_and_agrees_with_the_card(rule):
    verdict = classify_progress(progress(actual_to_date=140, open_periods=(), stages=("완료(지속)",)), rule)
    assert verdict.category == "완료" and not verdict.stage_disagrees


def test_met_early_but_with_open_targets_is_not_complete(rule):
    assert classify_progress(progress(actual_to_date=140), rule).category == "정상추진"


def test_behind_the_targets_due_is_partly_done(rule):
    verdict = classify_progress(progress(actual_to_date=30), rule)
    assert verdict.category == "일부추진" and "40.0%" in verdict.reason_ko


@pytest.mark.parametrize("kw", [{"actual_to_date": 0}, {"periods_started": 0}])
def test_nothing_achieved_or_not_begun_is_not_started(rule, kw):
    assert classify_progress(progress(**kw), rule).category == "미착수"


@pytest.mark.parametrize("stage, category", [("보류", "보류"), ("폐기", "폐기")])
def test_the_card_decides_on_hold_and_dropped(rule, stage, category):
    verdict = classify_progress(progress(stages=(stage,)), rule)
    assert verdict.category == category and not verdict.stage_disagrees


def test_no_target_due_yet_counts_as_on_pace(rule):
    assert classify_progress(progress(target_due=0, actual_to_date=5), rule).category == "정상추진"


def test_thresholds_come_from_the_yaml(tmp_path: Path):
    text = RULE.read_text(encoding="utf-8").replace("min_pace_pct: 90.0", "min_pace_pct: 200.0")
    (tmp_path / "rule.yaml").write_text(text, encoding="utf-8")
    stricter = load_status_rule(tmp_path / "rule.yaml")
    assert stricter.on_track_min_pace_pct == 200.0
    assert classify_progress(progress(), stricter).category == "일부추진"  # 149.3% of the targets due < 200%


def test_the_rule_file_is_found_from_a_version_folder_inside_the_project(tmp_path: Path):
    assert find_rule_file(Path(__file__).parent) == RULE
    assert find_rule_file(tmp_path) is None
