"""Source profiles and column suggestions: the names real exports give the columns a descriptor knows.

A descriptor may declare `profiles:` — known source formats such as the HRD-Net / 고용24 training-course
export — each with the header labels that identify it (`match`), extra header aliases per column
(`aliases`) and columns composed from several source columns (`compose`, e.g. 훈련과정ID + 회차 ->
cohort_id). A file is matched to a profile by its header; profiles are configuration, never code.

A header no descriptor or profile maps is reported with the closest known column, so a steward can add
the alias in one line. Headers are a handful of strings, so difflib is enough (no per-row work).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pledgeflow.catalog import Descriptor, normalise_label
from pledgeflow.privacy import mask_text

SUGGESTION_CUTOFF = 0.75  # 0.6 offered 훈련시작일 for 훈련시간 (hours); a contained label still counts
MIN_TOKEN_CHARS = 2


@dataclass(frozen=True)
class UnknownColumn:
    """A delivered header that maps to nothing, with the closest known column when one is near."""

    header: str
    suggestion: str | None  # the known label it is closest to (an alias or the column's Korean label)
    column: str | None  # the descriptor column that label belongs to

    def as_dict(self) -> dict:
        return {"header": self.header, "suggestion": self.suggestion, "column": self.column}

    def describe(self) -> str:
        return f"{self.header} → {self.suggestion} ({self.column})" if self.column else self.header


def profile_labels(profile: dict) -> set[str]:
    """Every header label a profile names (aliases and composed source columns), normalised."""
    aliases = [a for names in profile.get("aliases", {}).values() for a in names]
    sources = [s for spec in profile.get("compose", {}).values() for s in spec["from"]]
    return {normalise_label(label) for label in (*aliases, *sources)}


def known_labels(descriptor: Descriptor) -> set[str]:
    """Labels that make a row look like a header: the descriptor's aliases and every profile's."""
    known = set(descriptor.header_aliases)
    for profile in descriptor.profiles:
        known |= profile_labels(profile)
    return known


def match_profile(labels: list[str], descriptor: Descriptor) -> dict | None:
    """The first profile whose `match` labels all appear in the header, or None."""
    present = {normalise_label(label) for label in labels if label}
    for profile in descriptor.profiles:
        if {normalise_label(m) for m in profile.get("match", [])} <= present:
            return profile
    return None


def aliases_for(descriptor: Descriptor, profile: dict | None) -> dict[str, str]:
    """Normalised header -> column: the descriptor's aliases plus the matched profile's."""
    aliases = dict(descriptor.header_aliases)
    for name, extra in (profile or {}).get("aliases", {}).items():
        aliases |= {normalise_label(alias): name for alias in extra}
    return aliases


def composed_columns(profile: dict | None) -> dict[str, tuple[tuple[str, ...], str]]:
    """column -> (normalised source headers, separator) for the columns a profile composes."""
    compose = (profile or {}).get("compose", {})
    return {name: (tuple(normalise_label(s) for s in spec["from"]), spec.get("separator", "-")) for name, spec in compose.items()}


def suggest_column(header: str, descriptor: Descriptor) -> UnknownColumn:
    """The closest known label to `header`: a close spelling (difflib), else a label it contains."""
    spellings = {}
    for column in descriptor.columns:
        for label in (column.label_ko, *column.aliases):
            spellings.setdefault(normalise_label(label), (label, column.name))
    for profile in descriptor.profiles:
        for name, extra in profile.get("aliases", {}).items():
            for label in extra:
                spellings.setdefault(normalise_label(label), (label, name))
    wanted = normalise_label(header)
    close = difflib.get_close_matches(wanted, list(spellings), n=1, cutoff=SUGGESTION_CUTOFF)
    if not close:
        inside = [s for s in spellings if len(s) >= MIN_TOKEN_CHARS and (s in wanted or wanted in s)]
        close = sorted(inside, key=lambda s: (-len(s), s))[:1]
    shown = mask_text(header)  # a header cell is echoed (manifest, log, pack): masked like any delivered text
    if not close:
        return UnknownColumn(shown, None, None)
    name = spellings[close[0]][1]
    return UnknownColumn(shown, descriptor.column(name).label_ko, name)
