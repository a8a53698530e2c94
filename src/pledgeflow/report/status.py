"""The status rule: a pledge's category (완료 / 정상추진 / 일부추진 / 미착수 / 보류 / 폐기) from its
indicators and the card's 이행단계, and whether the card's own 이행단계 disagrees with the records.

The thresholds and the stage vocabulary live in `schemas/report/status_rule.yaml` (documented there);
`classify_progress` is a pure function of a `Progress` and a `StatusRule`, so it is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

RULE_FILE = Path("schemas") / "report" / "status_rule.yaml"


@dataclass(frozen=True)
class StatusRule:
    """The rule's settings, as loaded from its YAML file."""

    complete_min_achievement_pct: float
    complete_requires_no_open_targets: bool
    on_track_min_pace_pct: float
    stage_decides: dict[str, str]
    agrees_with: dict[str, tuple[str, ...]]
    categories: dict[str, dict]
    source: str = str(RULE_FILE)

    def symbol(self, category: str) -> str:
        return self.categories.get(category, {}).get("symbol", "")

    def english(self, category: str) -> str:
        return self.categories.get(category, {}).get("en", "")


@dataclass(frozen=True)
class Progress:
    """What the rule looks at, summed over a pledge's (or one sub-project's) indicators, as of the card's date."""

    total_target: int
    actual_to_date: int
    target_due: int  # targets of periods already ended by the as-of date
    periods_started: int
    open_periods: tuple[str, ...] = ()  # periods with a target that end after the as-of date
    stages: tuple[str, ...] = ()  # the card's ticked 이행단계 options

    @property
    def achievement_pct(self) -> float | None:
        return round(100.0 * self.actual_to_date / self.total_target, 1) if self.total_target else None

    @property
    def pace_pct(self) -> float | None:
        return round(100.0 * self.actual_to_date / self.target_due, 1) if self.target_due else None


@dataclass(frozen=True)
class Verdict:
    """A category with its reason, and the card's disagreement with it (empty when none)."""

    category: str
    symbol: str
    category_en: str
    reason_ko: str
    reason_en: str
    disagreements_ko: tuple[str, ...] = field(default=())
    disagreements_en: tuple[str, ...] = field(default=())

    @property
    def stage_disagrees(self) -> bool:
        return bool(self.disagreements_ko)


def find_rule_file(start: Path) -> Path | None:
    """`schemas/report/status_rule.yaml` of the project holding `start` (a version folder under curated/)."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / RULE_FILE).is_file():
            return folder / RULE_FILE
    return None


def load_status_rule(path: Path) -> StatusRule:
    """Read the rule's YAML file (see `schemas/report/status_rule.yaml` for what each key means)."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return StatusRule(
        complete_min_achievement_pct=float(spec["complete"]["min_achievement_pct"]),
        complete_requires_no_open_targets=bool(spec["complete"].get("requires_no_open_targets", True)),
        on_track_min_pace_pct=float(spec["on_track"]["min_pace_pct"]),
        stage_decides=dict(spec.get("stage_decides") or {}),
        agrees_with={k: tuple(v) for k, v in (spec.get("agrees_with") or {}).items()},
        categories=dict(spec["categories"]),
        source=f"{RULE_FILE.as_posix()}" if path.as_posix().endswith(RULE_FILE.as_posix()) else path.name,
    )


def choose_category(progress: Progress, rule: StatusRule) -> tuple[str, str, str]:
    """(category, reason in Korean, reason in English): the first step of the rule that applies."""
    decided = [rule.stage_decides[s] for s in progress.stages if s in rule.stage_decides]
    if decided:
        return decided[0], f"카드 이행단계 '{decided[0]}'", f"the card's stage says {rule.english(decided[0])}"
    if progress.periods_started == 0 or progress.actual_to_date <= 0:
        return "미착수", "시작된 기간이 없거나 실적이 없음", "no period started or nothing achieved yet"
    achievement = progress.achievement_pct or 0.0
    open_ok = not (rule.complete_requires_no_open_targets and progress.open_periods)
    if achievement >= rule.complete_min_achievement_pct and open_ok:
        return "완료", f"이행률 {achievement:.1f}% ≥ {rule.complete_min_achievement_pct:.1f}%", \
            f"achievement {achievement:.1f}% ≥ {rule.complete_min_achievement_pct:.1f}%"
    pace = progress.pace_pct
    if pace is None or pace >= rule.on_track_min_pace_pct:
        shown = "기한이 지난 목표 없음" if pace is None else f"기한 도래 목표 대비 {pace:.1f}%"
        shown_en = "no target due yet" if pace is None else f"{pace:.1f}% of the targets due"
        return "정상추진", f"{shown} ≥ {rule.on_track_min_pace_pct:.1f}%", f"{shown_en} ≥ {rule.on_track_min_pace_pct:.1f}%"
    return "일부추진", f"기한 도래 목표 대비 {pace:.1f}% < {rule.on_track_min_pace_pct:.1f}%", \
        f"{pace:.1f}% of the targets due < {rule.on_track_min_pace_pct:.1f}%"


def check_stage(progress: Progress, category: str, rule: StatusRule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Why the card's ticked 이행단계 disagrees with the records' category (Korean, English); empty when it agrees."""
    ko, en = [], []
    if len(progress.stages) > 1:
        ticked = ", ".join(progress.stages)
        ko.append(f"이행단계가 {len(progress.stages)}개 선택됨 ({ticked})")
        en.append(f"{len(progress.stages)} stages ticked ({ticked})")
    open_text = ", ".join(progress.open_periods)
    for stage in progress.stages:
        agreeing = rule.agrees_with.get(stage)
        if agreeing is None or category in agreeing:
            continue
        why = f": 목표가 남은 기간 {open_text}" if open_text and "완료" in agreeing else ""
        why_en = f": targets still open in {open_text}" if open_text and "완료" in agreeing else ""
        ko.append(f"카드의 이행단계 '{stage}'는 기록상 '{category}'와 다름{why}")
        en.append(f"the card's stage '{stage}' disagrees with the records' '{rule.english(category)}'{why_en}")
    return tuple(ko), tuple(en)


def classify_progress(progress: Progress, rule: StatusRule) -> Verdict:
    """The category of `progress` under `rule`, with its reason and the card's disagreements."""
    category, reason_ko, reason_en = choose_category(progress, rule)
    ko, en = check_stage(progress, category, rule)
    return Verdict(category, rule.symbol(category), rule.english(category), reason_ko, reason_en, ko, en)
