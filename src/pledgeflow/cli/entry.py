"""The `pledgeflow` entry point: the command line with one plain line instead of a traceback."""

from __future__ import annotations

import os

import typer
from rich.markup import escape

from pledgeflow.cli.commands import app, console
from pledgeflow.errors import exit_code_of


def main() -> None:
    """The entry point: an error nobody planned for is one plain line and exit 1, never a traceback on a
    steward's screen (PLEDGEFLOW_DEBUG=1 shows it); personal numbers in the line are masked."""
    from pledgeflow.privacy import install_log_masking, mask_text

    install_log_masking()
    try:
        code = app(standalone_mode=False)  # click returns an Exit's code instead of raising it here
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except (typer.Abort, KeyboardInterrupt):
        console.print("Interrupted.")
        raise SystemExit(130) from None
    except Exception as error:  # noqa: BLE001 — the last line of defence between a person and a traceback
        if callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int):
            error.show()  # a usage error (click's own kind, whichever click typer uses): its message, exit 2
            raise SystemExit(error.exit_code) from None
        if os.environ.get("PLEDGEFLOW_DEBUG"):
            raise
        code = exit_code_of(error)
        console.print(f"[bold red]pledgeflow failed[/] (exit {code}): {escape(mask_text(f'{type(error).__name__}: {error}'))}",
                      soft_wrap=True)
        console.print("Nothing was published by this command; set PLEDGEFLOW_DEBUG=1 to see the traceback.")
        raise SystemExit(code) from None
    raise SystemExit(code if isinstance(code, int) else 0)
