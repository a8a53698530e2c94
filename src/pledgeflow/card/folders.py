"""Which folders under `raw/reported/` are cards, and which pledge a card in its own folder belongs to.

A card folder is named after its pledge's id (`raw/reported/d07-2018-15/`); its index's 공약번호 decides only where
one pledge of the catalog has that number. A folder whose name is no pledge id, among pledges sharing a number
(every district has a pledge 15), is refused with what it is called, what the catalog has and the nearest id.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import polars as pl

from pledgeflow.catalog import Catalog
from pledgeflow.errors import ReportError

INDEX_FILE = "_tables.csv"


def card_folders(reported_dir: Path) -> list[Path]:
    """`reported/` itself when it holds an index, then every sub-folder that does, sorted."""
    root = [reported_dir] if (reported_dir / INDEX_FILE).is_file() or not reported_dir.is_dir() else []
    subfolders = sorted(d for d in reported_dir.iterdir() if d.is_dir() and (d / INDEX_FILE).is_file()) if reported_dir.is_dir() else []
    return root + subfolders


def folder_pledge(folder: Path, reported_dir: Path, catalog: Catalog) -> str | None:
    """The pledge a card's folder names (None for `reported/` itself, whose index's 공약번호 decides)."""
    ids = [p["pledge_id"] for p in catalog.pledges]
    return folder.name if folder != reported_dir and folder.name in ids else None


def check_owner(folder: Path, reported_dir: Path, index: pl.DataFrame, catalog: Catalog, prefix: str) -> None:
    """Refuse a card folder named after no pledge whose index's 공약번호 names no pledge, or several."""
    if folder == reported_dir or folder_pledge(folder, reported_dir, catalog) is not None:
        return
    numbers = sorted(set(index["pledge_no"].drop_nulls().to_list()))
    owners = sorted(p["pledge_id"] for p in catalog.pledges if p.get("pledge_no") is not None and int(p["pledge_no"]) in numbers)
    if len(owners) == 1:
        return
    # the likeliest owner: a pledge of that number whose card has no folder yet, else the nearest id by spelling
    orphans = [o for o in owners if not (reported_dir / o / INDEX_FILE).is_file()]
    nearest = orphans or difflib.get_close_matches(folder.name, [p["pledge_id"] for p in catalog.pledges], n=1)
    hint_ko = f" 혹시 {', '.join(nearest[:3])} 인가요?" if nearest else ""
    hint_en = f" Did you mean {' or '.join(nearest[:3])}?" if nearest else ""
    listed = ", ".join(owners[:5]) + (" …" if len(owners) > 5 else "")
    said = ", ".join(str(n) for n in numbers) or "(없음 / none)"
    found_ko = f"공약번호 {said}인 공약이 {len(owners)}개({listed})입니다" if owners else f"공약번호 {said}인 공약이 카탈로그에 없습니다"
    found_en = f"공약번호 {said} belongs to {len(owners)} pledges ({listed})" if owners else f"no pledge of the catalog has 공약번호 {said}"
    raise ReportError(
        f"{prefix}/{INDEX_FILE}",
        f"폴더 이름 {folder.name!r}은(는) 카탈로그의 공약 ID가 아니고, {found_ko}. 폴더 이름을 이 카드의 공약 ID로 바꾸세요.{hint_ko}",
        f"The folder name {folder.name!r} is no pledge id of the catalog, and {found_en}. Name the folder after this "
        f"card's pledge id.{hint_en}",
    )
