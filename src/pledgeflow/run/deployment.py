"""The nightly deployment, defined once in `prefect.yaml`: `prefect deploy` reads it, and `pledgeflow serve` too.

`serve_options` turns the yaml entry into the keyword arguments of `Flow.serve` / `Flow.to_deployment`
(schedules, parameters, description, tags), so both schedule paths register the same deployment; the
only difference is where it runs (a work pool, or the serving process) and that `serve` pins `root`
to the project folder it was started for. Prefect is imported inside the functions: importing this
module costs nothing.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOYMENT_NAME = "nightly"


def find_prefect_yaml(root: Path | None = None) -> Path:
    """prefect.yaml of the project folder, else the one of the source checkout pledgeflow runs from."""
    import pledgeflow

    candidates = [root / "prefect.yaml"] if root else []
    candidates.append(Path(pledgeflow.__file__).resolve().parents[2] / "prefect.yaml")
    return next(p for p in candidates if p.exists())


def nightly_deployment(root: Path | None = None) -> dict:
    config = yaml.safe_load(find_prefect_yaml(root).read_text(encoding="utf-8"))
    return next(d for d in config["deployments"] if d["name"] == DEPLOYMENT_NAME)


def nightly_schedules(root: Path | None = None) -> list:
    """prefect.schedules.Cron objects for the nightly deployment (cron + timezone from prefect.yaml)."""
    from prefect.schedules import Cron

    return [Cron(s["cron"], timezone=s["timezone"]) for s in nightly_deployment(root)["schedules"] if s.get("active", True)]


def serve_options(root: Path | None = None) -> dict:
    """Keyword arguments of `Flow.serve` for the deployment prefect.yaml defines (`root` pinned when given)."""
    deployment = nightly_deployment(root)
    parameters = dict(deployment.get("parameters") or {})
    if root is not None:
        parameters["root"] = str(root)  # the yaml's null means "$PLEDGEFLOW_ROOT or the working directory"
    return {
        "name": deployment["name"],
        "description": deployment.get("description"),
        "tags": list(deployment.get("tags") or []),
        "parameters": parameters,
        "schedules": nightly_schedules(root),
    }
