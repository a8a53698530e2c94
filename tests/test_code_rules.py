"""Rules the whole package keeps, checked on its source."""

from __future__ import annotations

import ast
from pathlib import Path

import pledgeflow

PYTHON_CALLBACKS = {"map_batches", "map_elements", "map_groups", "map_rows"}


def test_no_python_callback_runs_inside_a_polars_query():
    # A callback runs Python on polars' thread pool: per-row Python (slow), and one that started a query of its
    # own there deadlocked the nightly run at 10M rows. Everything is a polars expression instead.
    package = Path(pledgeflow.__file__).parent
    found = [f"{path.relative_to(package)}:{node.lineno} {node.func.attr}"
             for path in sorted(package.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PYTHON_CALLBACKS]
    assert found == []
