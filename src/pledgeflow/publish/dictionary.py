"""The curated tables' data dictionary, generated from their contracts (`schemas/curated/*.schema.yaml`).

One source, three renderings for the dashboard developer: column descriptions as parquet field
metadata and as DuckDB `COMMENT`s (written by `pledgeflow.publish.version`), and `data_dictionary.md`
plus a self-contained `data_dictionary.html` (no CDN: it must open offline) in every version.
Everything here derives from the YAML only, so the files are the same bytes for the same contracts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import yaml

from pledgeflow.contracts import CONTRACT_SUFFIX, describe_contract

DICTIONARY_MD = "data_dictionary.md"
DICTIONARY_HTML = "data_dictionary.html"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    nullable: bool
    description: str
    allowed: tuple[str, ...]  # the contract's isin values, if any


@dataclass(frozen=True)
class TableDoc:
    name: str
    description: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...]  # the table's key


def describe_table(path: Path) -> TableDoc:
    """One contract as documentation: its description, key and columns in contract order."""
    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    described = describe_contract(path)
    columns = tuple(
        Column(name, str(column["dtype"]), bool(column.get("nullable", False)), described[name],
               tuple(str(v) for v in column.get("isin") or ()))
        for name, column in spec["columns"].items()
    )
    unique = spec.get("unique") or ()
    return TableDoc(path.name.removesuffix(CONTRACT_SUFFIX), str(spec.get("description") or ""), columns,
                    tuple([unique] if isinstance(unique, str) else unique))


def load_dictionary(contracts_dir: Path) -> dict[str, TableDoc]:
    """table -> its documentation, for every contract of `contracts_dir` (schemas/curated)."""
    return {doc.name: doc for doc in map(describe_table, sorted(Path(contracts_dir).glob(f"*{CONTRACT_SUFFIX}")))}


def dictionary_markdown(docs: dict[str, TableDoc]) -> str:
    lines = ["# pledgeflow curated tables: data dictionary", "",
             "Generated from schemas/curated/*.schema.yaml. Each table is a parquet file of this version and a table",
             "of pledgeflow.duckdb (with these descriptions as COMMENTs and as parquet field metadata).", ""]
    for doc in docs.values():
        lines += [f"## {doc.name}", "", doc.description, ""]
        if doc.unique:
            lines += [f"Key: {', '.join(doc.unique)}", ""]
        lines += ["| column | type | nullable | description | values |", "|---|---|---|---|---|"]
        lines += [f"| {c.name} | {c.dtype} | {'yes' if c.nullable else 'no'} | {cell(c.description)} | "
                  f"{cell(', '.join(c.allowed))} |" for c in doc.columns]
        lines.append("")
    return "\n".join(lines)


def dictionary_html(docs: dict[str, TableDoc]) -> str:
    """The dictionary as one offline HTML page (inline style, no scripts)."""
    esc = html.escape
    toc = "".join(f'<li><a href="#{esc(name)}">{esc(name)}</a></li>' for name in docs)
    sections = []
    for doc in docs.values():
        rows = "".join(
            f"<tr><td><code>{esc(c.name)}</code></td><td>{esc(c.dtype)}</td><td>{'yes' if c.nullable else 'no'}</td>"
            f"<td>{esc(c.description)}</td><td>{esc(', '.join(c.allowed))}</td></tr>" for c in doc.columns)
        key = f"<p>Key: <code>{esc(', '.join(doc.unique))}</code></p>" if doc.unique else ""
        sections.append(f'<h2 id="{esc(doc.name)}">{esc(doc.name)}</h2><p>{esc(doc.description)}</p>{key}'
                        "<table><tr><th>column</th><th>type</th><th>nullable</th><th>description</th><th>values</th></tr>"
                        f"{rows}</table>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eee}")
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pledgeflow data dictionary</title>'
            f"<style>{style}</style></head><body><h1>pledgeflow curated tables: data dictionary</h1>"
            f"<ul>{toc}</ul>{''.join(sections)}</body></html>\n")


def write_dictionary(folder: Path, docs: dict[str, TableDoc]) -> None:
    (folder / DICTIONARY_MD).write_text(dictionary_markdown(docs), encoding="utf-8")
    (folder / DICTIONARY_HTML).write_text(dictionary_html(docs), encoding="utf-8")


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
