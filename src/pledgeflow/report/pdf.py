"""PDF of a page through headless Chromium, offline: the page's own @page rule gives A4 portrait.

Chromium runs with every background network feature off and a throw-away profile; DNS is mapped to
nothing (`--host-resolver-rules`), so even a stray URL could not leave the machine.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
OFFLINE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions", "--no-pings",
                 "--host-resolver-rules=MAP * ~NOTFOUND")


class BrowserMissing(RuntimeError):
    """No Chromium on this machine: `apt-get install -y chromium` (Debian) installs it."""


def find_chromium() -> str:
    """The path of a Chromium-like browser, or BrowserMissing with how to install one."""
    for name in CANDIDATES:
        if found := shutil.which(name):
            return found
    raise BrowserMissing("chromium not found: install it (Debian: apt-get install -y chromium) to write PDFs")


def run_chromium(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Headless Chromium with the offline flags and a temporary profile."""
    with tempfile.TemporaryDirectory(prefix="pledgeflow-chromium-") as profile:
        command = [find_chromium(), *OFFLINE_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def print_pdf(html: Path, pdf: Path) -> Path:
    """`html` printed to `pdf` (A4 from the page's CSS, no header or footer lines)."""
    pdf.unlink(missing_ok=True)  # a PDF left from an earlier build must not pass for this one
    result = run_chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()])
    if not pdf.is_file():
        raise RuntimeError(f"chromium wrote no PDF for {html.name}: {result.stderr[-500:]}")
    return pdf
