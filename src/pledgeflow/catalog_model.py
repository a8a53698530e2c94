"""Reading and checking `schemas/catalog.yaml`: pledges grouped by government and term, period grids,
indicators declared (filters, measure, date column, target and rate semantics), never coded.

The YAML is read with line numbers, every pledge and indicator is normalised (defaults filled in) and
checked against the dataset descriptors; every problem becomes an `Issue` naming the file and line, in
Korean and English. `build_catalog` refuses a catalog with any error (CatalogError, exit 3); `pledgeflow
catalog check` prints the same issues plus the ones that need the register (`pledgeflow.card.lint`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pledgeflow.catalog import ID_COLUMNS, Catalog, Descriptor, normalise_label, pseudonym_column
from pledgeflow.catalog_keys import check_keys
from pledgeflow.catalog_yaml import Issue, read_catalog_yaml, refuse

MEASURES = ("count", "sum", "distinct", "ratio")
TARGETS = ("per_period", "cumulative")  # per_period: each period's own target; cumulative: the target to date
# "latest period ÷ its target" is period_over_target read at the latest period: every row is one period
RATES = ("cumulative_over_total", "period_over_target", "cumulative_over_target")
AGE_BAND_FILTER = "age_band"  # a filter on (year of the date column - birth_year) by a named band of the catalog


def build_catalog(path: Path, descriptors: dict[str, Descriptor]) -> Catalog:
    """The checked, normalised catalog; raises CatalogError listing every error with its line."""
    catalog, issues = read_catalog(path, descriptors)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        refuse(*errors)
    return catalog


def source_name(path: Path) -> str:
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


def read_catalog(path: Path, descriptors: dict[str, Descriptor]) -> tuple[Catalog, list[Issue]]:
    """Normalise the catalog file and check it; the catalog is returned even when it has issues.

    A file that is not YAML, or not a mapping at its top, has nothing to check: CatalogError (exit 3) naming its line.
    """
    source = source_name(path)
    raw, lines = read_catalog_yaml(path, source)
    issues: list[Issue] = []

    def issue(node, ko: str, en: str, severity: str = "error") -> None:
        issues.append(Issue(source, lines.get(id(node)), ko, en, severity))

    check_keys(raw, issue)  # before defaults are filled in: only what the steward wrote
    grids = {name: list(grid) for name, grid in (raw.get("period_grids") or {}).items()}
    default_grid = raw.get("periods") or []
    age_bands = {k: v for k, v in raw.items() if isinstance(v, dict) and {"min_age", "max_age"} <= set(v)}
    pledges = []
    for group in expand_governments(raw):
        pledge, grid = normalise_pledge(group, grids, default_grid, issue)
        for period, written in zip(pledge["periods"], grid):
            lines[id(period)] = lines.get(id(written))  # a period's issue points at its line in the grid
        pledges.append(pledge)
    catalog = Catalog(pledges=tuple(pledges), periods=tuple(default_grid), mid_career_age=dict(raw.get("mid_career_age") or {}),
                      channels=tuple(raw.get("channels") or []), descriptors=descriptors, age_bands=age_bands, source=source)
    check_ids(catalog, issue)
    for pledge in catalog.pledges:
        check_periods(pledge, issue)
        for indicator in pledge["indicators"]:
            check_indicator(catalog, pledge, indicator, issue)
    # a grid shared by many pledges has one line: its issue is said once, not once per pledge using it
    return catalog, list(dict.fromkeys(issues))


def expand_governments(raw: dict) -> list[dict]:
    """`pledges:` (each with its district) and `governments:` (district + term + its pledges) -> flat pledges.

    A government groups its pledges by term: `terms: [{term_start_date, term_end_date, periods, pledges}]`;
    the pledge inherits district, term and period grid unless it says otherwise.
    """
    flat = list(raw.get("pledges") or [])
    for government in raw.get("governments") or []:
        for term in government.get("terms") or []:
            for pledge in term.get("pledges") or []:
                inherited = {"district_ko": government.get("district_ko"), "government_id": government.get("government_id"),
                             "term_start_date": term.get("term_start_date"), "term_end_date": term.get("term_end_date"),
                             "periods": term.get("periods")}
                for key, value in inherited.items():
                    if value is not None:
                        pledge.setdefault(key, value)  # in place: the pledge's line is tied to its mapping
                flat.append(pledge)
    return flat


def normalise_pledge(pledge: dict, grids: dict, default_grid: list, issue) -> tuple[dict, list[dict]]:
    """Fill in a pledge's grid (named, inline or the default) and its indicators' defaults; (the pledge, its grid's
    periods as written, whose lines the normalised periods take)."""
    for key in ("pledge_id", "district_ko", "title_ko", "term_start_date", "term_end_date", "subprojects"):
        if key not in pledge:
            issue(pledge, f"공약에 '{key}' 항목이 없습니다.", f"pledge lacks '{key}'.")
    pledge.setdefault("subprojects", [])
    pledge.setdefault("indicators", [])
    pledge.setdefault("pledge_no", None)
    grid = pledge.get("periods", None)
    if isinstance(grid, str):
        if grid not in grids:
            issue(pledge, f"기간 격자 '{grid}'가 period_grids에 없습니다.", f"period grid '{grid}' is not declared under period_grids.")
        pledge["period_grid"], grid = grid, grids.get(grid, [])
    elif grid is None:
        pledge["period_grid"], grid = "default", default_grid
    else:
        pledge["period_grid"] = f"{pledge.get('pledge_id')}"
    pledge["periods"] = [{**q, "period": None if q.get("period") is None else str(q["period"])} for q in grid]
    for indicator in pledge["indicators"]:
        normalise_indicator(indicator, pledge)
    return pledge, grid


def normalise_indicator(indicator: dict, pledge: dict) -> None:
    indicator.setdefault("measure", {"kind": "count"})
    indicator.setdefault("filters", {})
    indicator.setdefault("target", "per_period")
    indicator.setdefault("rate", "cumulative_over_total")
    indicator.setdefault("subprojects", [s.get("subproject_id") for s in pledge.get("subprojects", [])])
    if indicator["measure"].get("kind") == "ratio":
        for side in ("numerator", "denominator"):
            indicator["measure"].setdefault(side, {"kind": "count"})
            indicator["measure"][side].setdefault("filters", {})


def check_ids(catalog: Catalog, issue) -> None:
    """Pledge and sub-project ids, and every spelling, are unique across the whole catalog (a delivery names
    only its sub-project, so the spelling must say which pledge)."""
    seen_pledges, seen_subprojects, spellings = set(), {}, {}
    for pledge in catalog.pledges:
        if pledge.get("pledge_id") in seen_pledges:
            issue(pledge, f"공약 id '{pledge['pledge_id']}'가 중복됩니다.", f"pledge id '{pledge['pledge_id']}' is used twice.")
        seen_pledges.add(pledge.get("pledge_id"))
        for sub in pledge["subprojects"]:
            sid = sub.get("subproject_id")
            if sid in seen_subprojects:
                issue(sub, f"세부사업 id '{sid}'가 공약 {seen_subprojects[sid]}에도 있습니다.",
                      f"sub-project id '{sid}' is also used by pledge {seen_subprojects[sid]}.")
            seen_subprojects[sid] = pledge.get("pledge_id")
            for alias in {normalise_label(a) for a in (sub.get("name_ko", ""), sid, *sub.get("aliases", []))}:
                if spellings.get(alias, sid) != sid:
                    issue(sub, f"표기 '{alias}'가 세부사업 '{spellings[alias]}'에도 쓰입니다.",
                          f"spelling '{alias}' also names sub-project '{spellings[alias]}'.")
                spellings[alias] = sid
            if sub.get("age_band") and sub["age_band"] not in catalog.age_bands:
                issue(sub, f"연령대 '{sub['age_band']}'가 카탈로그에 없습니다.", f"age band '{sub['age_band']}' is not in the catalog.")


def check_periods(pledge: dict, issue) -> None:
    """Each period starts before it ends, periods do not overlap, and they lie inside the pledge's term."""
    periods = sorted(pledge["periods"], key=lambda q: _date(q.get("start_date")) or dt.date.min)
    if not periods:
        issue(pledge, f"공약 {pledge.get('pledge_id')}에 기간 격자가 없습니다.", f"pledge {pledge.get('pledge_id')} has no period grid.")
    term = _date(pledge.get("term_start_date")), _date(pledge.get("term_end_date"))
    for q in periods:
        start, end = _date(q.get("start_date")), _date(q.get("end_date"))
        if q.get("period") is None:
            issue(q, "기간에 이름(period)이 없습니다. 카드에 인쇄된 대로 쓰세요(예: '2019', '2022.6.').",
                  "a period has no label (period): write it as the card prints it (e.g. '2019', '2022.6.').")
        if start is None or end is None or start > end:
            issue(q, f"기간 '{q.get('period')}'의 시작일/종료일이 잘못되었습니다.", f"period '{q.get('period')}' has a bad start/end date.")
        elif None not in term and (start < term[0] or end > term[1]):
            issue(q, f"기간 '{q['period']}'({start}~{end})이 공약 {pledge['pledge_id']}의 임기({term[0]}~{term[1]}) 밖에 있습니다.",
                  f"period '{q['period']}' ({start}..{end}) lies outside pledge {pledge['pledge_id']}'s term ({term[0]}..{term[1]}).")
    for before, after in zip(periods, periods[1:]):
        if (_date(after.get("start_date")) or dt.date.max) <= (_date(before.get("end_date")) or dt.date.min):
            issue(after, f"기간 '{before['period']}'과 '{after['period']}'이 겹칩니다.",
                  f"periods '{before['period']}' and '{after['period']}' overlap.")
        elif None not in (_date(after.get("start_date")), _date(before.get("end_date"))) and \
                _date(after["start_date"]) - _date(before["end_date"]) > dt.timedelta(days=1):
            # a record dated in the gap is valid but counted nowhere (unassigned_records: outside_periods)
            issue(after, f"기간 '{before['period']}'과 '{after['period']}' 사이에 어느 기간에도 들지 않는 날이 있습니다.",
                  f"days between periods '{before['period']}' and '{after['period']}' belong to no period.", "warning")
    seen = set()
    for q in periods:
        if q.get("period") in seen:
            issue(q, f"기간 이름 '{q['period']}'이 두 번 쓰였습니다.", f"the period label '{q['period']}' is used twice.")
        seen.add(q.get("period"))


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def dataset_columns(descriptor: Descriptor) -> dict[str, str]:
    """Typed column name -> its type, as the dataset's valid rows carry them."""
    columns = {}
    for c in descriptor.columns:
        if c.personal == "pseudonymise":
            columns[pseudonym_column(c.name)] = "id"
        else:
            columns[c.name] = c.type
        if c.type in ID_COLUMNS:
            columns[ID_COLUMNS[c.type]] = "id"
    return columns


def check_indicator(catalog: Catalog, pledge: dict, indicator: dict, issue) -> None:
    """Source dataset, sub-projects, filters, measure, date column, target and rate of one indicator."""
    iid = indicator.get("indicator_id")
    for key in ("indicator_id", "name_ko", "unit", "source_dataset", "date_column"):
        if key not in indicator:
            issue(indicator, f"지표 {iid}에 '{key}' 항목이 없습니다.", f"indicator {iid} lacks '{key}'.")
    descriptor = catalog.descriptors.get(indicator.get("source_dataset"))
    if descriptor is None:
        issue(indicator, f"지표 {iid}의 자료 '{indicator.get('source_dataset')}'가 없습니다 ({', '.join(catalog.descriptors)}).",
              f"indicator {iid}: unknown source dataset '{indicator.get('source_dataset')}' ({', '.join(catalog.descriptors)}).")
        return
    columns = dataset_columns(descriptor)
    mine = {s.get("subproject_id") for s in pledge["subprojects"]}
    for sid in indicator["subprojects"]:
        if sid not in mine:
            issue(indicator, f"지표 {iid}의 세부사업 '{sid}'가 공약 {pledge.get('pledge_id')}에 없습니다.",
                  f"indicator {iid}: sub-project '{sid}' is not one of pledge {pledge.get('pledge_id')}'s.")
    if columns.get(indicator.get("date_column")) != "date":
        issue(indicator, f"지표 {iid}의 날짜 열 '{indicator.get('date_column')}'이 {descriptor.dataset}의 날짜 열이 아닙니다.",
              f"indicator {iid}: date column '{indicator.get('date_column')}' is not a date column of {descriptor.dataset}.")
    for key, allowed in (("target", TARGETS), ("rate", RATES)):
        if indicator[key] not in allowed:
            issue(indicator, f"지표 {iid}의 {key} '{indicator[key]}'는 {', '.join(allowed)} 중 하나여야 합니다.",
                  f"indicator {iid}: {key} '{indicator[key]}' must be one of {', '.join(allowed)}.")
    check_filters(catalog, pledge, indicator, indicator["filters"], columns, issue)
    measure = indicator["measure"]
    if measure.get("kind") == "ratio":
        for side in ("numerator", "denominator"):
            check_side(catalog, pledge, indicator, side, columns, issue)
    else:
        check_measure(indicator, measure, columns, issue)


def check_side(catalog: Catalog, pledge: dict, indicator: dict, side: str, columns: dict[str, str], issue) -> None:
    """A ratio's side: its measure and filters, on its own dataset and date column when it names them."""
    iid, spec = indicator.get("indicator_id"), indicator["measure"][side]
    if "source_dataset" in spec or "date_column" in spec:
        descriptor = catalog.descriptors.get(spec.get("source_dataset", indicator.get("source_dataset")))
        if descriptor is None:
            issue(indicator, f"지표 {iid}의 {side} 자료 '{spec.get('source_dataset')}'가 없습니다 ({', '.join(catalog.descriptors)}).",
                  f"indicator {iid}: unknown {side} source dataset '{spec.get('source_dataset')}' ({', '.join(catalog.descriptors)}).")
            return
        columns = dataset_columns(descriptor)
        date_column = spec.get("date_column", indicator.get("date_column"))
        if columns.get(date_column) != "date":
            issue(indicator, f"지표 {iid}의 {side} 날짜 열 '{date_column}'이 {descriptor.dataset}의 날짜 열이 아닙니다 (date_column을 쓰세요).",
                  f"indicator {iid}: {side} date column '{date_column}' is not a date column of {descriptor.dataset} (give it a date_column).")
    check_measure(indicator, spec, columns, issue, allow_ratio=False)
    check_filters(catalog, pledge, indicator, spec["filters"], columns, issue)


def check_measure(indicator: dict, measure: dict, columns: dict[str, str], issue, allow_ratio: bool = True) -> None:
    iid, kind, column = indicator.get("indicator_id"), measure.get("kind"), measure.get("column")
    kinds = MEASURES if allow_ratio else MEASURES[:3]
    if kind not in kinds:
        issue(indicator, f"지표 {iid}의 측정 방식 '{kind}'는 {', '.join(kinds)} 중 하나여야 합니다.",
              f"indicator {iid}: measure '{kind}' must be one of {', '.join(kinds)}.")
    elif kind in ("sum", "distinct") and column is None:
        issue(indicator, f"지표 {iid}의 측정 방식 {kind}에는 열(column)이 필요합니다.", f"indicator {iid}: a {kind} measure needs a column.")
    elif kind in ("sum", "distinct") and column not in columns:
        issue(indicator, f"지표 {iid}의 측정 열 '{column}'이 자료에 없습니다.", f"indicator {iid}: measure column '{column}' is not in the dataset.")
    elif kind == "sum" and columns[column] != "int":
        issue(indicator, f"지표 {iid}: '{column}'은 숫자 열이 아니어서 합계를 낼 수 없습니다.",
              f"indicator {iid}: cannot sum '{column}', it is not a numeric column.")


def check_filters(catalog: Catalog, pledge: dict, indicator: dict, filters: dict, columns: dict[str, str], issue) -> None:
    """A filter names a column of the dataset (or `age_band`), and its values are known to the catalog where it can tell."""
    iid = indicator.get("indicator_id")
    known = {"channel_id": {c["channel_id"] for c in catalog.channels},
             "subproject_id": {s.get("subproject_id") for s in pledge["subprojects"]}}
    for column, values in filters.items():
        if column == AGE_BAND_FILTER:
            if values not in catalog.age_bands:
                issue(indicator, f"지표 {iid}의 연령대 '{values}'가 카탈로그에 없습니다.", f"indicator {iid}: age band '{values}' is not in the catalog.")
            elif "birth_year" not in columns:
                issue(indicator, f"지표 {iid}: 연령대 필터에는 birth_year 열이 필요합니다.", f"indicator {iid}: an age band filter needs a birth_year column.")
            continue
        if column not in columns:
            issue(indicator, f"지표 {iid}의 필터 열 '{column}'이 자료에 없습니다.", f"indicator {iid}: filter column '{column}' is not in the dataset.")
            continue
        listed = values if isinstance(values, list) else [values]
        unknown = [v for v in listed if column in known and v not in known[column]]
        if unknown:
            issue(indicator, f"지표 {iid}의 필터 {column} 값 {unknown}을 카탈로그가 모릅니다.",
                  f"indicator {iid}: filter {column} values {unknown} are unknown to the catalog.")
