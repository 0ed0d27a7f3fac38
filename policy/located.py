"""YAML files that people write, read so that every mistake names its file, line, column and field.

Both files a team writes (the policy and the deployment) go through here, so their errors look alike:
``file:line:col: field.path: message (allowed: ...)``, with "did you mean" for misspelt names.
ruamel.yaml's round-trip loader is used because it keeps the line and column of every key and item;
pydantic's error locations are walked through that tree.

Nothing a file holds may crash the reader, hang it or fill memory: a file is refused with one located
problem when it cannot be text (too large, binary, UTF-16, NUL or control characters, not UTF-8), and
the YAML limits (nesting depth, alias expansion, tags) are enforced while the document is composed,
*before* anything is built from it, so a "billion laughs" file fails in milliseconds. An impossible
date such as ``2026-02-30`` stays the text that was written, so the field that wanted a date reports it.
"""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.scanner import RoundTripScanner

from casewarden.errors import Problem

Loc = tuple[str | int, ...]

#: A policy or deployment file is a few kilobytes (the largest bundled preset is 15 KB); a megabyte is
#: already a wrong file (a log, a database, an export), and parsing one takes seconds.
MAX_FILE_BYTES = 1024 * 1024
#: Collections inside collections. A policy nests about 8 deep; 100 leaves room for any sane layout
#: while keeping the composer's recursion far from Python's limit.
MAX_DEPTH = 100
#: Values that aliases may add in total. Reusing a block of targets across a dozen levels costs a few
#: hundred; a "billion laughs" file needs a billion.
MAX_ALIAS_NODES = 10_000
#: The YAML 1.2 core types. Anything else (``!include``, ``!!python/object``, ``!!binary``, ``!!set``)
#: is refused rather than silently turned into something the schema then rejects in obscure words.
_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(
    {"!", *(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp"))}
)


class YamlProblems(Exception):
    """Located problems found while reading a file; the caller wraps them in its own error class
    (PolicyError, ConfigError) so each file kind keeps its exit code."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_tree(path: str | Path, *, label: str, what: str, filename: str | None = None) -> Any:
    """The round-trip YAML tree of the file at ``path`` (a mapping), or :class:`YamlProblems`.

    ``label`` names the file kind in messages ("policy file", "deployment file"); ``what`` says what
    the top level must be; ``filename`` is how messages name the file (default: ``path``)."""
    name = str(path) if filename is None else filename
    return load_tree(read_text(path, label=label, filename=name), filename=name, what=what)


# ---------------------------------------------------------------------------------------- bytes to text

_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 LE"),
    (b"\xfe\xff", "UTF-16 BE"),
    (b"\xff\xfe", "UTF-16 LE"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
_MAGIC = (
    (b"SQLite format 3\x00", "an SQLite database (the state store?)"),
    (b"PK\x03\x04", "a ZIP archive (or an .xlsx / .docx document)"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable program"),
)
# What YAML 1.2 allows in a stream (section 5.1): tab, line breaks, printable ASCII, NEL, and Unicode
# outside the C1 controls, surrogates and the two non-characters.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL_NAMES = {
    0x07: "the bell character",
    0x08: "a backspace",
    0x0B: "a vertical tab",
    0x0C: "a form feed",
    0x1B: "an escape character",
    0x7F: "a DEL character",
}


def read_text(path: str | Path, *, label: str, filename: str | None = None) -> str:
    """The text of a file a person wrote, or one located problem saying why it cannot be YAML text.

    At most :data:`MAX_FILE_BYTES` + 1 bytes are read, so even ``/dev/zero`` answers at once."""
    name = str(path) if filename is None else filename
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise _one(name, f"is a directory, not a {label}") from None
    except FileNotFoundError:
        raise _one(name, f"cannot read the {label}: no such file") from None
    except OSError as exc:
        raise _one(name, f"cannot read the {label}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _one(
            name,
            f"the {label} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, the limit; a {label} is a "
            "few kilobytes of YAML: is this the right file?",
        )
    return decode_text(data, label=label, filename=name)


def decode_text(data: bytes, *, label: str, filename: str) -> str:
    """``data`` as UTF-8 text, or a problem that says which encoding or format it looks like instead."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise _one(filename, _convert_hint(label, encoding, "it starts with a byte-order mark"))
    if data.startswith(_UTF8_BOM):  # allowed by YAML; dropped here so columns count from the text
        data = data[len(_UTF8_BOM) :]
    guess = _utf16_without_bom(data)
    if guess:
        raise _one(filename, _convert_hint(label, guess, "every other byte is zero"))
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise _one(filename, f"not a text file: this is {kind}; a {label} is YAML text (UTF-8)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _byte_position(data, exc.start)
        bad = data[exc.start]
        if _looks_binary(data):
            message = (
                f"binary content (byte 0x{bad:02X} here is not text): this is not a {label}; "
                f"a {label} is YAML text (UTF-8)"
            )
        else:
            message = (
                f"not UTF-8: byte 0x{bad:02X} cannot be read as UTF-8{_legacy_hint(data)}; save the "
                "file as UTF-8 (most editors: 'Save with encoding' > UTF-8)"
            )
        readable = data.decode("utf-8", errors="replace")  # one U+FFFD per bad byte: same positions
        where = _path_of(readable, len(data[: exc.start].decode("utf-8")))
        raise YamlProblems([Problem(filename, line, column, where, message)]) from None


def check_characters(text: str, *, filename: str) -> None:
    """Refuse a NUL or another control character with its line and column (YAML forbids them, and a
    NUL usually means a file padded or truncated by a tool)."""
    found = _NON_PRINTABLE.search(text)
    if found is None:
        return
    line, column = _text_position(text, found.start())
    code = ord(found.group())
    if code == 0:
        message = (
            "a NUL character (byte 0x00): a text file has none; was the file written by a tool that "
            "pads with zeros?"
        )
    else:
        name = _CONTROL_NAMES.get(code, "a control character" if code < 0xA0 else "the character")
        message = f"{name} (U+{code:04X}) is not allowed in YAML text: remove it"
    where = _path_of(_NON_PRINTABLE.sub("\ufffd", text), found.start())
    raise YamlProblems([Problem(filename, line, column, where, message)])


def _path_of(text: str, index: int) -> str:
    """The field path at ``index`` of a text the reader refused, replayed with the bad characters
    replaced by U+FFFD (best effort: the text may be broken in other ways too)."""
    return path_text(_PathFinder(text, index).path)


def _one(filename: str, message: str) -> YamlProblems:
    return YamlProblems([Problem(filename, None, None, "", message)])


def _convert_hint(label: str, encoding: str, evidence: str) -> str:
    family = encoding.split()[0]
    return (
        f"the {label} is saved as {encoding} ({evidence}); casewarden reads UTF-8: save it as UTF-8, "
        f"e.g. 'iconv -f {family} -t UTF-8 FILE > FILE.utf8'"
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """'UTF-16 LE' / 'UTF-16 BE' when most bytes at odd (even) offsets are zero: ASCII text saved as
    UTF-16 without a byte-order mark."""
    sample = data[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "UTF-16 LE"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "UTF-16 BE"
    return None


def _looks_binary(data: bytes) -> bool:
    """A NUL, or many control bytes, in what is not valid UTF-8: not text in any encoding."""
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0D, 0x0C))
    return controls > 0.05 * len(sample)


def _legacy_hint(data: bytes) -> str:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return " (the file looks like Windows-1252 / Latin-1 text)"


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def _text_position(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


# ---------------------------------------------------------------------------------------- text to tree


class _Refused(MarkedYAMLError):
    """A limit of :mod:`located` was reached while composing; nothing past it was built."""


_TOO_DEEP = (
    f"nested more than {MAX_DEPTH} levels deep (the limit); a policy nests about 8 levels: is a bracket "
    "or an indent wrong?"
)


class _LimitedScanner(RoundTripScanner):
    """Refuses the bracket that opens flow level ``MAX_DEPTH + 1``. Checked here, not only in the
    composer, because the scanner looks up to 1,024 characters ahead inside brackets at a cost that
    grows with the square of the open ones: ``[[[[...`` would take seconds before any node exists."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(problem=_TOO_DEEP, problem_mark=self.reader.get_mark())
        super().fetch_flow_collection_start(TokenClass, to_push)


class _LimitedComposer(Composer):
    """ruamel's composer with casewarden's limits, checked as each node starts (before its children
    are read) and as each alias is resolved (before anything expands it): nesting depth, the values
    aliases add, cycles, and tags outside the core schema."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # a reused anchor name is legal YAML: the later one wins
        self._nesting = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}
        self._alias_mark: Any = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            self._alias_mark = event.start_mark
            return super().compose_node(parent, index)
        tag = event.tag
        if tag is not None and tag not in ALLOWED_TAGS:
            raise _Refused(
                problem=f"the YAML tag '{_short_tag(tag)}' is not supported: write the value itself "
                "(casewarden reads plain YAML: text, numbers, true/false, lists and mappings)",
                problem_mark=event.start_mark,
            )
        if not isinstance(event, MappingStartEvent | SequenceStartEvent):
            return super().compose_node(parent, index)
        self._nesting += 1
        try:
            if self._nesting > MAX_DEPTH:
                raise _Refused(problem=_TOO_DEEP, problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1

    def return_alias(self, a: Any) -> Any:
        if a.end_mark is None:  # still being composed: the alias sits inside its own anchor
            raise _Refused(
                problem=f"the alias '*{a.anchor}' is inside the value it names (a cycle): an alias can "
                "only repeat a value that is complete",
                problem_mark=self._alias_mark,
            )
        self._expanded += self._size(a)
        if self._expanded > MAX_ALIAS_NODES:
            raise _Refused(
                problem=f"aliases here expand to more than {MAX_ALIAS_NODES} values (the limit): write "
                "the values out, or repeat fewer of them (a 'billion laughs' file is refused)",
                problem_mark=self._alias_mark,
            )
        return a

    def _size(self, node: Any) -> int:
        """Values ``node`` stands for once every alias inside it is expanded (memoised: a node that
        is complete never changes, and nesting is bounded by :data:`MAX_DEPTH`)."""
        got = self._sizes.get(id(node))
        if got is not None:
            return got
        if isinstance(node, SequenceNode):
            n = 1 + sum(self._size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            n = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        else:
            n = 1
        self._sizes[id(node)] = n
        return n


class _LenientConstructor(RoundTripConstructor):
    """A scalar that looks like a date or number but is not one (``2026-02-30``, an integer of 5,000
    digits) stays the text that was written: the field that expected a date or number then says so
    with its path, and a field that expected text gets what the person wrote."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ValueError, OverflowError):
            if isinstance(node, ScalarNode):
                return str(node.value)
            raise


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Scanner = _LimitedScanner
    yaml.Composer = _LimitedComposer
    yaml.Constructor = _LenientConstructor
    return yaml


def load_tree(text: str, *, filename: str, what: str) -> Any:
    """The round-trip YAML tree of ``text``: a mapping, or :class:`YamlProblems` saying why not.
    ``what`` names the file kind for the message ("a policy file is a mapping with keys ...")."""
    check_characters(text, filename=filename)
    try:
        tree = _yaml().load(text)
    except MarkedYAMLError as exc:
        raise YamlProblems([_marked_problem(filename, text, exc)]) from None
    except YAMLError as exc:  # unmarked (a reader error); check_characters should have caught it
        raise YamlProblems([Problem(filename, None, None, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the composer far from the limit
        raise YamlProblems([Problem(filename, None, None, "", "not valid YAML: nested too deeply")]) from None
    if tree is None:
        raise YamlProblems([Problem(filename, 1, 1, "", f"the file is empty (or only comments); {what}")])
    if not isinstance(tree, Mapping):
        raise YamlProblems([Problem(filename, 1, 1, "", what)])
    return tree


_DUPLICATE = re.compile(r'found duplicate key "(.*?)" with value')


def _marked_problem(filename: str, text: str, exc: MarkedYAMLError) -> Problem:
    """A YAML error as a problem at its mark, with the field path found from the events before it."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return Problem(filename, None, None, "", f"not valid YAML: {exc.problem or exc}")
    if exc.context == "while scanning a simple key" and exc.context_mark is not None:
        mark = exc.context_mark  # where the key without its ':' starts, not where the scan gave up
    finder = _PathFinder(text, mark.index)
    loc = finder.path
    quoted = finder.last_scalar
    if (
        not isinstance(exc, _Refused | DuplicateKeyError)
        and quoted is not None
        and quoted.style in ("'", '"')
        and quoted.end_mark.line > quoted.start_mark.line
    ):
        # a missing closing quote swallows the lines after it; the parser only notices further on
        return Problem(
            filename,
            quoted.start_mark.line + 1,
            quoted.start_mark.column + 1,
            path_text(finder.last_scalar_path),
            f"not valid YAML: {exc.problem} (line {mark.line + 1}); the quoted value that starts here runs "
            f"on to line {quoted.end_mark.line + 1}: is its closing quote missing?",
        )
    if isinstance(exc, _Refused):
        message = str(exc.problem)
        if len(loc) > 8:  # a runaway nesting: the start of the path says where
            return Problem(filename, mark.line + 1, mark.column + 1, path_text(loc[:6]) + "...", message)
    elif isinstance(exc, DuplicateKeyError):
        dup = _DUPLICATE.search(str(exc.problem))
        key = dup.group(1) if dup else "?"
        first = finder.first_line_of(key)
        where = f" (first at line {first})" if first else ""
        message = f"duplicate key '{key}'{where}: a key appears once in a mapping"
    elif exc.context and str(exc.context).startswith("expected a single document"):
        message = "not valid YAML: a second document starts here; the file holds one document (remove '---')"
    else:
        context = f" ({exc.context})" if exc.context else ""
        message = f"not valid YAML: {exc.problem}{context}"
    return Problem(filename, mark.line + 1, mark.column + 1, path_text(loc), message)


@dataclass
class _Frame:
    is_map: bool
    index: int = -1  # sequences: the item being read
    phase: str = "key"  # mappings: key, key-open, value, value-open
    key: str | int | None = None  # mappings: the key whose value is being read
    current: str | int | None = None  # the step this frame adds to the path now
    lines: dict[str, int] = field(default_factory=dict)  # mappings: key -> 1-based line


class _PathFinder:
    """The field path at a character offset of a file that does not load, found by replaying the
    parser's events up to it: a syntax error, a duplicate key or a refused alias still names its
    field. Only run after a failure; the events before a parse error are all valid."""

    def __init__(self, text: str, index: int) -> None:
        self.frames: list[_Frame] = []
        self.path: Loc = ()
        self.last_scalar: Any = None  # the last scalar before ``index``, and its path
        self.last_scalar_path: Loc = ()
        self._last_map: _Frame | None = None
        before_ends: list[_Frame] | None = None
        try:
            for event in _yaml().parse(text):
                # the ends of block collections are reported where the next line starts: at the mark
                ends = isinstance(event, MappingEndEvent | SequenceEndEvent)
                if event.start_mark.index >= index:
                    if not ends:
                        self._arrive(event, index)
                        break
                    if before_ends is None:
                        before_ends = copy.deepcopy(self.frames)
                if not ends:
                    self.last_scalar = None
                self._step(event)
                if isinstance(event, ScalarEvent) and event.end_mark.index > index:
                    self.path = self.last_scalar_path  # the position is inside this value
                    return
        except YAMLError:
            # the error is at a line that closed collections (a wrong indent): it belongs to what was
            # open before, not to the collection the closing would return to
            if before_ends is not None:
                self.frames = before_ends
        self.path = self._current()

    def _current(self) -> Loc:
        return tuple(f.current for f in self.frames if f.current is not None)

    def first_line_of(self, key: str) -> int | None:
        top = self._last_map
        return top.lines.get(key) if top is not None else None

    def _arrive(self, event: Any, index: int) -> None:
        if not self.frames:
            return
        top = self.frames[-1]
        if top.is_map:
            self._last_map = top
            if top.phase == "key" and isinstance(event, ScalarEvent) and event.start_mark.index == index:
                top.current = event.value
        elif top.current is None:
            top.current = top.index + 1

    def _step(self, event: Any) -> None:
        if isinstance(event, MappingEndEvent | SequenceEndEvent):
            if self.frames:
                self.frames.pop()
            self._done()
            return
        if not isinstance(event, ScalarEvent | AliasEvent | MappingStartEvent | SequenceStartEvent):
            return
        self._start(event)
        if isinstance(event, MappingStartEvent):
            self.frames.append(_Frame(is_map=True))
        elif isinstance(event, SequenceStartEvent):
            self.frames.append(_Frame(is_map=False))
        else:
            if isinstance(event, ScalarEvent):
                self.last_scalar, self.last_scalar_path = event, self._current()
            self._done()

    def _start(self, event: Any) -> None:
        """A node starts inside the innermost collection: a key, a value or an item."""
        if not self.frames:
            return
        top = self.frames[-1]
        if not top.is_map:
            top.index += 1
            top.current = top.index
        elif top.phase == "key":
            top.key = event.value if isinstance(event, ScalarEvent) else "?"
            if isinstance(event, ScalarEvent):
                top.lines.setdefault(event.value, event.start_mark.line + 1)
            top.phase = "key-open"
        else:
            top.phase, top.current = "value-open", top.key

    def _done(self) -> None:
        """The node that started last in the innermost collection is complete."""
        if not self.frames:
            return
        top = self.frames[-1]
        if not top.is_map:
            top.current = None
        elif top.phase == "key-open":
            top.phase, top.current = "value", top.key
        elif top.phase == "value-open":
            top.phase, top.current = "key", None


def plain(node: Any) -> Any:
    """ruamel's round-trip types to plain Python, so pydantic sees ordinary dicts, lists and scalars.
    (Aliases are expanded here; :data:`MAX_ALIAS_NODES` bounds what that costs.)"""
    if isinstance(node, Mapping):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, TaggedScalar):  # an explicit core tag such as !!str 12: the text written
        return str(node.value)
    return node


def clean_loc(raw: Iterable[Any]) -> Loc:
    """A pydantic error location without the union and validator-function steps it inserts."""
    return tuple(p for p in raw if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> str:
    """The message for a reference to something that does not exist, listing what does."""
    options = sorted(set(valid))
    allowed = ", ".join(options) if options else "none are defined"
    return f"unknown {kind} '{name}'{did_you_mean(name, options)} (allowed: {allowed})"


def from_validation(
    filename: str, tree: Any, exc: ValidationError, root: type[BaseModel], prefix: Loc = ()
) -> list[Problem]:
    """Every pydantic error of ``exc`` as a located problem. ``root`` is the model that was validated
    (to list the keys allowed where an unknown one appears); ``prefix`` is where that model's data sits
    in ``tree`` (a connector's settings inside the deployment file)."""
    return [
        from_pydantic_error(filename, tree, err, root, prefix)
        for err in one_branch(exc.errors(), tree, prefix)
    ]


def _union_step(part: Any) -> str | None:
    """The union member a pydantic location step names ('literal[...]', 'dict[...]', 'list[...]'), or None."""
    if isinstance(part, str) and "[" in part and not part.startswith("function-"):
        return part
    return None


def one_branch(errors: list[Any], tree: Any, prefix: Loc = ()) -> list[Any]:
    """Of the errors pydantic gives for each member of a union (``hours: '24x7' | {day: [...]}``), keep
    those of the member the value was written as: a mapping answers for the mapping form, a list for the
    list form, a word for the literal. Otherwise one mistake reads as two contradicting ones. The kept
    errors are marked ``in_union`` so a literal's message can name the other form too."""
    groups: dict[Loc, set[str]] = {}
    for err in errors:
        raw = err["loc"]
        at = next((i for i, part in enumerate(raw) if _union_step(part)), None)
        if at is not None:
            groups.setdefault(clean_loc(raw[:at]), set()).add(str(raw[at]))
    if not groups:
        return errors
    out = []
    for err in errors:
        raw = err["loc"]
        at = next((i for i, part in enumerate(raw) if _union_step(part)), None)
        if at is None:
            out.append(err)
            continue
        where = clean_loc(raw[:at])
        members = groups[where]
        wanted = _member_for(_value_at(tree, prefix + where), members)
        if wanted is None or str(raw[at]) == wanted:
            out.append({**err, "in_union": len(members) > 1})
    return out


def _member_for(value: Any, members: set[str]) -> str | None:
    def shape(member: str) -> str:
        head = member.split("[", 1)[0]
        return {"dict": "map", "list": "seq", "tuple": "seq", "set": "seq"}.get(head, "scalar")

    written = "map" if isinstance(value, Mapping) else "seq" if isinstance(value, list) else "scalar"
    matches = [m for m in members if shape(m) == written]
    return matches[0] if len(matches) == 1 else None


def _value_at(tree: Any, loc: Loc) -> Any:
    node = tree
    for part in loc:
        if isinstance(node, Mapping):
            key = _tree_key(node, part) if isinstance(node, CommentedMap) else part
            if key is None or key not in node:
                return None
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def from_pydantic_error(
    filename: str, tree: Any, err: Any, root: type[BaseModel], prefix: Loc = ()
) -> Problem:
    loc = clean_loc(err["loc"])
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        msg = f"unknown key '{loc[-1]}'{did_you_mean(str(loc[-1]), allowed)} (allowed: {', '.join(allowed)})"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind in ("literal_error", "enum") and err.get("in_union"):
        described = field_description(root, loc)
        msg = f"{given!r} is not allowed here; write {described}" if described else f"{msg} (got {given!r})"
    elif kind in ("literal_error", "enum"):
        msg = f"{msg} (got {given!r})"
    elif kind.startswith("date") or kind.startswith("datetime"):
        reason = msg.split(", ", 1)[1] if ", " in msg else msg
        msg = f"{_shown(given)} is not a date ({reason}); write a real date as YYYY-MM-DD, e.g. 2026-12-25"
    elif kind == "string_type":
        hint = f"; quote it: '{given}'" if isinstance(given, int | float | date) else ""
        msg = f"expected text, got {_kind_of(given)}{hint}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"expected a mapping ('key: value' lines), got {_kind_of(given)}"
    elif kind in ("list_type", "tuple_type"):
        msg = f"expected a list ('- item' lines or [a, b]), got {_kind_of(given)}"
    elif kind in (
        "int_type",
        "int_parsing",
        "int_from_float",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
    ) or kind.startswith(("greater_than", "less_than")):
        msg = f"{msg} (got {_kind_of(given)})"
    return locate(filename, tree, prefix + loc, msg)


def _kind_of(value: Any) -> str:
    """How a value the schema refused reads to the person who wrote it."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, date):  # a datetime is a date too
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the text {_shown(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"{_shown(value)}"


def _shown(value: Any) -> str:
    """``value`` quoted and cut to a readable length."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= 60 else text[:57] + "...'"


def allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model at ``loc`` (below ``root``) accepts, found by walking the annotations."""
    model: Any = root
    for part in loc:
        model = _step(model, part)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def field_description(root: type[BaseModel], loc: Loc) -> str:
    """The description of the field at ``loc`` (below ``root``): what it accepts, in words."""
    model: Any = root
    for part in loc[:-1]:
        model = _step(model, part)
        if model is None:
            return ""
    if isinstance(model, type) and issubclass(model, BaseModel) and loc:
        for name, f in model.model_fields.items():
            if loc[-1] in (name, f.alias):
                return f.description or ""
    return ""


def _step(tp: Any, part: str | int) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return _unwrap(f.annotation)
        return None
    origin = typing.get_origin(tp)
    if origin in (list, dict):
        return _unwrap(typing.get_args(tp)[-1])
    return None


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        containers = [a for a in args if typing.get_origin(a) in (list, dict)]
        return _unwrap((models or containers or args)[0])
    return tp


def locate(filename: str, tree: Any, loc: Loc, message: str) -> Problem:
    """A problem at the deepest node of ``loc`` that exists in the YAML tree (1-based line, column).

    A key that came in through a merge (``<<: *defaults``) has no position of its own in the mapping
    it was merged into: the walk keeps the last position and goes on into the merged value, whose
    positions are where the anchor's text is."""
    line: int | None = 1
    col: int | None = 1
    node = tree
    for part in loc:
        if isinstance(node, CommentedMap):
            key = _tree_key(node, part)
            if key is None:
                break
            try:
                line, col = node.lc.key(key)
                line, col = line + 1, col + 1
            except (KeyError, TypeError):
                pass
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            try:
                line, col = node.lc.item(part)
                line, col = line + 1, col + 1
            except (KeyError, TypeError):
                pass
            node = node[part]
        else:
            break
    return Problem(filename, line, col, path_text(loc), message)


def _tree_key(node: CommentedMap, part: str | int) -> Any:
    """The key of ``node`` that :func:`plain` turned into ``part`` (keys become text there)."""
    if part in node:
        return part
    return next((k for k in node if str(k) == str(part)), None)


def path_text(loc: Loc) -> str:
    """``levels[0].targets[1].within``: the field path as a person reads it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
