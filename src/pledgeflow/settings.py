"""One settings object for every path and secret the pipeline uses.

Nothing reads paths or environment variables at import time: callers build a
`Settings` (usually with `Settings.from_root`) and pass it down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

# A fixed key keeps the bundled demo deterministic; production sets PLEDGEFLOW_PSEUDONYM_KEY.
DEVELOPMENT_PSEUDONYM_KEY = "pledgeflow-development-key-not-for-production"


@dataclass(frozen=True)
class Settings:
    """Where pledgeflow reads and writes, and the key it pseudonymises people with."""

    root: Path
    raw_dir: Path
    schemas_dir: Path
    curated_dir: Path
    state_dir: Path
    suites_dir: Path  # Great Expectations suites (gx/expectations/*.json): the audit step of publish
    pseudonym_key: str = DEVELOPMENT_PSEUDONYM_KEY
    keep_versions: int = 10
    # Where operators' browsers reach curated/ (a web server or bucket over it), e.g. https://intra/pledgeflow/curated.
    # Unset: Prefect artifacts carry no links (a file:// path on the server's disk opens nowhere else).
    curated_url: str | None = None

    @classmethod
    def from_root(cls, root: str | Path | None = None, **overrides: object) -> "Settings":
        """Settings for a project folder (default: $PLEDGEFLOW_ROOT or the current directory)."""
        base = Path(root or os.environ.get("PLEDGEFLOW_ROOT") or Path.cwd()).resolve()
        settings = cls(
            root=base,
            raw_dir=base / "raw",
            schemas_dir=base / "schemas",
            curated_dir=base / "curated",
            state_dir=base / "state",
            suites_dir=base / "gx",
            pseudonym_key=os.environ.get("PLEDGEFLOW_PSEUDONYM_KEY", DEVELOPMENT_PSEUDONYM_KEY),
            curated_url=(os.environ.get("PLEDGEFLOW_CURATED_URL") or "").rstrip("/") or None,
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def is_project(self) -> bool:
        """True where root holds a pledgeflow project (its catalog)."""
        return (self.schemas_dir / "catalog.yaml").is_file()

    @property
    def chart_cache_dir(self) -> Path:
        """Rendered report charts kept between runs, by spec hash (beside, not inside, the delivery cache)."""
        return self.state_dir / "report-charts"

    @property
    def uses_development_key(self) -> bool:
        return self.pseudonym_key == DEVELOPMENT_PSEUDONYM_KEY
