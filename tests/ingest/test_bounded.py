"""Tests for bounded reading: the byte sniffer, the read budget and the memory-capped Excel child."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import pytest

from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.bounded import read_excel_bounded, stop_forkserver
from pledgeflow.ingest.limits import ReadLimits, read_limits
from pledgeflow.ingest.sniff import sniff_kind
from tests.adversarial import cases as C
from tests.conftest import REPO

WORKBOOK = REPO / "raw" / "placements" / "2020_채용실적.xlsx"


def sniff(data: bytes, name: str, limits: ReadLimits = ReadLimits()) -> str:
    return sniff_kind(io.BytesIO(data), name, len(data), "placements/x", limits)


def test_a_real_workbook_and_a_csv_are_recognised():
    assert sniff(WORKBOOK.read_bytes(), "a.xlsx") == "xlsx"
    assert sniff(C.csv_bytes([C.row(1)], "cp949"), "a.csv") == "csv"


@pytest.mark.parametrize(("data", "phrase"), [
    (C.ole2("EncryptionInfo", "EncryptedPackage"), "password protected"),
    (C.ole2("Workbook"), "97-2003"),
    (b"%PDF-1.4 ...", "PDF"),
    (C.zip_bytes({"a.txt": b"x"}), "not an Excel workbook"),
])
def test_what_no_reader_should_touch_is_refused_with_the_cause_and_the_fix(data, phrase):
    with pytest.raises(DeliveryError) as refused:
        sniff(data, "a.xlsx")
    assert phrase in refused.value.message_en
    assert refused.value.message_ko


def test_a_zip_bomb_is_refused_from_its_directory_before_inflating():
    bomb = C.zip_bomb(16 << 20)
    with pytest.raises(DeliveryError, match="once unzipped"):
        sniff(bomb, "a.xlsx", ReadLimits(max_uncompressed_bytes=8 << 20))
    assert sniff(bomb, "a.xlsx", ReadLimits(max_uncompressed_bytes=32 << 20)) == "xlsx"


def test_a_file_over_the_size_budget_is_refused_unread():
    with pytest.raises(DeliveryError, match="too large"):
        sniff(b"a,b\n" * 100, "a.csv", ReadLimits(max_file_bytes=100))


def test_the_excel_child_reads_within_budget_and_dies_alone_past_it():
    grid = read_excel_bounded(WORKBOOK, "placements/2020.xlsx", ReadLimits())
    assert grid.height > 10
    with pytest.raises(DeliveryError, match="memory budget"):
        read_excel_bounded(WORKBOOK, "placements/2020.xlsx", ReadLimits(max_memory_bytes=64 << 20))


def test_the_excel_child_is_bounded_in_time():
    with pytest.raises(DeliveryError, match="longer than 0 s"):
        read_excel_bounded(WORKBOOK, "placements/2020.xlsx", replace(ReadLimits(), max_seconds=0))


def test_limits_come_from_the_descriptor_then_the_environment(monkeypatch, catalog):
    descriptor = replace(catalog.descriptors["placements"], read_limits=(("max_cells", 1000),))
    assert read_limits(descriptor).max_cells == 1000
    monkeypatch.setenv("PLEDGEFLOW_READ_MAX_CELLS", "5")
    assert read_limits(descriptor).max_cells == 5
    assert read_limits(None).max_file_bytes == ReadLimits().max_file_bytes


def test_a_grid_past_the_cell_budget_is_a_file_level_failure(tmp_path, monkeypatch, catalog):
    from pledgeflow.ingest.read import read_delivery

    path = Path(tmp_path / "f.csv")
    path.write_bytes(C.csv_bytes([C.row(i) for i in range(50)]))
    monkeypatch.setenv("PLEDGEFLOW_READ_MAX_CELLS", "100")
    with pytest.raises(DeliveryError, match="too many cells"):
        read_delivery(path, catalog.descriptors["placements"], "placements/f.csv")


def test_the_fork_server_stops_after_reading_and_a_later_read_starts_a_new_one():
    import multiprocessing.forkserver

    read_excel_bounded(WORKBOOK, "placements/2020.xlsx", ReadLimits())
    server = multiprocessing.forkserver._forkserver._forkserver_pid
    assert server is not None and stop_forkserver()
    with pytest.raises(ProcessLookupError):  # gone (and reaped), not left holding its imports
        os.kill(server, 0)
    assert not stop_forkserver()  # nothing left to stop
    assert read_excel_bounded(WORKBOOK, "placements/2020.xlsx", ReadLimits()).height > 10
    assert multiprocessing.forkserver._forkserver._forkserver_pid not in (None, server)
