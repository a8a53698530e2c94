"""`python -m pledgeflow.report VERSION_DIR OUT_DIR --status-rule FILE [--chart-cache DIR] [--chart-workers N]`: a build.

The nightly run starts this as a child process (see `apart.py`) with `--exit-with-parent`; people use
`pledgeflow report`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

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
        threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    build_report(args.version_dir, args.out_dir, status_rule=args.status_rule, chart_cache=args.chart_cache,
                 chart_workers=args.chart_workers)
    return 0


def exit_when_stdin_closes() -> None:
    # a killed run cannot stop its child; the closed pipe tells it. os._exit: the main thread is busy drawing.
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read makes the interpreter's exit fatal
    while os.read(sys.stdin.fileno(), 65536):
        pass
    os._exit(1)  # nobody waits for this status: the parent is gone (3 would read as "blocked by data")


if __name__ == "__main__":
    raise SystemExit(main())
