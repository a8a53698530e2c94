"""The scale benchmark: the nightly flow against a running Prefect server vs the polars floor.

One command does everything, in order, and writes a JSON file of figures:

1. generate the synthetic project (`pledgeflow.synth.generate`, deterministic by seed) unless it already exists
   with the same parameters and generator version;
2. run the floor (`benchmarks/floor.py`) in a child process, on a quiet machine;
3. start `prefect server start` on 127.0.0.1 (analytics off, a fresh PREFECT_HOME) and time its start-up;
4. run the nightly flow (`pledgeflow.run.flow.nightly`, full run: no cache) in a child process against the server;
5. check that the floor and the pipeline computed the same indicator record columns;
6. add one new delivery (`--incremental-rows`) and run the flow again (incremental: unchanged
   deliveries are reused from the cache), then remove that delivery again;
7. measure what any nightly run costs before it does any work (`fixed`): a child process that imports
   what the flow imports and what its audit imports (Great Expectations), then runs an empty flow
   against the server;
8. stop the server.

Each phase runs in its own process, as the nightly deployment does, so the peak memory of a phase
is its own: a sampler thread sums the resident memory of the child's whole process tree every 0.2 s.
Wall time is the child's, start to exit (imports included); `work_s` is the time inside it without
the imports. (Sampling every 0.2 s can miss a spike shorter than that.)

    uv run python -m benchmarks.run --rows 1000000 --results benchmarks/results/1m.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
RECORD_COLUMNS = ["pledge_id", "subproject_id", "indicator_id", "period", "actual", "cumulative_actual", "excluded_records"]
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}


class PeakSampler:
    """Peak resident memory of a process and its descendants, sampled on a thread.

    Listing descendants scans /proc and costs CPU on a 2-core machine, so the tree is refreshed once a
    second and only the known processes' RSS is read every `every` seconds.
    """

    def __init__(self, pid: int, every: float = 0.2, refresh: float = 1.0, limit: int | None = None) -> None:
        self.process, self.every, self.refresh, self.peak = psutil.Process(pid), every, refresh, 0
        self.limit, self.killed = limit, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        tree, listed = [self.process], 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - listed > self.refresh:
                    tree, listed = [self.process, *self.process.children(recursive=True)], time.monotonic()
                self.peak = max(self.peak, sum(rss(p) for p in tree))
                if self.limit and self.peak > self.limit:  # protect the machine (and everyone else on it)
                    self.killed = True
                    for process in reversed(tree):
                        process.kill()
            except psutil.Error:
                pass
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:  # exited between listing and reading
        return 0


def run_phase(args: list[str], env: dict[str, str], limit_gb: float) -> dict:
    """Run `python -m benchmarks.run --phase ...` and return its JSON line plus wall time, CPU time and peak memory.

    CPU time (user + system of the child tree) is less sensitive than wall time to other load on the machine.
    A phase whose memory passes `limit_gb` is killed and reported as such instead of taking the machine down.
    """
    load, before, started = os.getloadavg()[0], resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.run", *args], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = PeakSampler(child.pid, limit=int(limit_gb * 2**30))
    out, err = child.communicate()
    peak, wall, after = sampler.stop(), time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    figures = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(peak / 2**20), "load_before": round(load, 2)}
    if sampler.killed:
        return figures | {"status": f"killed: over the {limit_gb} GB memory limit"}
    if child.returncode != 0:
        raise RuntimeError(f"phase {args} failed ({child.returncode}):\n{err[-4000:]}")
    return json.loads(out.strip().splitlines()[-1]) | figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path, port: int, timeout: float = 180) -> tuple[subprocess.Popen, float]:
    """`prefect server start` on 127.0.0.1 with a fresh PREFECT_HOME; seconds until /api/health answers."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = os.environ | QUIET | {"PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).parent / "prefect"
    started = time.perf_counter()
    server = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--analytics-off"],
                              env=env, stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited: see {home / 'server.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as reply:
                if reply.status == 200:
                    return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"prefect server did not answer within {timeout} s")


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server we started (its own process group) and wait for it."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def ensure_project(root: Path, rows: int, districts: int, seed: int) -> float | None:
    """Generate the synthetic project unless it exists with these parameters and generator; seconds taken, or None if reused."""
    from pledgeflow.synth.generate import GENERATOR, generate_project

    manifest = root / "synth.json"
    if manifest.exists():
        params = json.loads(manifest.read_text(encoding="utf-8"))
        if (params.get("generator"), params["placements"], params["districts"], params["seed"]) == (GENERATOR, rows, districts, seed):
            refresh_contracts(root)
            return None
    started = time.perf_counter()
    generate_project(root, REPO, rows, districts=districts, seed=seed)
    return time.perf_counter() - started


def refresh_contracts(root: Path) -> None:
    """A reused project gets the repo's current schemas and suites (the data, its national catalog and cards stay)."""
    catalog = (root / "schemas" / "catalog.yaml").read_bytes()
    for folder in ("schemas", "gx"):
        shutil.rmtree(root / folder, ignore_errors=True)
        shutil.copytree(REPO / folder, root / folder)
    (root / "schemas" / "catalog.yaml").write_bytes(catalog)


def reset_outputs(root: Path) -> None:
    """A first run: no published version, no history, no cache."""
    for folder in ("curated", "state"):
        shutil.rmtree(root / folder, ignore_errors=True)


def compare_indicators(root: Path, floor_table: Path) -> bool:
    import polars as pl

    pipeline = pl.read_parquet(root / "curated" / "current" / "indicators.parquet").select(RECORD_COLUMNS).sort(RECORD_COLUMNS[:4])
    floor = pl.read_parquet(floor_table).select(RECORD_COLUMNS).sort(RECORD_COLUMNS[:4])
    return pipeline.equals(floor)


def describe_machine() -> dict:
    import polars as pl

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "polars": pl.__version__, "os": platform.platform()}


def benchmark(args: argparse.Namespace) -> dict:
    root = args.workdir / f"p{args.rows}"
    generated = ensure_project(root, args.rows, args.districts, args.seed)
    # the floor runs before the server starts: a fresh server's background services would slow it down
    floor_table = args.workdir / f"floor-{args.rows}.parquet"
    workers = ["--task-workers", str(args.task_workers)] if args.task_workers else []
    floor = run_phase(["--phase", "floor", str(root), "--out", str(floor_table), *workers], os.environ | QUIET,
                      args.memory_limit_gb)
    port = free_port()
    server, startup = start_server(args.workdir / "prefect-home", port)
    env = os.environ | QUIET | {"PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
                                "PREFECT_HOME": str(args.workdir / "prefect-home")}
    extra = None
    try:
        reset_outputs(root)
        full = run_phase(["--phase", "pipeline", str(root), "--full", *workers], env, args.memory_limit_gb)
        same = compare_indicators(root, floor_table) if "work_s" in full and "work_s" in floor else None
        from pledgeflow.synth.generate import add_delivery

        extra = add_delivery(root, args.incremental_rows)
        incremental = run_phase(["--phase", "pipeline", str(root), *workers], env, args.memory_limit_gb)
        fixed = run_phase(["--phase", "fixed"], env, args.memory_limit_gb)
    finally:
        if extra is not None:
            extra.unlink(missing_ok=True)
        stop_server(server)
    return {
        "command": " ".join(["uv run python -m benchmarks.run", *sys.argv[1:]]),
        "machine": describe_machine(),
        "rows": args.rows, "districts": args.districts, "task_workers": args.task_workers, "seed": args.seed, "incremental_rows": args.incremental_rows,
        "generate_s": None if generated is None else round(generated, 2),
        "server_startup_s": round(startup, 2),
        "floor": floor, "pipeline_full": full, "pipeline_incremental": incremental,
        "ratio_wall": round(full["wall_s"] / floor["wall_s"], 2),
        "ratio_cpu": round(full["cpu_s"] / floor["cpu_s"], 2),
        "ratio_work": round(full["work_s"] / floor["work_s"], 2) if "work_s" in full and "work_s" in floor else None,
        "incremental_share": round(incremental["wall_s"] / full["wall_s"], 3),
        "fixed": fixed,
        # no nightly run can cost less than `fixed`: the lowest incremental share this stack allows
        "fixed_share": round(fixed["wall_s"] / full["wall_s"], 3),
        "floor_rows_per_s": round(args.rows / floor["wall_s"]),
        "pipeline_rows_per_s": round(args.rows / full["wall_s"]),
        "indicators_identical": same,
    }


def phase(args: argparse.Namespace) -> None:
    """Inside a child process: run one phase and print one JSON line."""
    started = time.perf_counter()
    if args.phase == "floor":
        from benchmarks.floor import run_floor

        imported = time.perf_counter()
        table = run_floor(args.root, workers=args.task_workers or 4)  # as many threads as the flow's tasks
        table.write_parquet(args.out)
        result = {}
    elif args.phase == "fixed":
        imported, result = run_empty_flow(started)
    else:
        from pledgeflow.run.flow import DEFAULT_TASK_WORKERS, with_task_runner

        imported = time.perf_counter()
        nightly = with_task_runner("threads", args.task_workers or DEFAULT_TASK_WORKERS)
        summary = nightly(root=str(args.root), full=args.full)
        result = {"status": summary.get("status"), "rows_read": summary.get("rows_read"),
                  "rows_quarantined": summary.get("rows_quarantined"), "files_reused": summary.get("files_reused")}
    print(json.dumps(result | {"import_s": round(imported - started, 2), "work_s": round(time.perf_counter() - imported, 2)}))


def run_empty_flow(started: float) -> tuple[float, dict]:
    """What every nightly run pays before its first step: a new interpreter (Prefect starts each deployment run
    in a spawned process), the flow module's imports, Great Expectations' import (the audit needs it) and a
    flow run's bookkeeping with the server."""
    import pledgeflow.run.flow  # noqa: F401 - the imports of the real flow: Prefect, polars, pandera, pledgeflow

    flow_imported = time.perf_counter()
    from pledgeflow.publish.audit import import_great_expectations

    import_great_expectations()
    gx_imported = time.perf_counter()
    from prefect import flow

    @flow(name="empty-nightly", persist_result=False)
    def empty() -> None:
        return None

    empty()
    return gx_imported, {"flow_import_s": round(flow_imported - started, 2), "gx_import_s": round(gx_imported - flow_imported, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="pledgeflow scale benchmark: pipeline vs polars floor")
    parser.add_argument("--rows", type=int, default=1_000_000, help="placement rows (cohorts and fairs follow)")
    parser.add_argument("--districts", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--incremental-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pledgeflow-bench"))
    parser.add_argument("--results", type=Path, help="write the figures here as JSON")
    parser.add_argument("--task-workers", type=int, help="threads for mapped tasks (default: the flow's, 4)")
    parser.add_argument("--memory-limit-gb", type=float, default=16.0, help="kill a phase whose process tree passes this")
    parser.add_argument("--phase", choices=["floor", "pipeline", "fixed"], help=argparse.SUPPRESS)
    parser.add_argument("root", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        phase(args)
        return
    results = benchmark(args)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
