"""Tests for discovery: every file under a dataset folder is a delivery or a skipped file with its reason."""

from __future__ import annotations

import os

import polars as pl

from pledgeflow.ingest.discover import discover_deliveries, discover_skipped, list_delivery_files
from tests.adversarial import cases as C


def plant(root, relative, data=b"x"):
    path = root / "raw" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_files_that_are_not_deliveries_are_listed_with_their_reason(tmp_path, catalog):
    good = plant(tmp_path, "placements/a.csv", C.csv_bytes([C.row(1)]))
    plant(tmp_path, "placements/.hidden.csv")
    plant(tmp_path, "placements/~$lock.xlsx")
    plant(tmp_path, "placements/notes.txt")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_bytes(b"secret")
    os.symlink(outside, tmp_path / "raw" / "placements" / "out.csv")
    os.symlink(tmp_path / "missing.csv", tmp_path / "raw" / "placements" / "gone.csv")
    os.symlink(good, tmp_path / "raw" / "placements" / "inside.csv")
    skipped = discover_skipped(tmp_path / "raw", catalog)
    reasons = dict(zip(skipped["source_file"], skipped["reason"]))
    assert reasons == {"placements/.hidden.csv": "hidden", "placements/~$lock.xlsx": "lock_file",
                       "placements/notes.txt": "unsupported_type", "placements/out.csv": "link_outside_project",
                       "placements/gone.csv": "dangling_link"}
    assert skipped["message_en"].str.len_chars().min() > 0
    deliveries = discover_deliveries(tmp_path / "raw", catalog)
    assert deliveries["source_file"].to_list() == ["placements/a.csv", "placements/inside.csv"]
    assert [p.name for p in list_delivery_files(tmp_path / "raw" / "placements", catalog.descriptors["placements"])] == \
        ["a.csv", "inside.csv"]


def test_file_names_are_masked_and_kept_apart(tmp_path, catalog):
    plant(tmp_path, f"placements/홍길동_{C.RRN}.csv")
    plant(tmp_path, "placements/홍길동_900101-1234567.csv")
    deliveries = discover_deliveries(tmp_path / "raw", catalog)
    names = deliveries["source_file"].to_list()
    assert names == ["placements/홍길동_******-*******.csv", "placements/홍길동_******-*******.csv#2"]
    assert deliveries["path"].str.contains(C.RRN, literal=True).any()  # only the path on disk keeps the name


def test_a_file_the_system_will_not_read_stays_a_delivery(tmp_path, catalog, monkeypatch):
    import pathlib

    plant(tmp_path, "placements/locked.csv", b"a,b")
    real_open = pathlib.Path.open

    def denied(self, *args, **kwargs):
        if self.name == "locked.csv":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", denied)
    deliveries = discover_deliveries(tmp_path / "raw", catalog)
    assert deliveries.filter(pl.col("source_file") == "placements/locked.csv")["sha256"].item().startswith("unreadable:")
