"""Reading `schemas/catalog.yaml` with the line of every mapping, and the catalog's `Issue`s and refusal.

A person edits this file by hand: a syntax error, an impossible date or a top level that is not a mapping is
refused with its line (CatalogError, exit 3), never a parser's traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pledgeflow.errors import CatalogError


@dataclass(frozen=True)
class Issue:
    """One problem of the configuration: where, what (ko/en), and whether it blocks a run."""

    source: str
    line: int | None
    message_ko: str
    message_en: str
    severity: str = "error"  # error (blocks the run) | warning

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: [{self.severity}] {self.message_ko} / {self.message_en}"


class LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping it builds (`LineLoader.lines[id(mapping)]`)."""


def _mapping_with_line(loader: LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    loader.lines[id(mapping)] = node.start_mark.line + 1
    return mapping


def _date_with_line(loader: LineLoader, node: yaml.ScalarNode):
    # YAML reads 2023-09-31 as a date and fails with a bare ValueError: give it the line a person needs
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as error:
        raise yaml.constructor.ConstructorError(None, None, f"'{node.value}' is not a date ({error})", node.start_mark) from None


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_with_line)


def read_yaml_with_lines(path: Path) -> tuple[dict, dict[int, int]]:
    loader = LineLoader(Path(path).read_text(encoding="utf-8"))
    loader.lines = {}
    try:
        return loader.get_single_data(), loader.lines
    finally:
        loader.dispose()


def read_catalog_yaml(path: Path, source: str) -> tuple[dict, dict[int, int]]:
    """The catalog's mapping and its lines; a syntax error or another top-level shape is refused with its line."""
    try:
        raw, lines = read_yaml_with_lines(path)
    except yaml.YAMLError as error:
        mark, opened = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
        line = (mark or opened).line + 1 if (mark or opened) else None
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        if opened and getattr(error, "context", None):  # an unclosed bracket or quote: say where it opened
            problem += f"; {error.context} from line {opened.line + 1}"
        if isinstance(error, yaml.constructor.ConstructorError):
            refuse(Issue(source, line, f"값을 읽을 수 없습니다({problem}): 날짜는 실제 있는 날짜를 YYYY-MM-DD로 쓰세요",
                         f"a value cannot be read ({problem}): write dates as days that exist, YYYY-MM-DD"))
        refuse(Issue(source, line, f"YAML 문법 오류({problem}): 들여쓰기, 콜론, 괄호와 따옴표를 확인하세요",
                     f"YAML syntax error ({problem}): check the indentation, colons, brackets and quotes"))
    if not isinstance(raw, dict):
        refuse(Issue(source, 1, "카탈로그 파일의 최상위가 키: 값 목록(매핑)이 아닙니다",
                     "the catalog file's top level is not a mapping of keys to values"))
    return raw, lines


def refuse(*errors: Issue) -> None:
    """CatalogError listing the errors (at most ten in the message; all of them in `issues`)."""
    # the messages are sentences; joined, their own full stops would double the one that ends the list
    detail_ko = "; ".join((f"{i.line}행: " if i.line else "") + i.message_ko.rstrip(".") for i in errors[:10])
    detail_en = "; ".join((f"line {i.line}: " if i.line else "") + i.message_en.rstrip(".") for i in errors[:10])
    raise CatalogError(errors[0].source, f"카탈로그 오류 {len(errors)}건 — {detail_ko}. `pledgeflow catalog check`로 확인하세요.",
                       f"{len(errors)} catalog error(s) — {detail_en}. Run `pledgeflow catalog check`.", tuple(errors))
