"""Parse speed: `validation.parse_columns` over a 200,000-row placements text frame, CPU seconds.

The frame is made the way the synthetic deliveries are (`pledgeflow.synth.generate` rows, rendered by
`pledgeflow.synth.render.render`): four 50,000-row chunks, each with its own date style, none marker,
header spellings and BRN hyphenation, so dates and numbers repeat as they do in a real file.

    uv run python -m benchmarks.parse_speed [--rows 200000] [--repeats 7]

Prints the CPU seconds (`time.process_time`, both cores counted) of each repeat and their median.
BENCHMARKS.md quotes it before and after a change to the Korean parsers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from pledgeflow.synth import generate as synth
from pledgeflow.catalog import load_catalog, normalise_label
from pledgeflow.synth.render import render
from pledgeflow.ingest.validate import parse_columns

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def placements_text(rows: int, chunks: int = 4, seed: int = 1) -> pl.DataFrame:
    catalog = load_catalog(SCHEMAS)
    descriptor = catalog.descriptors["placements"]
    district = synth.District(1, "영등포구", rows)
    cohorts, fairs = synth.make_cohorts(district, seed), synth.make_fairs(district, seed)
    typed = synth.make_placements(district, cohorts, fairs, catalog, np.random.default_rng([seed, 3]), 0.01)
    aliases = descriptor.header_aliases
    parts = []
    for i, part in enumerate(typed.iter_slices(-(-typed.height // chunks))):
        text = render(part, "placements", catalog, np.random.default_rng([seed, 7, i]))
        parts.append(text.rename({c: aliases[normalise_label(c)] for c in text.columns}))
    frame = pl.concat(parts, how="vertical")
    return frame.with_columns(pl.lit("bench.csv").alias("source_file"),
                              (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("source_row")).with_row_index("_row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    catalog = load_catalog(SCHEMAS)
    descriptor = catalog.descriptors["placements"]
    raw = placements_text(args.rows)
    parse_columns(raw, descriptor, catalog, "bench-key")  # warm-up: regex compilation, thread pool
    times = []
    for _ in range(args.repeats):
        start = time.process_time()
        parse_columns(raw, descriptor, catalog, "bench-key")
        times.append(time.process_time() - start)
    print(f"rows={raw.height} repeats={args.repeats} cpu_s=" + " ".join(f"{t:.3f}" for t in times))
    print(f"median cpu_s={statistics.median(times):.3f} min cpu_s={min(times):.3f}")


if __name__ == "__main__":
    main()
