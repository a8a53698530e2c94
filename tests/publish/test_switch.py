"""The `current` switch, seen from the file system: a reader polling `curated/current` while versions are
promoted one after another never finds it missing, dangling or pointing at a version without its manifest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pledgeflow.publish.staging import MANIFEST_FILE
from pledgeflow.publish.version import promote_version

# A separate process, so the reader runs truly alongside the switches (no GIL shared with the writer).
POLLER = textwrap.dedent(
    """
    import os, sys, time
    current, stop = sys.argv[1], sys.argv[2]
    seen = misses = 0
    print("polling", flush=True)
    while not os.path.exists(stop):
        try:
            os.stat(os.path.join(current, "manifest.json"))  # resolves the link: a missing or partial version fails
            seen += 1
        except OSError:
            misses += 1
    print(seen, misses, flush=True)
    """
)


def stage(curated: Path, name: str) -> Path:
    folder = curated / ".staging" / name
    folder.mkdir(parents=True)
    (folder / "indicators.parquet").write_bytes(b"x")
    (folder / MANIFEST_FILE).write_text("{}")
    return folder


def test_a_reader_never_sees_current_missing_or_partial_while_versions_switch(tmp_path):
    curated = tmp_path / "curated"
    promote_version(curated, stage(curated, "v000000"), curated / "versions" / "v000000")
    stop = tmp_path / "stop"
    poller = subprocess.Popen([sys.executable, "-c", POLLER, str(curated / "current"), str(stop)], stdout=subprocess.PIPE, text=True)
    assert poller.stdout.readline().strip() == "polling"
    try:
        for number in range(1, 301):
            name = f"v{number:06d}"
            promote_version(curated, stage(curated, name), curated / "versions" / name)
    finally:
        stop.touch()
    seen, misses = map(int, poller.communicate(timeout=60)[0].split())
    assert (curated / "current").resolve().name == "v000300"
    assert seen > 0 and misses == 0, f"the reader found no complete version {misses} time(s) in {seen + misses} looks"
