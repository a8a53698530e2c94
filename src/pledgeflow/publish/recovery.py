"""What lets a run recover from one that was killed: crash points, staging leftovers, version numbers on disk.

A kill can land between any two steps of publishing. The next run clears what a killed build left in
`curated/.staging/` (under the publish lock) and numbers itself past every version on disk, so no state a
crash leaves can block it. `crash_point` is the test-only way to kill a run at a named step.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from filelock import FileLock

from pledgeflow import storage


def crash_point(step: str) -> None:
    """Test-only fault injection: die here, as a kill would, when PLEDGEFLOW_CRASH_AT names this step.

    Steps, in order: staged, audited, promoted, switched (publish_version), published, recorded
    (run.tables.publish_tables). The adversarial suite kills a run at each and proves the next recovers.
    """
    if os.environ.get("PLEDGEFLOW_CRASH_AT") == step:
        os._exit(137)


def clear_staging(curated_dir: Path | str) -> None:
    """Remove builds a crashed run left in .staging/, under the publish lock (a run calls this at start)."""
    if storage.is_remote(curated_dir) or not Path(curated_dir).is_dir():
        return
    with FileLock(Path(curated_dir) / ".publish.lock"):
        shutil.rmtree(Path(curated_dir) / ".staging", ignore_errors=True)


def version_numbers(curated_dir: Path | str) -> list[int]:
    """Run numbers of every version on disk: published, rejected, or left in staging by a crash."""
    if storage.is_remote(curated_dir):
        return []
    found = [path.name for sub in ("versions", ".rejected", ".staging")
             if (Path(curated_dir) / sub).is_dir() for path in (Path(curated_dir) / sub).iterdir()]
    return [int(m.group(1)) for m in (re.fullmatch(r"v(\d+)", name) for name in found) if m]
