"""The shapes real deliveries come in: where the header is, and which rows below it are not data.

Districts type their files for people: a title line above the header, a group header above the
column header ("수강인원" over "신청 / 수료"), a 계 sub-header or a 합계 row with the file's own totals,
blank separator lines and the header repeated every printed page. None of these is a record, and
none of them may be quarantined as bad data or silently dropped: each is recognised and counted.

Header finding looks at a handful of rows (Python over at most ten short lists is fine); the row
classification is one polars query over the data rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pledgeflow import korean
from pledgeflow.catalog import Descriptor, normalise_label, normalise_label_expr

# Real deliveries put a title line and a blank line above the header; 10 rows leaves room for more.
HEADER_SEARCH_ROWS = 10
MIN_HEADER_MATCHES = 2
ROW_KIND = "_row_kind"  # data | blank | repeated_header | total
LABEL_COLUMNS = 3  # a totals row's label sits in its key column or one of the first three


@dataclass(frozen=True)
class Header:
    """The header found in a grid: its last row (0-based), how many rows it spans and its column labels."""

    index: int
    rows: int
    labels: tuple[str, ...]
    matches: int
    raw_rows: tuple[tuple[str, ...], ...] = ()  # the header's rows as typed (one, or group + column row)

    @property
    def excel_row(self) -> int:
        return self.index + 1


def cell_text(cell: object) -> str:
    return "" if cell is None else str(cell).strip()


def join_header(upper: list[str], lower: list[str], known: set[str]) -> list[str]:
    """A two-row header as one label per column: the group header over its column headers.

    A group label is typed once over the columns it spans (a merged cell), so it is carried to the right
    while the lower row has labels. The joined label wins when it is a known alias, then the lower one.
    """
    labels, group = [], ""
    for top, bottom in zip(upper, lower):
        group = top or (group if bottom else "")
        candidates = [f"{group} {bottom}", bottom] if bottom and group else [bottom or top]
        labels.append(next((c for c in candidates if normalise_label(c) in known), candidates[-1]))
    return labels


def count_known(labels: list[str], known: set[str]) -> int:
    return sum(1 for label in labels if label and normalise_label(label) in known)


def header_candidates(grid: pl.DataFrame, known: set[str]) -> list[Header]:
    """Every way the first rows could be the header: one row, or a row and the one below it."""
    rows = [[cell_text(c) for c in row] for row in grid.head(HEADER_SEARCH_ROWS + 1).iter_rows()]
    found = []
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found.append(Header(i, 1, tuple(row), count_known(row, known), (tuple(row),)))
        if i + 1 < len(rows) and any(row):  # a group header has labels of its own
            joined = join_header(row, rows[i + 1], known)
            found.append(Header(i + 1, 2, tuple(joined), count_known(joined, known), (tuple(row), tuple(rows[i + 1]))))
    return found


def find_header(grid: pl.DataFrame, known: set[str]) -> tuple[Header | None, Header | None]:
    """(the header, or None; the best candidate seen, for the message when there is none).

    The candidate with the most known labels wins; on a tie the earlier, single-row one.
    """
    candidates = header_candidates(grid, known)
    if not candidates:
        return None, None
    best = max(candidates, key=lambda h: (h.matches, -h.index, -h.rows))
    return (best if best.matches >= MIN_HEADER_MATCHES else None), best


def classify_rows(data: pl.DataFrame, columns: list[str], header: Header, mapping: dict[str, str], descriptor: Descriptor) -> pl.DataFrame:
    """`data` with ROW_KIND: data, blank, repeated_header or total.

    A totals row: its key cell (or first non-empty cell) is one of the descriptor's total labels and every
    other non-empty cell is in a count column. A repeated header: see `repeats_row`. Both start with a label
    (a total label or a header label), so only rows whose first cell is one get the full, costlier look.
    """
    stripped = {c: pl.col(c).cast(pl.String).str.strip_chars() for c in columns}
    filled = {c: stripped[c].str.len_bytes().fill_null(0) > 0 for c in columns}
    blank = ~pl.any_horizontal(list(filled.values())) if columns else pl.lit(True)
    key_names = set(descriptor.record_key)
    key_columns = [raw for raw, name in mapping.items() if name in key_names]
    first = pl.coalesce([pl.when(filled[c]).then(stripped[c]) for c in [*key_columns, *columns]])
    totals = [normalise_label(t) for t in descriptor.total_labels]
    # A cheap first look (normalising every cell of every row would cost more than reading the file): a total
    # label, as typed or spaced out ("합 계"), in the key column or one of the first columns; or a header row's
    # first label in its own column (a repeated header is a copy of the header).
    spelled = sorted({*totals, *(" ".join(label) for label in totals), *descriptor.total_labels})
    where = list(dict.fromkeys([*key_columns, *columns[:LABEL_COLUMNS]]))
    firsts = [next(((c, label) for c, label in zip(columns, row) if label), None) for row in header.raw_rows or (header.labels,)]
    candidate = pl.any_horizontal([*(stripped[c].is_in(spelled) for c in where),
                                   *(stripped[c] == label for c, label in filter(None, firsts))]) if columns else pl.lit(False)
    marked = data.with_columns(
        pl.when(blank).then(pl.lit("blank")).otherwise(pl.lit("data")).alias(ROW_KIND),
        (~blank & candidate).fill_null(False).alias("_candidate"),
    )
    if not marked["_candidate"].any():
        return marked.drop("_candidate")
    measures = {raw for raw, name in mapping.items() if descriptor.column(name).type == "int"}
    others = pl.sum_horizontal([(filled[c] & ~korean.is_none_marker(pl.col(c))).cast(pl.Int32) for c in columns if c not in measures])
    total = normalise_label_expr(first).is_in(totals) & (others <= 1)
    repeated = pl.any_horizontal([repeats_row(row, columns, stripped) for row in header.raw_rows or (header.labels,)])
    looked = marked.filter("_candidate").select(
        "source_row", pl.when(repeated).then(pl.lit("repeated_header")).when(total).then(pl.lit("total")).otherwise(pl.lit("data")).alias("_kind"))
    return (marked.join(looked, on="source_row", how="left", maintain_order="left")
            .with_columns(pl.coalesce("_kind", ROW_KIND).alias(ROW_KIND)).drop("_candidate", "_kind"))


def repeats_row(labels: tuple[str, ...], columns: list[str], stripped: dict[str, pl.Expr]) -> pl.Expr:
    """A data row that repeats one of the header's rows: at least half its labels (and two) in their columns."""
    named = [(c, normalise_label(label)) for c, label in zip(columns, labels) if label]
    if len(named) < MIN_HEADER_MATCHES:
        return pl.lit(False)
    same = pl.sum_horizontal([(normalise_label_expr(stripped[c]) == label).fill_null(False).cast(pl.Int32) for c, label in named])
    return same >= max(MIN_HEADER_MATCHES, (len(named) + 1) // 2)


def declared_totals(totals: pl.DataFrame, mapping: dict[str, str], descriptor: Descriptor) -> pl.DataFrame:
    """Totals rows -> one row per (row, count column): source_row, label, column, declared (parsed)."""
    measures = {raw: name for raw, name in mapping.items() if descriptor.column(name).type == "int"}
    schema = {"source_row": pl.Int64, "label": pl.String, "column": pl.String, "declared": pl.Int64}
    if totals.height == 0 or not measures:
        return pl.DataFrame(schema=schema)
    first = pl.coalesce([pl.when(pl.col(c).str.strip_chars().str.len_bytes() > 0).then(pl.col(c).str.strip_chars())
                         for c in totals.columns if c not in ("source_row", ROW_KIND, "source_sheet")])
    long = totals.select(
        pl.col("source_row").cast(pl.Int64), normalise_label_expr(first).alias("label"),
        *[korean.parse_int(pl.col(raw)).alias(name) for raw, name in measures.items()],
    ).unpivot(index=["source_row", "label"], variable_name="column", value_name="declared")
    return long.cast(schema)


def grand_totals(declared: pl.DataFrame) -> pl.DataFrame:
    """The figure a file declares per count column: its last 합계/계/총계 row, else the sum of its 소계 rows."""
    if declared.height == 0:
        return declared.select("column", "declared", "source_row")
    grand = declared.filter(pl.col("label") != "소계")
    if grand.height:
        return grand.sort("source_row").group_by("column", maintain_order=True).last().select("column", "declared", "source_row")
    return declared.group_by("column", maintain_order=True).agg(pl.col("declared").sum(), pl.col("source_row").max())
