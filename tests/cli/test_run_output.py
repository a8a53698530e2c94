"""What `pledgeflow run` prints of the published indicators: one pledge in full, many pledges one line per cell."""

from __future__ import annotations

import os
from types import SimpleNamespace

import polars as pl

from pledgeflow.cli.common import console
from pledgeflow.cli.run_output import print_indicators
from tests.conftest import CURATED


def publish_indicators(tmp_path, pledges: int, indicators: int):
    """curated/current -> a version holding only an indicators table: each pledge's cells over three periods."""
    periods = [("2019", 1, "met"), ("2020", 2, "below_target"), ("2021", 3, "not_started")]
    rows = [{"pledge_id": f"p{p}", "subproject_id": f"s{p}", "indicator_id": f"i{i}", "period": name, "period_order": order,
             "status": status, "actual": 10 * order, "cumulative_actual": 10 * order}
            for p in range(pledges) for i in range(indicators) for name, order, status in periods]
    frame = pl.DataFrame(rows).with_columns(pl.lit(None).alias(c) for c in CURATED["indicators"] if c not in rows[0])
    version = tmp_path / "curated" / "versions" / "v000001"
    version.mkdir(parents=True)
    frame.select(list(CURATED["indicators"])).cast(CURATED["indicators"]).write_parquet(version / "indicators.parquet")
    os.symlink(version, tmp_path / "curated" / "current")
    return SimpleNamespace(curated_dir=tmp_path / "curated")


def printed(settings) -> str:
    width, console.width = console.width, 250  # a terminal wide enough that no header folds
    try:
        with console.capture() as captured:
            print_indicators(settings)
    finally:
        console.width = width
    return captured.get()


def test_one_pledge_prints_every_period_without_pledge_or_indicator_columns(tmp_path):
    text = printed(publish_indicators(tmp_path, pledges=1, indicators=1))
    assert "pledge" not in text and "indicator" not in text and "2021" in text and "not_started" in text
    assert text.count("s0") == 3


def test_many_pledges_print_each_cells_latest_started_period_with_its_pledge_and_indicator(tmp_path):
    text = printed(publish_indicators(tmp_path, pledges=4, indicators=2))
    assert "latest started period of 8 cells" in text and "indicator" in text and "pledge" in text
    assert "not_started" not in text and "2021" not in text and text.count("below_target") == 8
