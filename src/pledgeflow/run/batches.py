"""Ingest batches: a task's worth of delivery files, so hundreds of small files do not cost a task run each.

A Prefect task run costs tens of milliseconds of orchestration; reading a small file costs less. Files are
grouped by the folder they arrived in under their dataset's folder (a district's `raw/<dataset>/<district>/…`)
and a group is split once it holds `BATCH_BYTES`; a big file still gets a task of its own. Each file of a
batch is still read, validated and cached on its own.
"""

from __future__ import annotations

BATCH_BYTES = 64 * 2**20


def batch_deliveries(deliveries: list[dict], batch_bytes: int = BATCH_BYTES) -> dict[str, list[dict]]:
    """Task name -> the deliveries (rows of `discover_deliveries`) it ingests, in file order.

    Names say what a batch holds: the district folder ("d01_종로구"), or for files directly under their
    dataset's folder, those datasets ("placements, training_cohorts"); a part number when a group is split.
    """
    folders: dict[str, list[dict]] = {}
    for delivery in sorted(deliveries, key=lambda d: d["source_file"]):
        folders.setdefault("/".join(delivery["source_file"].split("/")[1:-1]), []).append(delivery)
    batches: dict[str, list[dict]] = {}
    for folder, files in sorted(folders.items()):
        name = folder or ", ".join(sorted({d["dataset"] for d in files}))
        parts, size = [[]], 0
        for delivery in files:
            if parts[-1] and size + delivery["size_bytes"] > batch_bytes:
                parts.append([])
                size = 0
            parts[-1].append(delivery)
            size += delivery["size_bytes"]
        batches |= {name if len(parts) == 1 else f"{name} ({i}/{len(parts)})": part for i, part in enumerate(parts, 1)}
    return batches
