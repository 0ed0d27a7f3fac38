"""Turn the pure tables of ``policy.explain`` (and reports) into terminal tables, Markdown or JSON.

Every title, header, cell and note is printed as it is (never as rich markup or emoji codes): they
hold names from the policy file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from casewarden.policy.explain import Table
from casewarden.sync.terminal import cell, say


def tables_as_json(tables: Sequence[Table]) -> list[dict[str, Any]]:
    return [
        {
            "title": t.title,
            "notes": list(t.notes),
            "rows": [dict(zip(t.columns, row, strict=True)) for row in t.rows],
        }
        for t in tables
    ]


def render_tables(tables: Sequence[Table], fmt: str, console: Console) -> None:
    if fmt == "json":
        console.print_json(json.dumps(tables_as_json(tables)))
        return
    if fmt == "markdown":
        out: list[str] = []
        for t in tables:
            out.append(f"## {t.title}\n")
            out.append("| " + " | ".join(t.columns) + " |")
            out.append("|" + "---|" * len(t.columns))
            for row in t.rows:
                out.append("| " + " | ".join(_md(c) for c in row) + " |")
            out.extend(f"\n- {n}" for n in t.notes)
            out.append("")
        say(console, "\n".join(out))
        return
    for t in tables:
        rt = RichTable(title=cell(t.title), title_justify="left", show_lines=False)
        for c in t.columns:
            rt.add_column(cell(c), overflow="fold")
        for row in t.rows:
            rt.add_row(*(cell(c) for c in row))
        console.print(rt)
        for n in t.notes:
            say(console, f"  • {n}")
        console.print()


def _md(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")
