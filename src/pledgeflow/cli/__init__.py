"""The `pledgeflow` command line: `main` (run, validate, failures, …) and `review` (steward decisions)."""

from pledgeflow.cli.main import app, main

__all__ = ["app", "main"]
