"""The benchmark script at a tiny size, so it cannot rot: server, floor, full and incremental pipeline runs, fixed costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.floor import run_floor
from pledgeflow.synth.generate import generate_project
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_the_floor_counts_what_the_generator_planted(tmp_path):
    root = tmp_path / "p"
    generate_project(root, REPO, 2_000, districts=2, seed=5)
    table = run_floor(root)
    totals = table.select("actual", "excluded_records").sum().row(0)
    assert 1_900 < totals[0] < 2_000 and 0 < totals[1] < 100
    assert table.height == 20  # 2 districts' pledges x 2 sub-projects x 5 periods


def test_the_benchmark_command_runs_end_to_end_at_a_tiny_size(tmp_path):
    results = tmp_path / "results.json"
    env = os.environ | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--rows", "2000", "--districts", "2", "--incremental-rows", "300",
         "--task-workers", "2", "--workdir", str(tmp_path), "--results", str(results)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(results.read_text(encoding="utf-8"))
    assert figures["indicators_identical"] is True
    assert figures["server_startup_s"] > 0 and figures["ratio_wall"] > 0 and figures["ratio_cpu"] > 0
    assert figures["pipeline_full"]["status"].startswith("completed")
    assert figures["pipeline_incremental"]["files_reused"] > 0
    assert figures["pipeline_incremental"]["rows_read"] == figures["pipeline_full"]["rows_read"] + 300
    assert figures["floor"]["peak_rss_mb"] > 0 and figures["pipeline_full"]["peak_rss_mb"] > 0
    fixed = figures["fixed"]  # an empty flow after the real flow's and the audit's imports
    assert fixed["gx_import_s"] > 0 and fixed["flow_import_s"] > 0 and fixed["import_s"] < fixed["wall_s"]
    assert figures["fixed_share"] == round(fixed["wall_s"] / figures["pipeline_full"]["wall_s"], 3)
    assert not any(Path(tmp_path).glob("p2000/raw/placements/*/2022_추가제출.csv"))  # the added delivery is removed again
