"""Every error pledgeflow raises on purpose, and the exit code each one means.

Two families, never confused:

- `NotPublished`: the run stopped before publishing **on purpose**. It is a verdict on the data or on
  the project's state, not a crash: blocked by its data (exit 3), blocked by the audit (exit 4), or
  locked by another run (exit 5). The previous curated version stays current.
- Everything else is an **unexpected failure** (exit 1): a broken import, a full disk, a version name
  that already exists. Nothing is published either, but someone has to look at the machine.

Verdicts are raised where they are found and travel up unchanged: no layer catches one kind and
re-raises it as another. The orchestration layer turns the final error into a run state and the CLI
into an exit code (`exit_code_of`).

Errors for a person (`HumanError`) carry a Korean and an English message: a steward or an officer
reads them, so they say which file, what is wrong and what to do.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BLOCKED, EXIT_AUDIT, EXIT_BUSY = 0, 1, 2, 3, 4, 5


class PledgeflowError(Exception):
    """Base of the errors pledgeflow raises itself."""


class HumanError(PledgeflowError):
    """An error whose messages are for a person, in Korean and English; `source` names the file when there is one."""

    def __init__(self, source: str, message_ko: str, message_en: str) -> None:
        # every field goes to Exception: the error stays picklable across Prefect / Dask workers
        super().__init__(source, message_ko, message_en)
        self.source, self.message_ko, self.message_en = source, message_ko, message_en

    @property
    def source_file(self) -> str:
        return self.source

    def __str__(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return f"{prefix}{self.message_ko} / {self.message_en}"


# ---- verdicts: the run did not publish, on purpose -------------------------------------------------


class NotPublished(PledgeflowError):
    """The run stopped before publishing on purpose; `exit_code` says why, `status` is its run-history status."""

    exit_code = EXIT_FAILED
    status = "blocked"


class BlockedByData(NotPublished):
    """A data threshold, a critical rule or an unreadable report register stops the run (exit 3)."""

    exit_code = EXIT_BLOCKED


class BlockedByAudit(NotPublished):
    """The candidate version broke its contract or a critical expectation (exit 4)."""

    exit_code = EXIT_AUDIT


class RunLocked(NotPublished):
    """Another run holds the project's lock (exit 5); this run did not start."""

    exit_code = EXIT_BUSY
    status = "not_started"


class ReportError(HumanError, BlockedByData):
    """The report register cannot be loaded as a whole: the run is blocked by its data (exit 3)."""


# ---- errors about one input: reported for a person, the run goes on ---------------------------------


class DeliveryError(HumanError):
    """A delivery file that cannot be read as a whole: it becomes a file-level failure, never a crash."""


class LedgerError(HumanError):
    """A steward decision that cannot be recorded."""

    def __init__(self, message_ko: str, message_en: str, source: str = "") -> None:
        super().__init__(source, message_ko, message_en)

    def __reduce__(self):
        return (type(self), (self.message_ko, self.message_en, self.source))


# ---- unexpected failures (exit 1) ----------------------------------------------------------------


class PublishError(PledgeflowError):
    """A version could not be written (a name clash, an invalid name): nothing was published."""


class ConservationError(PledgeflowError, ValueError):
    """A delivery's rows are not all accounted for as valid, quarantined or excluded."""


def exit_code_of(error: BaseException | None) -> int:
    """The process exit code for the error a run ended with (None: it published)."""
    if error is None:
        return EXIT_OK
    return error.exit_code if isinstance(error, NotPublished) else EXIT_FAILED


class CatalogError(HumanError, BlockedByData):
    """The catalog (schemas/catalog.yaml) is broken: every problem found, with its line; the run is blocked (exit 3)."""

    def __init__(self, source: str, message_ko: str, message_en: str, issues: tuple = ()) -> None:
        super().__init__(source, message_ko, message_en)
        self.issues = issues

    def __reduce__(self):
        return (type(self), (self.source, self.message_ko, self.message_en, self.issues))
