"""The keys each mapping of `schemas/catalog.yaml` may hold.

YAML accepts any key, and the catalog reads only the ones it knows: a typo (`filter:` for `filters:`, `mesure:`)
would drop a filter or a measure without a word and change the published numbers. Every other key is an error,
with its line and the keys that mapping may hold.
"""

from __future__ import annotations

from collections.abc import Callable

PERIOD = {"period", "start_date", "end_date"}
MEASURE = {"kind", "column"}
SIDE = MEASURE | {"filters", "source_dataset", "date_column"}  # a ratio's side may read another dataset
RATIO = {"kind", "numerator", "denominator"}
INDICATOR = {"indicator_id", "name_ko", "name_en", "unit", "source_dataset", "date_column", "subprojects", "filters",
             "measure", "target", "rate"}
SUBPROJECT = {"subproject_id", "name_ko", "name_en", "aliases", "age_band"}
PLEDGE = {"pledge_id", "pledge_no", "title_ko", "title_en", "district_ko", "government_id", "term_start_date",
          "term_end_date", "periods", "subprojects", "indicators"}
TERM = {"term_start_date", "term_end_date", "periods", "pledges"}
GOVERNMENT = {"government_id", "district_ko", "district_en", "terms"}
CHANNEL = {"channel_id", "name_ko", "name_en", "aliases", "requires_event"}
AGE_BAND = {"min_age", "max_age", "basis_ko"}
TOP = {"period_grids", "periods", "governments", "pledges", "channels"}  # besides age bands (min_age/max_age mappings)


def check_keys(raw: dict, issue: Callable) -> None:
    """Report every key of the catalog that no part of pledgeflow reads (`issue(mapping, ko, en)`)."""
    for key, value in raw.items():
        if key not in TOP and not (isinstance(value, dict) and {"min_age", "max_age"} <= set(value)):
            unknown(raw, key, "catalog", TOP | {"<연령대 이름>: {min_age, max_age}"}, issue)
        elif isinstance(value, dict) and key not in TOP:
            check_mapping(value, AGE_BAND, f"age band {key}", issue)
    for grid in (raw.get("period_grids") or {}).values():
        each(grid, PERIOD, "period", issue)
    each(raw.get("periods"), PERIOD, "period", issue)
    each(raw.get("channels"), CHANNEL, "channel", issue)
    for government in listed(raw.get("governments")):
        check_mapping(government, GOVERNMENT, "government", issue)
        for term in listed(government.get("terms") if isinstance(government, dict) else None):
            check_mapping(term, TERM, "term", issue)
            if isinstance(term, dict):
                check_pledges(term.get("pledges"), issue)
    check_pledges(raw.get("pledges"), issue)


LISTS = {"pledge": ("subprojects", "indicators"), "indicator": ("subprojects",), "sub-project": ("aliases",),
         "term": ("pledges",), "government": ("terms",)}


def check_pledges(pledges, issue: Callable) -> None:
    for pledge in listed(pledges):
        check_mapping(pledge, PLEDGE, "pledge", issue)
        if not isinstance(pledge, dict):
            continue
        each(pledge.get("subprojects"), SUBPROJECT, "sub-project", issue)
        if isinstance(pledge.get("periods"), list):
            each(pledge["periods"], PERIOD, "period", issue)
        for indicator in listed(pledge.get("indicators")):
            check_mapping(indicator, INDICATOR, "indicator", issue)
            measure = indicator.get("measure") if isinstance(indicator, dict) else None
            if isinstance(measure, dict):
                check_mapping(measure, RATIO if measure.get("kind") == "ratio" else MEASURE, "measure", issue)
                for side in ("numerator", "denominator"):
                    if isinstance(measure.get(side), dict):
                        check_mapping(measure[side], SIDE, f"measure {side}", issue)


def check_mapping(mapping, allowed: set[str], what: str, issue: Callable) -> None:
    if not isinstance(mapping, dict):
        return
    for key in mapping:
        if key not in allowed:
            unknown(mapping, key, what, allowed, issue)
    for key in LISTS.get(what, ()):
        if isinstance(mapping.get(key), (str, int)):
            issue(mapping, f"{what}의 '{key}'는 목록이어야 합니다: [{mapping[key]}]처럼 쓰세요.",
                  f"{what}: '{key}' must be a list: write [{mapping[key]}].")
            mapping[key] = [mapping[key]]  # read as meant, so the checks after this one do not go letter by letter


def unknown(mapping: dict, key, what: str, allowed: set[str], issue: Callable) -> None:
    choices = ", ".join(sorted(allowed))
    issue(mapping, f"{what}에 모르는 항목 '{key}'가 있습니다(오타?). 쓸 수 있는 항목: {choices}.",
          f"{what} has an unknown key '{key}' (a typo?). Keys it may hold: {choices}.")


def each(items, allowed: set[str], what: str, issue: Callable) -> None:
    for item in listed(items):
        check_mapping(item, allowed, what, issue)


def listed(items) -> list:
    return items if isinstance(items, list) else []
