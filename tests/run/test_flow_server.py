"""Against a real `prefect server start` on 127.0.0.1: serve the nightly deployment, trigger it, read it back.

Everything this module starts (the server, the serve process) is stopped at the end, whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import copy_project

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    """Stop a process group started with start_new_session=True; kill it if it does not stop in time."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false"}
    log = open(home / "server.log", "w")
    process = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                                "--analytics-off"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: healthy(api) or process.poll() is not None, 180, "the Prefect server")
        assert process.poll() is None, (home / "server.log").read_text()
        yield {"api": api, "env": env, "home": home}
    finally:
        stop(process)
        log.close()


def healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def served(server, tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("served") / "project")
    log = open(server["home"] / "serve.log", "w")
    process = subprocess.Popen([str(BIN / "pledgeflow"), "serve", "--root", str(project)], env=server["env"],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deployment = wait_for(lambda: find_deployment(server["api"]) or (process.poll() is not None and {}), 120,
                              "the served deployment")
        assert deployment, (server["home"] / "serve.log").read_text()
        yield {"project": project, "deployment": deployment, **server}
    finally:
        stop(process)
        log.close()


def find_deployment(api: str) -> dict | None:
    response = httpx.get(f"{api}/deployments/name/pledgeflow-nightly/nightly", timeout=5)
    return response.json() if response.status_code == 200 else None


def test_the_served_deployment_is_scheduled_for_two_in_seoul(served):
    schedules = httpx.get(f"{served['api']}/deployments/{served['deployment']['id']}/schedules", timeout=5).json()
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"], s["active"]) for s in schedules] == [("0 2 * * *", "Asia/Seoul", True)]
    # the parameters and description of prefect.yaml, as `prefect deploy` registers them
    assert served["deployment"]["parameters"]["wait_seconds"] == 600
    assert served["deployment"]["description"].startswith("Ingest, validate, reconcile and publish")


def test_a_run_triggered_through_the_api_completes_and_leaves_its_artifacts(served):
    api = served["api"]

    def create_run():  # a server under load can answer 5xx for a moment: try again, then say what it said
        response = httpx.post(f"{api}/deployments/{served['deployment']['id']}/create_flow_run", json={}, timeout=30)
        created.append(response)
        return response.json() if response.status_code in (200, 201) else None

    created: list = []
    run = wait_for(create_run, 60, "a flow run to be created")
    assert "id" in run, created[-1].text

    def finished():
        state = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=5).json()["state"]
        return state if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    state = wait_for(finished, 240, "the triggered flow run")
    assert state["type"] == "COMPLETED", (served["home"] / "serve.log").read_text()[-4000:]
    # the bundled deliveries have planted defects: the UI shows a run with warnings, and which
    assert state["name"] == "CompletedWithWarnings" and "rows quarantined" in state["message"]
    artifacts = httpx.post(f"{api}/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}, timeout=5).json()
    keys = {a["key"] for a in artifacts}
    assert {"pledgeflow-run-summary", "pledgeflow-reconciliation"} <= keys
    summary = next(a for a in artifacts if a["key"] == "pledgeflow-run-summary")
    assert "completed_with_warnings" in summary["data"]
    assert "pledgeflow-review" in keys and not any("file://" in str(a["data"]) for a in artifacts)  # no dead links
    assert (served["project"] / "curated/current/indicators.parquet").exists()
