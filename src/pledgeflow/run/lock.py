"""One run at a time per project: an OS file lock under `state/`, with who holds it.

Another run holding it raises RunLocked (exit 5). The lock is flock-based: it dies with its process,
so a crashed run never leaves it stuck.
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from pledgeflow.errors import RunLocked

LOCK_FILE = "run.lock"



@contextmanager
def run_lock(state_dir: Path, wait_seconds: float = 0):
    """Hold the project's run lock; raise RunLocked if it is not free within `wait_seconds`.

    The lock is an OS file lock (flock): it dies with its process, so a crashed run never leaves it stuck.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(state_dir / LOCK_FILE, timeout=wait_seconds)
    holder = state_dir / f"{LOCK_FILE}.holder"
    try:
        lock.acquire()
    except Timeout:
        raise RunLocked(
            f"another pledgeflow run is in progress ({describe_holder(holder)}); "
            f"waited {wait_seconds:g} s. Try again later, or pass --wait SECONDS."
        ) from None
    try:
        holder.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def describe_holder(holder: Path) -> str:
    try:
        info = json.loads(holder.read_text())
    except (OSError, ValueError):
        return "holder unknown"
    return f"pid {info['pid']} on {info['host']} since {info['since']}"
