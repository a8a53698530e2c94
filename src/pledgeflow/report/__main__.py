"""`python -m pledgeflow.report VERSION_DIR OUT_DIR --status-rule FILE [--chart-cache DIR] [--chart-workers N]`: a build.

The nightly run starts this as a child process (see `apart.py`) with `--exit-with-parent`; people use
`pledgeflow report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pledgeflow.children import exit_with_parent
from pledgeflow.report import build_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pledgeflow.report", description=__doc__.splitlines()[0])
    parser.add_argument("version_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--status-rule", type=Path, required=True)
    parser.add_argument("--chart-cache", type=Path)
    parser.add_argument("--chart-workers", type=int)
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when stdin closes (the parent that holds its other end has exited or was killed)")
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        exit_with_parent()
    build_report(args.version_dir, args.out_dir, status_rule=args.status_rule, chart_cache=args.chart_cache,
                 chart_workers=args.chart_workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
