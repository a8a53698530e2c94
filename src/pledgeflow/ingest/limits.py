"""What reading one delivery file may cost: the read budget.

No single delivery may take the machine down: a file larger than `max_file_bytes`, a workbook that
inflates past `max_uncompressed_bytes`, a grid of more than `max_cells` cells, or an Excel read that
needs more than `max_memory_bytes` of address space or `max_seconds` of time becomes a file-level
failure of that file, and the run goes on.

Defaults suit a district's deliveries (the largest seen are tens of MB); a descriptor may override
any of them under `limits:` (e.g. `limits: {max_cells: 200000000}`), and the environment variable
`PLEDGEFLOW_READ_<NAME>` (e.g. `PLEDGEFLOW_READ_MAX_MEMORY_BYTES`) overrides both, for operations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from pledgeflow.catalog import Descriptor

GIB = 1 << 30


@dataclass(frozen=True)
class ReadLimits:
    max_file_bytes: int = 2 * GIB  # a file on disk
    max_uncompressed_bytes: int = 4 * GIB  # an xlsx once unzipped (the zip directory says it before inflating)
    max_cells: int = 200_000_000  # rows x columns of the grid
    max_memory_bytes: int = 4 * GIB  # address space of the child process that reads a workbook
    max_seconds: int = 900  # wall time of that child process


def read_limits(descriptor: Descriptor | None = None) -> ReadLimits:
    """The defaults, then the descriptor's `limits:`, then `PLEDGEFLOW_READ_*` environment variables."""
    names = {f.name for f in fields(ReadLimits)}
    chosen = {k: v for k, v in (descriptor.read_limits if descriptor else ()) if k in names}
    for name in names:
        value = os.environ.get(f"PLEDGEFLOW_READ_{name.upper()}")
        if value and value.strip().isdigit():
            chosen[name] = int(value)
    return replace(ReadLimits(), **chosen)


def size_text(size: int) -> str:
    """1536 -> "1.5 KB": sizes as a person reads them."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
