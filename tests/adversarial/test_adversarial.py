"""The adversarial suite: hostile deliveries, ledgers, registers and states, each with its expected outcome.

Per case: the run's outcome (published, or the exit code it must end with), the failure rule or skip
reason of what was planted, zero lost rows (data rows counted from the bytes, compared with the
manifest) and zero leaks (every byte under curated/ and state/ searched for the planted numbers in
every spelling). Hostile files, ledger rows and register figures are planted side by side into one
project and published once, without Prefect; states get a project each; kills and the real command
line run in subprocesses and are marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from pledgeflow.errors import NotPublished, RunLocked, exit_code_of
from pledgeflow.privacy import mask_text
from tests.adversarial import cases as C
from tests.conftest import REPO, copy_project, make_project, publish_project

DELIVERY_CASES = C.delivery_cases()
LEDGER_CASES = C.ledger_cases()
REGISTER_CASES = C.register_cases()
# budgets small enough for the planted bomb, large enough for every honest file
BUDGET = {"PLEDGEFLOW_READ_MAX_UNCOMPRESSED_BYTES": str(32 << 20), "PLEDGEFLOW_READ_MAX_MEMORY_BYTES": str(3 << 30)}


def published_run(root: Path) -> dict:
    """Publish the project without Prefect; what became of it (verdict, manifest, tables)."""
    try:
        publish_project(root)
        error = None
    except Exception as failed:  # noqa: BLE001 — the outcome is what the test asserts
        error = failed
    current = root / "curated" / "current"
    manifests = sorted((root / "state" / "runs").glob("run-*/manifest.json"))
    return {
        "root": root, "error": error, "exit_code": exit_code_of(error),
        "manifest": json.loads(manifests[-1].read_text(encoding="utf-8")) if manifests and error is None else None,
        "tables": {p.stem: pl.read_parquet(p) for p in current.glob("*.parquet")} if current.exists() else {},
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """One project holding every hostile delivery, ledger row and register figure, published once."""
    root = copy_project(tmp_path_factory.mktemp("hostile") / "project")
    for case in DELIVERY_CASES + LEDGER_CASES + REGISTER_CASES:
        if case.kind not in ("ledger", "register"):
            case.plant(root)
    C.plant_ledger(root)
    C.plant_register(root)
    saved = {name: os.environ.get(name) for name in BUDGET}
    os.environ.update(BUDGET)
    try:
        outcome = published_run(root)
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    outcome["leaks"] = C.leaks_in(root / "curated") + C.leaks_in(root / "state")
    return outcome


def test_the_hostile_project_publishes_with_warnings(hostile):
    assert hostile["error"] is None, f"{type(hostile['error']).__name__}: {hostile['error']}"
    assert hostile["exit_code"] == 0
    runs = hostile["tables"]["runs"]
    assert runs.row(-1, named=True)["status"] == "completed_with_warnings"
    assert "skipped" in runs.row(-1, named=True)["message"]


def test_no_planted_number_leaks_anywhere(hostile):
    assert hostile["leaks"] == []


def test_every_file_under_a_dataset_folder_is_read_or_listed_as_skipped(hostile):
    project = make_project(hostile["root"])
    counted = {r["source_file"] for r in hostile["manifest"]["file_counts"]}
    skipped = {r["source_file"] for r in hostile["manifest"]["extra"]["skipped_files"]}
    raw = hostile["root"] / "raw"
    for descriptor in project.catalog.descriptors.values():
        for directory, subdirs, files in os.walk(raw / descriptor.folder):
            for name in [*files, *subdirs]:
                path = Path(directory) / name
                if path.is_dir() and not path.is_symlink() and not name.startswith("."):
                    continue  # a plain folder: its files are checked
                relative = mask_text(path.relative_to(raw).as_posix())
                inside_hidden = any(p.startswith(".") for p in path.relative_to(raw).parts[:-1])
                assert relative in counted or relative in skipped or inside_hidden, relative


@pytest.mark.parametrize("case", DELIVERY_CASES, ids=lambda c: c.name)
def test_delivery_case(case, hostile):
    assert hostile["error"] is None
    manifest, failures = hostile["manifest"], hostile["tables"]["validation_failures"]
    counts = {r["source_file"]: r for r in manifest["file_counts"]}
    skipped = {r["source_file"]: r["reason"] for r in manifest["extra"]["skipped_files"]}
    project = make_project(hostile["root"])
    for relative in case.files:
        name = mask_text(relative)
        assert C.LEAKS[0].search(name) is None and C.LEAKS[1].search(name) is None
        if case.skipped:
            assert skipped.get(name) == case.skipped, (name, skipped)
            continue
        assert name in counts, f"{name} neither read nor skipped"
        mine = failures.filter(pl.col("source_file") == name)
        if case.rule:
            assert case.rule in mine["rule"].to_list(), mine.select("rule", "message_en")
        if case.message:
            assert mine["message_en"].str.contains(case.message, literal=True).any(), mine["message_en"].to_list()
        count = counts[name]
        if count["file_error"] is None:  # read: every data row counted, none lost
            labels = C.header_labels(project.catalog.descriptors[relative.split("/")[0]])
            assert count["rows_read"] == C.count_data_rows(hostile["root"] / "raw" / relative, labels)
            assert count["rows_read"] == count["rows_valid"] + count["rows_quarantined"] + count["rows_excluded"]
        else:  # refused as a whole: a file-level failure says so, nothing is counted as read
            assert "file_unreadable" in mine["rule"].to_list()
            assert count["rows_read"] == 0


@pytest.mark.parametrize("case", LEDGER_CASES, ids=lambda c: c.name)
def test_ledger_case_never_blocks_and_is_reported(case, hostile):
    assert hostile["error"] is None
    decisions = hostile["tables"]["decisions"]
    if case.name in C.LEDGER_ROWS:
        decision_id = C.LEDGER_ROWS[case.name][0]
        mine = decisions.filter(pl.col("decision_id") == decision_id)
        assert mine.height >= 1
        assert set(mine["outcome"]) <= {"invalid", "stale_no_match"}
        assert mine["message_en"].str.len_chars().min() > 0
    elif case.name == "ledger_other_encoding":
        unreadable = decisions.filter(pl.col("ledger_file").str.ends_with("utf16.csv"))
        assert unreadable["outcome"].to_list() == ["invalid"]
    assert C.leaks_in(hostile["root"] / "curated") == []


@pytest.mark.parametrize("name", ["ledger_unknown_action", "ledger_bad_expiry", "ledger_unknown_dataset",
                                  "ledger_bad_timestamp"])
def test_an_invalid_ledger_row_is_published_invalid(name, hostile):
    mine = hostile["tables"]["decisions"].filter(pl.col("decision_id") == C.LEDGER_ROWS[name][0])
    assert mine["outcome"].to_list() == ["invalid"]


@pytest.mark.parametrize("case", REGISTER_CASES, ids=lambda c: c.name)
def test_register_case_is_kept_and_flagged(case, hostile):
    assert hostile["error"] is None
    reconciliation = hostile["tables"]["reconciliation"]
    text, status = {"register_negative_rate": ("'-5%'", "malformed"), "register_absurd_rate": ("250", "mismatch"),
                    "register_malformed_target": ("일백", "malformed")}[case.name]
    flagged = reconciliation.filter(pl.col("message_en").str.contains(text, literal=True))
    assert status in flagged["status"].to_list(), flagged.select("kind", "status", "message_en")


# ---- states: each case in a project of its own ----------------------------------------------------------


@pytest.fixture(scope="module")
def published_once(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("published") / "project")
    publish_project(root)
    return root


@pytest.fixture
def published(tmp_path, published_once):
    """A project published once, copied for each test (its `current` link is relative and survives the copy)."""
    return Path(shutil.copytree(published_once, tmp_path / "project", symlinks=True))


def test_a_version_on_disk_missing_from_the_history_does_not_block_the_next_run(published):
    (published / "state" / "runs.parquet").unlink()  # killed after promote, before the history was written
    for manifest in (published / "state" / "runs").glob("*"):
        import shutil

        shutil.rmtree(manifest)
    publish_project(published)
    runs = pl.read_parquet(published / "state" / "runs.parquet")
    assert runs["run_number"].to_list() == [1, 2]
    assert os.readlink(published / "curated" / "current") == "versions/v000002"


def test_a_damaged_history_file_is_rebuilt_from_the_current_version(published):
    (published / "state" / "runs.parquet").write_bytes(b"PAR1 not really")
    publish_project(published)
    assert pl.read_parquet(published / "state" / "runs.parquet")["run_number"].to_list() == [1, 2]


def test_leftover_staging_is_cleared_and_numbered_past(published):
    leftover = published / "curated" / ".staging" / "v000007"
    leftover.mkdir(parents=True)
    (leftover / "indicators.parquet").write_bytes(b"half written")
    (published / "curated" / "versions" / "v000005").mkdir()  # a version some crash left unrecorded
    publish_project(published)
    assert not leftover.exists()
    assert os.readlink(published / "curated" / "current") == "versions/v000006"


def test_disk_full_while_publishing_fails_plainly_and_the_next_run_recovers(published, monkeypatch):
    from pledgeflow.publish import staging

    def full(frame, path, *rest):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(staging, "write_table_parquet", full)
        with pytest.raises(OSError):
            publish_project(published)
    assert exit_code_of(OSError(28, "x")) == 1
    assert os.readlink(published / "curated" / "current") == "versions/v000001"
    publish_project(published)
    current = os.readlink(published / "curated" / "current")
    assert current != "versions/v000001" and pl.read_parquet(published / "curated" / "current" / "runs.parquet").height


def test_two_runs_at_once_the_second_is_locked_out(tmp_path):
    from pledgeflow.run.lock import run_lock

    held, release = threading.Event(), threading.Event()

    def first():
        with run_lock(tmp_path):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(10)
    try:
        with pytest.raises(RunLocked) as locked:
            with run_lock(tmp_path):
                pass
        assert exit_code_of(locked.value) == 5 and isinstance(locked.value, NotPublished)
    finally:
        release.set()
        thread.join()


def test_a_swapped_or_damaged_cache_entry_is_rebuilt(tmp_path):
    from pledgeflow import ingest
    from pledgeflow.ingest import cache

    root = copy_project(tmp_path / "project")
    project = make_project(root)
    deliveries = ingest.discover_deliveries(project.settings.raw_dir, project.catalog)
    context = cache.project_context(project)
    keys = [ingest.ingest_cached(d, project, context)[1] for d in deliveries.to_dicts()]
    folder = cache.cache_dir(project)
    first, second, third = (folder / k for k in keys[:3])
    (first / "valid.parquet").write_bytes((second / "valid.parquet").read_bytes())  # readable, wrong rows/schema
    meta = json.loads((third / "meta.json").read_text(encoding="utf-8"))
    (third / "meta.json").write_text(json.dumps({**meta, "rows_read": 999}), encoding="utf-8")
    (folder / keys[3] / "failures.parquet").write_bytes(b"garbage")
    unchanged = cache.load_unchanged(deliveries, project, context)
    assert len(unchanged) == len(keys) - 2  # the swapped file and the damaged one; meta counts are not sealed
    rebuilt = ingest.ingest_cached(deliveries.row(0, named=True), project, context, refresh=True)[0]
    assert cache.load_result(folder, keys[0]) is not None
    assert rebuilt.counts["rows_read"] == cache.load_result(folder, keys[0]).rows_read


def test_an_unreadable_file_is_a_file_level_failure(tmp_path, monkeypatch):
    """Permission denied (simulated: the tests run as root, who may read anything)."""
    import pathlib

    root = copy_project(tmp_path / "project")
    C.put("placements/잠김.csv", C.csv_bytes([C.row(1)]))(root)
    real_open = pathlib.Path.open

    def denied(self, *args, **kwargs):
        if self.name == "잠김.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", denied)
    outcome = published_run(root)
    assert outcome["error"] is None
    failures = outcome["tables"]["validation_failures"].filter(pl.col("source_file") == "placements/잠김.csv")
    assert failures["rule"].to_list() == ["file_unreadable"]
    assert "permission denied" in failures["message_en"].item()


# ---- kills and the real command line (subprocesses: slow) -------------------------------------------------

CRASH_STEPS = ("staged", "audited", "promoted", "switched", "published", "recorded")
STAGES = (
    "import sys; from pathlib import Path; sys.path.insert(0, {repo!r}); "
    "from tests.conftest import publish_project; publish_project(Path({root!r}))"
)


@pytest.mark.slow
@pytest.mark.parametrize("step", CRASH_STEPS)
def test_a_kill_at_each_publish_step_heals_on_the_next_run(step, published):
    code = STAGES.format(repo=str(REPO), root=str(published))
    killed = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PLEDGEFLOW_CRASH_AT": step},
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert pl.read_parquet(published / "curated" / "current" / "indicators.parquet").height  # still readable
    publish_project(published)  # the next run, on its own
    current = os.readlink(published / "curated" / "current")
    runs = pl.read_parquet(published / "state" / "runs.parquet")
    assert runs["run_number"].is_unique().all()
    assert current == f"versions/v{runs['run_number'].max():06d}"
    published_runs = pl.read_parquet(published / "curated" / "current" / "runs.parquet")
    assert published_runs["run_number"].max() == runs["run_number"].max()
    assert not (published / "curated" / ".staging").exists() or not any((published / "curated" / ".staging").iterdir())


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pledgeflow.cli", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.mark.slow
def test_cli_validate_an_encrypted_workbook_is_one_plain_line(tmp_path):
    path = tmp_path / "placements" / f"홍길동_{C.RRN}.xlsx"
    path.parent.mkdir()
    path.write_bytes(C.ole2("EncryptionInfo", "EncryptedPackage"))
    done = cli("validate", str(path), "--root", str(REPO))
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "Traceback" not in output and "password" in output
    assert not any(pattern.search(output) for pattern in C.LEAKS)


@pytest.mark.slow
def test_cli_run_on_hostile_deliveries_publishes_without_traceback_or_leak(tmp_path):
    root = copy_project(tmp_path / "project")
    for case in DELIVERY_CASES:
        if case.kind in ("privacy", "bounded") and case.name != "zip_bomb":
            case.plant(root)
    C.plant_ledger(root)
    done = cli("run", "--root", str(root), env={"PREFECT_HOME": str(tmp_path / "prefect")})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    assert not any(pattern.search(output) for pattern in C.LEAKS)
    assert C.leaks_in(root / "curated") + C.leaks_in(root / "state") + C.leaks_in(tmp_path / "prefect") == []


@pytest.mark.slow
def test_cli_run_blocked_by_an_unreadable_register_exits_3_without_traceback(tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    root = copy_project(tmp_path / "project")
    (root / "raw" / "reported" / "targets.csv").write_text("아무것도,없음\n1,2\n", encoding="utf-8")
    done = cli("run", "--root", str(root), env={"PREFECT_API_URL": PREFECT_API_URL.value()})  # the session's server
    assert done.returncode == 3, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
