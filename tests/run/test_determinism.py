"""Determinism across processes and days: the same raw inputs give byte-identical curated tables, review pack and
pledge report, whatever the day, the process or its hash seed (DESIGN invariant 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project

pytestmark = pytest.mark.slow
PUBLISH = "import sys; from pathlib import Path; from tests.conftest import publish_project; publish_project(Path(sys.argv[1]))"
# Wall-clock values live in run metadata only: the run history and the manifests.
METADATA = {"runs.parquet", "manifest.json"}


def publish_in_child(root: Path, hash_seed: str, faketime: str | None = None) -> None:
    command = [sys.executable, "-c", PUBLISH, str(root)]
    if faketime:
        command = [shutil.which("faketime") or "faketime", "-f", faketime, *command]
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def published_bytes(root: Path) -> dict[str, bytes]:
    current = (root / "curated" / "current").resolve()
    paths = [*current.glob("*.parquet"), *current.glob("review/*"), *current.glob("report/*")]
    return {p.relative_to(current).as_posix(): p.read_bytes() for p in sorted(paths) if p.name not in METADATA}


def test_two_processes_a_day_apart_with_other_hash_seeds_publish_the_same_bytes(tmp_path):
    assert shutil.which("faketime"), "faketime is needed (Debian package faketime; .ci/run installs it)"
    today, tomorrow = copy_project(tmp_path / "today"), copy_project(tmp_path / "tomorrow")
    publish_in_child(today, hash_seed="1")
    publish_in_child(tomorrow, hash_seed="2", faketime="+1d")
    first, second = published_bytes(today), published_bytes(tomorrow)
    started = [__import__("polars").read_parquet(r / "curated/current/runs.parquet")["started_at"][0] for r in (today, tomorrow)]
    assert (started[1] - started[0]).days == 1  # the clock really was a day apart
    assert any(name.startswith("report/") for name in first) and any(name.startswith("review/") for name in first)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == [], f"not byte-identical across days and processes: {different}"
