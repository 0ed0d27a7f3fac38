"""Printing on the terminal so that text from a file or a tracker is never read as rich markup.

rich reads ``[red]...[/red]`` and ``:100:`` in every plain string it prints: a status named
``"[/red] In Progress"`` crashed the error printer, and a level named ``:100:`` printed as an emoji.
Policy and deployment files, tracker values and error messages (which quote them) are all such text.
So casewarden's own colouring is given as *styles* on :class:`rich.text.Text` (which rich prints as it
is), never as markup inside a string, and the consoles the command line makes have markup, emoji and
highlighting off as a second guard. Control characters (an escape sequence in a YAML string, say) are
shown as ``\\xNN`` rather than sent to the terminal.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.text import Text

#: A piece of a line: plain text (printed as it is), or (text, style) for casewarden's own colouring.
Part = str | tuple[str, str]

# Control characters other than newline and tab: a YAML escape ("\e[2J") or a tracker field can hold
# them, and a terminal would obey them. They are shown as \xNN instead.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN``, so a terminal prints rather than obeys them."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def make_console(**kwargs: Any) -> Console:
    """A console that prints strings as they are: no markup, no ``:emoji:`` codes, no highlighting."""
    return Console(markup=False, emoji=False, highlight=False, **kwargs)


def styled(*parts: Part) -> Text:
    """One line from plain pieces and (piece, style) pairs, e.g. ``styled(("error", "red"), " ", msg)``."""
    return Text.assemble(*(visible(p) if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts))


def say(console: Console, *parts: Part, soft_wrap: bool = True) -> None:
    """Print one line of :func:`styled` pieces. ``soft_wrap``: a long line is left to the terminal to
    wrap, so a file path or a message can be copied whole."""
    console.print(styled(*parts), soft_wrap=soft_wrap)


def cell(text: str, style: str = "") -> Text:
    """A table cell, title or header that rich prints as it is."""
    return Text(visible(text), style=style)
