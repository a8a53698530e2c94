"""The review pack of a run that was blocked by its data (exit 3): kept where the steward finds it.

A blocked run publishes nothing, so its failures are not in `curated/current`. They are what the steward
must act on, though: the run keeps them in `state/runs/<run_id>/review/` — the review pack (with the
reason the run was blocked), the failures as a parquet file and `blocked.json` (run, reason) — and
`pledgeflow failures` shows them as long as no later run has published.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from pledgeflow.catalog import Catalog
from pledgeflow.privacy import mask_text

BLOCKED_FILE = "blocked.json"
FAILURES_FILE = "validation_failures.parquet"


def blocked_review_dir(state_dir: Path, run_id: str) -> Path:
    return state_dir / "runs" / run_id / "review"


def write_blocked_pack(state_dir: Path, run_id: str, run_number: int, reason: str, failures: pl.DataFrame,
                       delivered: dict[str, pl.DataFrame], catalog: Catalog, contract: dict[str, pl.DataType],
                       corrections: pl.DataFrame | None = None) -> Path:
    """Write the blocked run's review pack, failures and reason; returns the pack's HTML path."""
    from pledgeflow.steward.review_pack import prepare_failures, write_review_pack

    folder = blocked_review_dir(state_dir, run_id)
    paths = write_review_pack(folder, failures, delivered, catalog, run_id, contract=contract,
                              corrections=corrections, blocked_reason=reason)
    prepare_failures(failures, contract).write_parquet(folder / FAILURES_FILE)
    info = {"run_id": run_id, "run_number": run_number, "reason": mask_text(reason), "review_pack": str(paths["html"])}
    (folder / BLOCKED_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return paths["html"]


def latest_blocked(state_dir: Path) -> dict | None:
    """The last blocked run's `blocked.json` (with `folder`), or None when no run was ever blocked."""
    found = sorted((state_dir / "runs").glob(f"run-*/review/{BLOCKED_FILE}")) if (state_dir / "runs").is_dir() else []
    if not found:
        return None
    info = json.loads(found[-1].read_text(encoding="utf-8"))
    return info | {"folder": str(found[-1].parent)}


def read_blocked_failures(info: dict) -> pl.DataFrame:
    return pl.read_parquet(Path(info["folder"]) / FAILURES_FILE)
