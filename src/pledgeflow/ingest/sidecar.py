"""Delivery sidecars: what a district says about a file that the export itself cannot carry.

A sidecar is a small YAML file, `<file>.meta.yaml` next to the delivery or `_delivery.yaml` in its folder
(the file's own sidecar wins). It is written by the person who delivers, never by the pipeline:

    delivered_by: 영등포구 일자리정책과
    delivered_on: 2021-01-15
    district: 영등포구
    pledge: "15"
    defaults:                  # a value for every row, for columns the file does not have
      세부사업: 중장년 일자리     # a column's Korean label, alias or canonical name

A default fills a column only when the file has no such column: a file that has it keeps its own cells,
blanks included. The manifest lists the defaults applied, and a failure on a defaulted column says
the value came from the sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from pledgeflow import storage
from pledgeflow.catalog import Descriptor, normalise_label
from pledgeflow.errors import DeliveryError

FOLDER_SIDECAR = "_delivery.yaml"
FILE_SIDECAR_SUFFIX = ".meta.yaml"
FACTS = ("delivered_by", "delivered_on", "district", "pledge")


@dataclass(frozen=True)
class Sidecar:
    """A sidecar's content: defaults by canonical column name and the facts about the delivery."""

    name: str  # the sidecar's file name, as a steward finds it next to the delivery
    defaults: dict[str, str] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)


def sidecar_paths(path: Path | str) -> list[str]:
    """Where a delivery's sidecar may be, most specific first."""
    text = str(path)
    parent = text.rsplit("/", 1)[0] if "/" in text else "."
    return [text + FILE_SIDECAR_SUFFIX, f"{parent}/{FOLDER_SIDECAR}"]


def find_sidecar(path: Path | str) -> str | None:
    return next((p for p in sidecar_paths(path) if storage_exists(p)), None)


def storage_exists(path: str) -> bool:
    if storage.is_remote(path):
        try:
            storage.file_size(path)
        except (OSError, FileNotFoundError):
            return False
        return True
    return Path(path).is_file()


def sidecar_bytes(path: Path | str) -> bytes:
    """The sidecar's bytes (empty when there is none): part of a delivery's cache key."""
    found = find_sidecar(path)
    return storage.read_bytes(found) if found else b""


def load_sidecar(path: Path | str, descriptor: Descriptor, source_file: str) -> Sidecar | None:
    """The sidecar that applies to the delivery at `path`, or None; a malformed one is a DeliveryError."""
    found = find_sidecar(path)
    if found is None:
        return None
    name = PurePosixPath(found).name
    try:
        raw = yaml.safe_load(storage.read_bytes(found).decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        raise sidecar_error(source_file, name, "YAML로 읽을 수 없습니다", "is not readable YAML") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("defaults", {}), dict):
        raise sidecar_error(source_file, name, "형식이 맞지 않습니다(defaults는 '열: 값' 목록)", "has the wrong shape (defaults is a 'column: value' map)")
    aliases = descriptor.header_aliases
    defaults = {}
    for label, value in raw.get("defaults", {}).items():
        column = aliases.get(normalise_label(str(label)))
        if column is None:
            raise sidecar_error(source_file, name, f"'{label}' 열을 알 수 없습니다", f"names an unknown column '{label}'")
        defaults[column] = str(value)
    facts = {k: str(raw[k]) for k in FACTS if raw.get(k) is not None}
    return Sidecar(name=name, defaults=defaults, facts=facts)


def sidecar_error(source_file: str, name: str, problem_ko: str, problem_en: str) -> DeliveryError:
    return DeliveryError(
        source_file,
        f"납품 정보 파일 {name}이(가) {problem_ko}. 파일을 고치거나 지워 주세요(schemas/FORMATS.md 참고).",
        f"The delivery sidecar {name} {problem_en}. Fix or remove it (see schemas/FORMATS.md).",
    )
