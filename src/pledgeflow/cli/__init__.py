"""The `pledgeflow` command line: `main` (run, validate, failures, …) and `review` (steward decisions)."""

from pledgeflow.cli.entry import main
from pledgeflow.cli.commands import app

__all__ = ["app", "main"]
