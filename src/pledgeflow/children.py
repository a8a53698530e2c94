"""Child interpreters of a run (the pledge report, the audit): started on this copy of pledgeflow, stopped with their run.

Work that holds the GIL for seconds (vl-convert's charts, Great Expectations' import and audit) runs in a child
interpreter, so the run's own threads keep theirs. A child is `python -m <module>` with this very package on its
path, and its stdin is a pipe only the run holds: when the run ends, even killed, the pipe closes and the child stops.
`subprocess`, not `multiprocessing`: a daemonic process (a Dask worker) may not start multiprocessing children.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


class Child:
    """A running child interpreter: stdin a pipe only the run holds; stdout and stderr in unnamed files (a chatty child
    never blocks on a pipe, and a killed run leaves no file behind)."""

    def __init__(self, module: str, *args: str) -> None:
        self.stdout = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.process = subprocess.Popen(child_command(module, *args), stdin=subprocess.PIPE, stdout=self.stdout,
                                        stderr=self.stderr, env=child_env())

    def read_error_line(self) -> str | None:
        """The last line the child wrote to stderr (its error, when it failed), or None. Read it before `stop()`."""
        self.stderr.seek(0)
        lines = [line for line in self.stderr.read().splitlines() if line.strip()]
        return lines[-1] if lines else None

    def stop(self) -> None:
        """Kill the child if it still runs, close its pipe and drop its output files (safe to call twice)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:  # the child is gone: nothing was left to flush
                pass
        self.stdout.close()
        self.stderr.close()


def child_command(module: str, *args: str) -> list[str]:
    """`python -m module args…` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def child_env() -> dict[str, str]:
    """The environment with this copy of pledgeflow first on the path (a child imports the code its run runs)."""
    package_root = str(Path(__file__).resolve().parents[1])
    return os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}


def read_line() -> str | None:
    """One line from stdin, read unbuffered (the rest of the pipe stays for `exit_when_closed`); None at end of file."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            return None
        data += chunk
    return data.decode("utf-8")


def exit_with_parent() -> None:
    """Watch the pipe from the run (stdin) in a daemon thread; stop this process when it closes."""
    threading.Thread(target=exit_when_closed, daemon=True, name="exit-with-parent").start()


def exit_when_closed() -> None:
    """Read stdin until it closes, then end this process at once (status 1)."""
    # a killed run cannot stop its child; the closed pipe tells it. os._exit: the main thread is busy working.
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read makes the interpreter's exit fatal
    while os.read(0, 65536):
        pass
    os._exit(1)  # nobody waits for this status: the parent is gone (3 would read as "blocked by data")
