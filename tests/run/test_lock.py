"""One run at a time: the OS lock, who holds it, and a crashed holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pledgeflow.errors import RunLocked
from pledgeflow.run.lock import run_lock

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pledgeflow.run.lock import run_lock
    with run_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def hold_lock_in_another_process(state_dir: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(state_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_process_cannot_take_the_lock_and_is_told_who_holds_it(tmp_path):
    holder = hold_lock_in_another_process(tmp_path)
    try:
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
            with run_lock(tmp_path, wait_seconds=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_crashed_run_does_not_leave_the_lock_stuck(tmp_path):
    holder = hold_lock_in_another_process(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)  # no cleanup runs: the OS drops the lock with the process
    holder.wait()
    with run_lock(tmp_path, wait_seconds=2):
        assert (tmp_path / "run.lock.holder").exists()
    assert not (tmp_path / "run.lock.holder").exists()
