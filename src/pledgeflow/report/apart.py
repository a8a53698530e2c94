"""Build the pledge report in a process of its own, beside the review pack and the audit.

vl-convert (the chart renderer) holds the GIL while it draws, so in the run's own process the report's
charts would take turns with the review pack on one core. A child interpreter (`python -m pledgeflow.report`,
see `pledgeflow.children`) draws on another core instead.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pledgeflow.children import Child
from pledgeflow.errors import PledgeflowError
from pledgeflow.privacy import mask_text

TIMEOUT_S = 1800  # far above any build seen (25 pledges: 20 s); a hung renderer must not hold the run's lock forever


class ReportBuildError(PledgeflowError):
    """The report's child process failed: an unexpected failure (exit 1), the previous version stays current."""


class ReportBuild(Child):
    """A report being built by a child interpreter: start it, do other work, then `wait()` (or `cancel()`)."""

    def __init__(self, version_dir: Path, out_dir: Path, status_rule: Path, chart_cache: Path | None = None,
                 chart_workers: int = 2) -> None:
        # two drawing processes (this child and one helper) by default: on 2 cores the child otherwise draws the last
        # ~10 s of charts alone at 10M rows once the audit and the review pack are done; the helper's ~0.2 GB fits the
        # run's memory budget since the run stopped holding its deliveries' text (BENCHMARKS.md, round 9)
        args = [str(version_dir), str(out_dir), "--status-rule", str(status_rule), "--chart-workers", str(chart_workers),
                "--exit-with-parent", *(["--chart-cache", str(chart_cache)] if chart_cache is not None else [])]
        # the child watches its stdin: if this process dies (killed mid-run), the pipe closes and the child stops too
        super().__init__("pledgeflow.report", *args)

    def wait(self, timeout: float = TIMEOUT_S) -> None:
        """Block until the pages are written; raises ReportBuildError (masked) if the child failed or hung."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise ReportBuildError(f"the pledge report took more than {timeout:.0f} s to build and was stopped") from None
        last = self.read_error_line()
        self.stop()
        if code != 0:
            raise ReportBuildError(f"the pledge report could not be built: {mask_text(last or f'exit status {code}')}")

    def cancel(self) -> None:
        """Stop the child (the run failed elsewhere); its half-written pages go with the staging folder."""
        self.stop()

