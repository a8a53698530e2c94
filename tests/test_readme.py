"""Every command example in the README runs, on a copy of the project, in the README's order.

Examples are the ```sh blocks and every inline `uv run pledgeflow …`. `uv run pledgeflow` becomes this
environment's `pledgeflow` script (what `uv run` starts). A few examples cannot run in a test; each is in
NOT_RUN with the reason, or in HELP_ONLY (checked with `--help`), and the lists are checked to stay small and true.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project

pytestmark = pytest.mark.slow  # the README runs the nightly flow (a temporary Prefect server): ~1 min
README = REPO / "README.md"
PLEDGEFLOW = Path(sys.executable).parent / "pledgeflow"
NOT_RUN = {
    "make test": "runs this very test suite",
    "make run": "is `uv run pledgeflow run` after `uv sync`, which the README's own `uv run pledgeflow run` example runs",
    "uv run prefect server start --host 127.0.0.1 --analytics-off &": "starts a long-lived server",
    "export PREFECT_API_URL=http://127.0.0.1:4200/api": "points at that server",
}
HELP_ONLY = {"serve": "serves the schedule until stopped"}
EXIT_CODES = {"validate": 1}  # the bundled delivery has failures: validate says so with exit 1, as documented


def sh_commands(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def inline_commands(text: str) -> list[str]:
    return [c.replace("\\|", "|") for c in re.findall(r"`(uv run pledgeflow[^`]*)`", text)]


def readme_examples() -> list[str]:
    """Every example, in the order the README gives them, each once."""
    text = README.read_text(encoding="utf-8")
    found = [(m.start(), i, c) for m in re.finditer(r"```sh\n.*?```", text, flags=re.S)
             for i, c in enumerate(sh_commands(m.group(0)))]
    found += [(m.start(), 0, c) for m, c in zip(re.finditer(r"`(uv run pledgeflow[^`]*)`", text), inline_commands(text))]
    return list(dict.fromkeys(command for _, _, command in sorted(found)))


def as_argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[:3] == ["uv", "run", "pledgeflow"], command
    if words[3] in HELP_ONLY:
        words = [*words[:4], "--help"]
    return [str(PLEDGEFLOW), *words[3:]]


def test_the_lists_of_examples_not_run_are_small_and_true():
    examples = readme_examples()
    assert set(NOT_RUN) <= set(examples), set(NOT_RUN) - set(examples)
    assert len(NOT_RUN) + len(HELP_ONLY) <= 6
    assert all(c in NOT_RUN or c.startswith("uv run pledgeflow ") for c in examples), examples


def test_every_readme_example_runs(tmp_path):
    root = copy_project(tmp_path / "project")
    (root / "prefect.yaml").write_bytes((REPO / "prefect.yaml").read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PLEDGEFLOW_ROOT", "PREFECT_API_URL")}
    ran = []
    for command in readme_examples():
        if command in NOT_RUN:
            continue
        argv = as_argv(command)
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        expected = EXIT_CODES.get(argv[1], 0)
        assert done.returncode == expected, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        ran.append(argv[1:3])
    assert ["run"] in [a[:1] for a in ran] and ["review", "waive"] in ran and ["synth", "../synth-demo"] in ran
    assert (tmp_path / "synth-demo" / "raw").is_dir()  # outside the project
