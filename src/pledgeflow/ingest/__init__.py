"""Ingest: find the deliveries, read each one as text, validate it, and cache its result.

One delivery file is the unit of work: every row ends valid or quarantined, with its file and row number.

The names below load on first use: reading a register or linting the catalog needs `ingest.read`, not the
validation stack (pandera) that `deliver` and `cache` bring.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "ingest_cached": "cache", "load_unchanged": "cache",
    "DeliveryResult": "deliver", "combine_results": "deliver", "process_delivery": "deliver",
    "discover_deliveries": "discover", "discover_skipped": "discover",
    "read_delivery": "read",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"pledgeflow.ingest.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'pledgeflow.ingest' has no attribute {name!r}")
