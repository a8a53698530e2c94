"""Read a workbook's grid in a child process that cannot exceed the read budget.

The Excel reader (calamine, through fastexcel) is native code: a hostile workbook can make it allocate
gigabytes before it fails, and a Python `try` cannot stop that. So the grid is read in a child process
whose address space is capped with `RLIMIT_AS` and whose wall time is bounded; if the child runs out of
either, it dies alone and the delivery becomes a file-level failure ("too large to read within the
memory budget"). Children are forked from a clean `forkserver` (no threads, polars and fastexcel already
imported), so a read costs a fork (~40 ms), not an interpreter start.
"""

from __future__ import annotations

import io
import multiprocessing
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import polars as pl

from pledgeflow.errors import DeliveryError
from pledgeflow.ingest.limits import ReadLimits, size_text
from pledgeflow.ingest.sniff import refused

PRELOAD = ["polars", "fastexcel", "pyarrow", "pledgeflow.ingest.read"]
_context = None


def forkserver():
    """The process context children are started from (created once per process)."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def stop_forkserver() -> bool:
    """Stop this process's fork server once its reading is done (a run's ingest step): it holds ~150 MB of imports
    the rest of the run never uses. A later workbook read starts a new one. Returns whether one was stopped."""
    import multiprocessing.forkserver

    server = multiprocessing.forkserver._forkserver
    # CPython's own stop (its tests use it); where it is missing the server simply stays until the process exits
    stop = getattr(server, "_stop", None)
    if _context is None or stop is None or getattr(server, "_forkserver_pid", None) is None:
        return False
    stop()
    return True


def read_excel_bounded(source: Path | io.BytesIO, source_file: str, limits: ReadLimits,
                       sheet_id: int = 1) -> pl.DataFrame | dict[str, pl.DataFrame]:
    """`read.read_excel_grid` (one sheet, or every sheet by name with `sheet_id=0`) within `limits.max_memory_bytes`
    and `limits.max_seconds`."""
    if not sys.platform.startswith("linux") or multiprocessing.current_process().daemon:
        # RLIMIT_AS is Linux's, and a daemonic process (a Dask worker) may not start children: there the byte checks
        # (size, zip directory, cells) stand alone and the worker's own memory limit bounds the read
        return read_grid(source, source_file, sheet_id)
    receiver, sender = forkserver().Pipe(duplex=False)
    child = forkserver().Process(target=read_in_child, args=(source, source_file, limits.max_memory_bytes, sender, sheet_id), daemon=True)
    child.start()
    sender.close()
    try:
        outcome = receiver.recv() if receiver.poll(limits.max_seconds) else ("timeout", None)
    except EOFError:  # the child died without a word: killed, or aborted on a failed allocation
        outcome = ("died", None)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    return grid_or_error(outcome, source_file, limits)


def grid_or_error(outcome: tuple, source_file: str, limits: ReadLimits) -> pl.DataFrame | dict[str, pl.DataFrame]:
    kind, payload = outcome
    if kind == "grid":
        return payload
    if kind == "error":
        raise payload
    if kind == "timeout":
        raise refused(source_file, f"읽는 데 {limits.max_seconds}초 넘게 걸립니다", f"reading it takes longer than {limits.max_seconds} s",
                      "파일을 기간별로 나누어 제출해 주세요", "split it into smaller deliveries (e.g. by period)")
    raise refused(source_file, f"읽는 데 메모리 한도({size_text(limits.max_memory_bytes)})보다 많이 필요합니다",
                  f"reading it needs more than the memory budget ({size_text(limits.max_memory_bytes)})",
                  "파일을 기간별로 나누거나, Excel에서 열어 .xlsx로 다시 저장해 주세요",
                  "split it into smaller deliveries, or open it in Excel and save it again as .xlsx")


def read_in_child(source: Path | io.BytesIO, source_file: str, max_memory_bytes: int, sender: Connection,
                  sheet_id: int = 1) -> None:
    """The child's work: cap the address space, read, send the grid (or the person-readable error) back."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (max_memory_bytes, max_memory_bytes))
    try:
        sender.send(("grid", read_grid(source, source_file, sheet_id)))
    except DeliveryError as error:
        sender.send(("error", error))
    except MemoryError:
        sender.send(("died", None))
    finally:
        sender.close()


def read_grid(source: Path | io.BytesIO, source_file: str, sheet_id: int = 1) -> pl.DataFrame | dict[str, pl.DataFrame]:
    from pledgeflow.ingest.read import read_excel_grid  # read.py calls this module: import at use

    return read_excel_grid(source, source_file, sheet_id=sheet_id)
