"""The floor: what polars alone does with the same deliveries, no framework.

Reads the same files as the pipeline (CSV in CP949 / UTF-8 / UTF-8-BOM with a title line or not, XLSX),
finds the header row among the first rows, names columns through the descriptors' Korean aliases,
parses Korean numbers and dates, applies the same checks as the pandera schemas and the cross-dataset
checks (events cited and preceding the hire, mid-career age band, duplicates), pseudonymises person
keys with the same keyed hash, and computes the record columns of the indicator table (actual,
cumulative_actual, excluded_records per sub-project and period). No pandera, no Prefect, no failure
report, no publish: the pipeline's extra cost over this is the price of those.

Parsing reuses `pledgeflow.korean` and `pledgeflow.privacy` (plain polars expressions), so both sides
parse the same way, repeated cells once (`korean.parse_distinct`); the checks and the reading are written
here from scratch. Files are read and typed on 4 threads, as the pipeline's tasks read them.

    uv run python -m benchmarks.floor /tmp/pledgeflow-bench/p1m [--out indicators.parquet]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from pledgeflow import korean
from pledgeflow.catalog import Catalog, Descriptor, load_catalog, normalise_label
from pledgeflow.privacy import contains_personal_number, keyed_digest
from pledgeflow.settings import DEVELOPMENT_PSEUDONYM_KEY

ENGINE = "in-memory"  # one file's queries, as in the pipeline (pledgeflow.ingest.validate.ENGINE)
EVENT_DATASETS = {"training_cohorts": ("cohort_id", "start_date"), "job_fairs": ("fair_id", "fair_date")}
BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def read_text_frame(path: Path, descriptor: Descriptor, source_file: str) -> pl.DataFrame:
    """A delivery as text columns named canonically, with source_file and source_row (as Excel numbers rows)."""
    if path.suffix.lower() == ".xlsx":
        grid = pl.read_excel(path, engine="calamine", has_header=False, drop_empty_rows=False,
                             read_options={"skip_rows": 0, "dtypes": "string"})
    else:
        grid = read_csv_grid(path.read_bytes())
    aliases = descriptor.header_aliases
    header = next(i for i, row in enumerate(grid.head(10).iter_rows())
                  if sum(normalise_label(c or "") in aliases for c in row) >= 2)
    names = {col: aliases.get(normalise_label(cell or "")) for col, cell in zip(grid.columns, grid.row(header))}
    body = grid.slice(header + 1).with_row_index("source_row", offset=header + 2)
    return body.select(
        *(pl.col(col).alias(name) for col, name in names.items() if name),
        *(pl.lit(None, pl.String).alias(c.name) for c in descriptor.columns if c.name not in names.values()),
        pl.lit(source_file).alias("source_file"), pl.col("source_row").cast(pl.Int64),
    ).filter(~pl.all_horizontal(  # blank: nothing but whitespace (strip_chars also strips no-break spaces)
        pl.col(c.name).str.strip_chars().str.len_bytes().fill_null(0) == 0 for c in descriptor.columns))


def read_csv_grid(data: bytes) -> pl.DataFrame:
    """All cells as text; CP949 and BOM files are transcoded to UTF-8 first (polars reads UTF-8 only)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("cp949").encode("utf-8")
    width = max(line.count(b",") for line in data[:65536].splitlines()[:10]) + 1
    return pl.read_csv(data, has_header=False, schema={f"column_{i}": pl.String for i in range(width)},
                       missing_columns="insert", truncate_ragged_lines=True)


def clean(raw: pl.Expr) -> pl.Expr:
    return pl.when(korean.is_none_marker(raw)).then(None).otherwise(korean.clean_text(raw))


def text(name: str) -> pl.Expr:
    return clean(pl.col(name))


def repeated_text(name: str) -> pl.Expr:
    """Text that repeats from row to row (event ids, names, notes): cleaned once per distinct cell."""
    return korean.parse_distinct(pl.col(name), clean)


def parse(name: str, parser) -> pl.Expr:
    """Numbers and dates repeat too: parsed once per distinct cell."""
    return korean.parse_distinct(pl.col(name), parser)


def lookup(name: str, mapping: dict[str, str]) -> pl.Expr:
    """A label column resolved to its id through the catalog's spellings, once per distinct label."""
    def resolve(cell: pl.Expr) -> pl.Expr:
        label = clean(cell).str.replace_all(r"\s+", "").str.replace_all("[ㆍ・]", "·").str.to_lowercase()
        return label.replace_strict(mapping, default=None, return_dtype=pl.String)

    return korean.parse_distinct(pl.col(name), resolve)


def brn_ok(brn: pl.Expr) -> pl.Expr:
    digits = [brn.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(10)]
    total = pl.sum_horizontal([d * w for d, w in zip(digits, BRN_WEIGHTS)]) + (digits[8] * 5) // 10
    return brn.str.contains(r"^[0-9]{10}$") & (((10 - total % 10) % 10) == digits[9])


def in_own_term(day: pl.Expr, catalog: Catalog) -> pl.Expr:
    """The date inside the term of the pledge its `subproject_id` belongs to (null for an unknown sub-project,
    which fails its own check)."""
    terms = catalog.terms_frame
    bound = {side: pl.col("subproject_id").replace_strict(dict(zip(terms["subproject_id"], terms[side])), default=None,
                                                          return_dtype=pl.Date)
             for side in ("term_start_date", "term_end_date")}
    return day.is_between(bound["term_start_date"], bound["term_end_date"])


def typed_placements(raw: pl.DataFrame, catalog: Catalog, key: str) -> pl.DataFrame:
    """Typed columns first, then checks over them: each cell is parsed once."""
    typed = raw.lazy().select(
        "source_file", "source_row", text("person_key").alias("person"),
        parse("birth_year", korean.parse_int).alias("birth_year"),
        text("employer_brn").str.replace_all(r"[-\s]", "").alias("employer_brn"),
        parse("hire_date", korean.parse_date).alias("hire_date"),
        lookup("subproject_name_ko", catalog.subproject_aliases).alias("subproject_id"),
        lookup("channel_name_ko", catalog.channel_aliases).alias("channel_id"),
        repeated_text("event_id").alias("event_id"), contains_personal_number(repeated_text("note_ko")).alias("personal"),
    ).collect(engine=ENGINE)
    birth, brn, hire = pl.col("birth_year"), pl.col("employer_brn"), pl.col("hire_date")
    bad = (
        pl.col("person").is_null() | birth.is_null() | ~birth.is_between(1930, 2010) | brn.is_null() | ~brn_ok(brn)
        | hire.is_null() | ~in_own_term(hire, catalog) | pl.col("subproject_id").is_null() | pl.col("channel_id").is_null()
        | pl.col("personal")
    )
    return typed.select(
        "source_file", "source_row", keyed_digest(pl.col("person"), key).alias("person_id"), "birth_year", "employer_brn",
        "hire_date", "subproject_id", "channel_id", "event_id", bad.fill_null(True).alias("bad"),
    )


def typed_events(raw: pl.DataFrame, dataset: str, catalog: Catalog) -> pl.DataFrame:
    id_column, date_column = EVENT_DATASETS[dataset]
    ints = ("enrolled_count", "completed_count") if dataset == "training_cohorts" else ("firm_count", "participant_count")
    dates = (date_column, "end_date") if dataset == "training_cohorts" else (date_column,)
    names = ("course_name_ko",) if dataset == "training_cohorts" else ("fair_name_ko",)
    typed = raw.lazy().select(
        "source_file", "source_row", repeated_text(id_column).alias("event_id"),
        lookup("subproject_name_ko", catalog.subproject_aliases).alias("subproject_id"),
        *(repeated_text(n).alias(n) for n in names), contains_personal_number(repeated_text("note_ko")).alias("personal"),
        *(parse(c, korean.parse_int).alias(c) for c in ints), *(parse(c, korean.parse_date).alias(c) for c in dates),
    ).collect(engine=ENGINE)
    when = pl.col(date_column)
    bad = (pl.col("event_id").is_null() | (pl.col("event_id").str.len_chars() > 40) | when.is_null() | ~in_own_term(when, catalog)
           | pl.col("subproject_id").is_null() | pl.col("personal") | pl.any_horizontal(pl.col(*ints, *dates, *names).is_null()))
    if dataset == "training_cohorts":
        enrolled, completed = pl.col("enrolled_count"), pl.col("completed_count")
        bad = bad | ~enrolled.is_between(1, 10_000) | (completed < 0) | (completed > enrolled) | (when > pl.col("end_date"))
    else:
        bad = bad | ~pl.col("firm_count").is_between(0, 10_000) | ~pl.col("participant_count").is_between(0, 1_000_000)
    return typed.select("source_file", "source_row", "event_id", when.alias("event_date"),
                        pl.lit(dataset).alias("event_dataset"), bad.fill_null(True).alias("bad"))


def settle_placements(placements: pl.DataFrame, events: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Add `held`: schema failures, then events, age band and duplicates, as the pipeline orders them."""
    first_events = (events.filter(~pl.col("bad")).sort("source_file", "source_row")
                    .unique(subset=["event_dataset", "event_id"], keep="first", maintain_order=True))
    needs = pl.DataFrame([{"channel_id": c["channel_id"], "needs": c["requires_event"]} for c in catalog.channels
                          if c.get("requires_event")])
    banded = [s["subproject_id"] for p in catalog.pledges for s in p["subprojects"] if s.get("age_band")]
    band = catalog.mid_career_age
    age = pl.col("hire_date").dt.year() - pl.col("birth_year")
    checked = (
        placements.join(needs, on="channel_id", how="left")
        .join(first_events.select("event_dataset", "event_id", "event_date"),
              left_on=["needs", "event_id"], right_on=["event_dataset", "event_id"], how="left")
        .with_columns(cross=pl.col("needs").is_not_null() & (pl.col("event_date").is_null() | (pl.col("hire_date") < pl.col("event_date")))
                      | (pl.col("subproject_id").is_in(banded) & ~age.is_between(band["min_age"], band["max_age"])))
    )
    survivors = checked.filter(~pl.col("bad") & ~pl.col("cross")).sort("source_file", "source_row")
    dupes = survivors.filter(~pl.struct("person_id", "employer_brn", "hire_date").is_first_distinct()).select("source_file", "source_row")
    return checked.join(dupes.with_columns(dupe=pl.lit(True)), on=["source_file", "source_row"], how="left").with_columns(
        held=pl.col("bad") | pl.col("cross") | pl.col("dupe").fill_null(False))


def count_indicators(placements: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """actual / excluded_records / cumulative_actual per pledge, sub-project, indicator and period."""
    periods = catalog.periods_frame  # each pledge's own grid
    # records counted per sub-project and day first (tens of thousands of groups), then each day placed in a
    # period of its sub-project's pledge's grid
    days = (placements.filter(pl.col("subproject_id").is_not_null() & pl.col("hire_date").is_not_null())
            .group_by("subproject_id", "hire_date")
            .agg((~pl.col("held")).sum().alias("actual"), pl.col("held").sum().alias("excluded_records")))
    counted = (days.join(catalog.terms_frame.select("subproject_id", "pledge_id"), on="subproject_id")
               .join(periods.select("pledge_id", "period", "start_date", "end_date"), on="pledge_id")
               .filter(pl.col("hire_date").is_between("start_date", "end_date"))
               .group_by("subproject_id", "period").agg(pl.col("actual", "excluded_records").sum()))
    cells = catalog.indicators_frame.select("pledge_id", "subproject_id", "indicator_id").join(
        periods.select("pledge_id", "period", "period_order"), on="pledge_id")
    group = ["pledge_id", "subproject_id", "indicator_id"]
    return (cells.join(counted, on=["subproject_id", "period"], how="left")
            .with_columns(pl.col("actual", "excluded_records").fill_null(0).cast(pl.Int64))
            .sort(*group, "period_order")
            .with_columns(pl.col("actual").cum_sum().over(group).alias("cumulative_actual"))
            .select(*group, "period", "actual", "cumulative_actual", "excluded_records"))


def dataset_files(raw_dir: Path, descriptor: Descriptor) -> list[Path]:
    folder = raw_dir / descriptor.folder
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith((".", "~$")))


def type_files(raw_dir: Path, descriptor: Descriptor, type_frame, pool: ThreadPoolExecutor) -> pl.DataFrame:
    """Every file of a dataset read and typed on the pool's threads (polars leaves the GIL while it works),
    concatenated in file order."""
    def one(path: Path) -> pl.DataFrame:
        return type_frame(read_text_frame(path, descriptor, path.relative_to(raw_dir).as_posix()))

    frames = list(pool.map(one, dataset_files(raw_dir, descriptor)))
    empty = pl.DataFrame(schema={**{c.name: pl.String for c in descriptor.columns}, "source_file": pl.String, "source_row": pl.Int64})
    return pl.concat(frames, how="diagonal_relaxed") if frames else type_frame(empty)


def run_floor(root: Path, key: str = DEVELOPMENT_PSEUDONYM_KEY, workers: int = 4) -> pl.DataFrame:
    """The indicator record columns for the project at `root`, computed with polars alone.

    Files are read and typed on `workers` threads, as the pipeline's tasks do: one at a time, the floor
    left a core idle while Python transcoded CP949 files.
    """
    root = Path(root)
    catalog = load_catalog(root / "schemas")
    raw_dir, datasets = root / "raw", catalog.descriptors
    with ThreadPoolExecutor(workers) as pool:
        events = pl.concat([type_files(raw_dir, datasets[d], lambda raw, d=d: typed_events(raw, d, catalog), pool)
                            for d in EVENT_DATASETS])
        typed = type_files(raw_dir, datasets["placements"], lambda raw: typed_placements(raw, catalog, key), pool)
    return count_indicators(settle_placements(typed, events, catalog), catalog)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    table = run_floor(args.root)
    print(table)
    print(f"floor: {time.perf_counter() - started:.2f} s")
    if args.out:
        table.write_parquet(args.out)


if __name__ == "__main__":
    main()
