"""YAML files that people write, read so that every mistake names its file, line, column and field.

Both files a team writes (the policy and the deployment) go through here, so their errors look alike:
``file:line:col: field.path: message (allowed: ...)``, with "did you mean" for misspelt names.
ruamel.yaml's round-trip loader is used because it keeps the line and column of every key and item;
pydantic's error locations are walked through that tree.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from casewarden.errors import Problem

Loc = tuple[str | int, ...]


class YamlProblems(Exception):
    """Located problems found while reading a file; the caller wraps them in its own error class
    (PolicyError, ConfigError) so each file kind keeps its exit code."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_tree(text: str, *, filename: str, what: str) -> Any:
    """The round-trip YAML tree of ``text``: a mapping, or :class:`YamlProblems` saying why not.
    ``what`` names the file kind for the message ("a policy file is a mapping with keys ...")."""
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise YamlProblems(
            [
                Problem(
                    filename,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    "",
                    f"not valid YAML: {exc.problem}",
                )
            ]
        ) from None
    if not isinstance(tree, Mapping):
        raise YamlProblems([Problem(filename, 1, 1, "", what)])
    return tree


def plain(node: Any) -> Any:
    """ruamel's round-trip types to plain Python, so pydantic sees ordinary dicts, lists and scalars."""
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
    return [from_pydantic_error(filename, tree, err, root, prefix) for err in exc.errors()]


def from_pydantic_error(
    filename: str, tree: Any, err: Any, root: type[BaseModel], prefix: Loc = ()
) -> Problem:
    loc = clean_loc(err["loc"])
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        msg = f"unknown key '{loc[-1]}'{did_you_mean(str(loc[-1]), allowed)} (allowed: {', '.join(allowed)})"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind in ("literal_error", "enum"):
        msg = f"{msg} (got {err.get('input')!r})"
    return locate(filename, tree, prefix + loc, msg)


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
    """A problem at the deepest node of ``loc`` that exists in the YAML tree (1-based line, column)."""
    line: int | None = 1
    col: int | None = 1
    node = tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, col = node.lc.key(part)
            line, col = line + 1, col + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            line, col = line + 1, col + 1
            node = node[part]
        else:
            break
    return Problem(filename, line, col, path_text(loc), message)


def path_text(loc: Loc) -> str:
    """``levels[0].targets[1].within``: the field path as a person reads it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
