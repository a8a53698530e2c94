"""The nightly run's audit, in a child interpreter started early: Great Expectations imports while polars works.

Great Expectations costs 6-9 s of Python to import and its audit several more, all holding the GIL. Imported in
a thread of the run, it stalled the run's own polars steps (counting took 11 s instead of 3 at 10M rows). An
`AuditWorker` is a child interpreter (`python -m pledgeflow.publish.audit_apart`, see `pledgeflow.children`) that
imports Great Expectations as soon as it starts, on a core the run leaves idle (while it reads a small delivery, or
while it settles and counts), then waits for one job: audit this staged version. It writes `audit.json` and the Data Docs into the version, exactly as
`audit.audit_version` does in-process, and answers with one JSON line on its stdout (a file without a name, so a
killed run leaves nothing behind). A failed critical expectation is the same BlockedByAudit as in-process; an I/O
error is an OSError again (publish retries those, and a retry audits in-process: a worker audits once); any other
failure is an `AuditWorkerError` with the child's last line (masked).
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path

from pledgeflow.children import Child, exit_with_parent, read_line
from pledgeflow.errors import BlockedByAudit, PledgeflowError
from pledgeflow.privacy import mask_text

TIMEOUT_S = 1800  # far above any audit seen (14 tables at 10M rows: ~10 s); a hung audit must not hold the run's lock
ANSWER = "pledgeflow-audit-answer: "  # the answer's line on stdout, whatever else a library prints there


class AuditWorkerError(PledgeflowError):
    """The audit's child process failed for a reason other than a verdict: the previous version stays current."""


class AuditWorker(Child):
    """A child interpreter that imports Great Expectations now and audits one staged version later (`audit`)."""

    def __init__(self) -> None:
        # the child reads its job from stdin, then watches it: if this process dies, the pipe closes and the child stops
        super().__init__("pledgeflow.publish.audit_apart")
        self.used = False

    def audit(self, version_dir: Path, suites_dir: Path, timeout: float = TIMEOUT_S) -> None:
        """Audit the staged version at `version_dir` in the child; raises BlockedByAudit, OSError or AuditWorkerError.

        A worker audits one version: called again (publish retried after an I/O error), the audit runs in-process.
        """
        if self.used:
            from pledgeflow.publish.audit import audit_version

            audit_version(version_dir, suites_dir)
            return
        self.used = True
        job = {"version_dir": str(version_dir), "suites_dir": str(suites_dir)}
        try:
            self.process.stdin.write(json.dumps(job).encode("utf-8") + b"\n")
            self.process.stdin.flush()
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise AuditWorkerError(f"the audit took more than {timeout:.0f} s and was stopped") from None
        except BrokenPipeError:  # the child died before its job arrived (it crashed on start): its stderr says why
            code = self.process.wait()
        answer, last = self.read_answer(), self.read_error_line()
        self.close()
        if answer.get("status") == "passed" and code == 0:
            return
        if answer.get("status") == "blocked":
            raise BlockedByAudit(answer["message"])
        message = mask_text(answer.get("message") or last or f"exit status {code}")
        if answer.get("io_error"):
            raise OSError(f"the audit could not write or read its files: {message}")
        raise AuditWorkerError(f"the audit could not run: {message}")

    def read_answer(self) -> dict:
        """The child's answer: the last line of its stdout that carries one ({} when it died without one)."""
        self.stdout.seek(0)
        lines = [line[len(ANSWER):] for line in self.stdout.read().splitlines() if line.startswith(ANSWER)]
        return json.loads(lines[-1]) if lines else {}

    def close(self) -> None:
        """Stop the child if it still runs (the run ended before publishing) and drop its files."""
        self.stop()


def serve_one_job() -> int:
    """The child: import Great Expectations, read one job from stdin, audit, answer. No job (stdin closed): exit 0."""
    from pledgeflow.publish.audit import audit_version, import_great_expectations

    import_great_expectations()
    line = read_line()
    if line is None:
        return 0  # the run ended before publishing: nothing to audit
    exit_with_parent()
    job = json.loads(line)
    try:
        audit_version(Path(job["version_dir"]), Path(job["suites_dir"]))
    except BlockedByAudit as verdict:
        write_answer({"status": "blocked", "message": str(verdict)})
        return 0
    except Exception as error:  # noqa: BLE001 - the run reports it (masked); the traceback goes to stderr
        traceback.print_exc()
        write_answer({"status": "error", "message": f"{type(error).__name__}: {error}", "io_error": isinstance(error, OSError)})
        return 1
    write_answer({"status": "passed"})
    return 0


def write_answer(body: dict) -> None:
    print(ANSWER + json.dumps(body, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    sys.exit(serve_one_job())
