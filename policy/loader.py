"""Read a policy file (or a bundled preset by name) and report every mistake with its location.

ruamel.yaml is used because it keeps the line and column of every key and item; pydantic's error
locations are walked through that tree so each problem names file, line, column and field path, and
says what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from casewarden.errors import PolicyError, PolicyProblem
from casewarden.policy.compiled import Policy, compile_policy
from casewarden.policy.model import PolicySpec
from casewarden.policy.presets import preset_path
from casewarden.policy.references import Loc, check_references


def load_policy(source: str | Path) -> Policy:
    """Load, check and compile a policy from a file path or a preset name."""
    path = resolve_source(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            [PolicyProblem(str(source), None, None, "", f"cannot read: {exc.strerror}")]
        ) from None
    return load_policy_text(text, filename=str(source))


def resolve_source(source: str | Path) -> Path:
    """A path that exists wins; otherwise a preset of that name; otherwise a clear error."""
    path = Path(source)
    if path.exists():
        return path
    preset = preset_path(str(source))
    if preset is not None:
        return preset
    from casewarden.policy.presets import preset_names

    close = difflib.get_close_matches(str(source), preset_names(), n=1)
    hint = f" Did you mean the preset '{close[0]}'?" if close else ""
    raise PolicyError(
        [
            PolicyProblem(
                str(source),
                None,
                None,
                "",
                f"no such file, and no preset of that name.{hint} Presets: {', '.join(preset_names())}",
            )
        ]
    )


def load_policy_text(text: str, *, filename: str = "<policy>") -> Policy:
    spec, tree = parse_spec(text, filename=filename)
    problems = [_locate(filename, tree, loc, msg) for loc, msg in check_references(spec)]
    if problems:
        raise PolicyError(problems)
    return compile_policy(spec, source=filename)


PRUNE_PASSES = 8


def _references_despite(
    data: dict[str, Any], exc: ValidationError, filename: str, tree: Any, shape: list[PolicyProblem]
) -> list[PolicyProblem]:
    """Reference mistakes in a file that also has shape mistakes, so all are reported at once.

    The fields pydantic rejected are removed (falling back to their defaults, or removing the item that
    needs them) until the rest validates; references are then checked on what is left. Problems about a
    removed name, or at a path already reported, are left out rather than reported wrongly."""
    pruned = copy.deepcopy(data)
    removed_names: set[str] = set()
    errors = exc.errors()
    for _ in range(PRUNE_PASSES):
        for err in errors:
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
            )
            if err["type"] == "missing" or len(loc) == 1:
                loc = loc[:-1] if len(loc) > 1 else loc
            _remove(pruned, loc, removed_names)
        try:
            spec = PolicySpec.model_validate(pruned)
        except ValidationError as again:
            errors = again.errors()
            continue
        except Exception:
            return []
        reported = {p.path for p in shape}
        out = []
        for loc, msg in check_references(spec):
            problem = _locate(filename, tree, loc, msg)
            if problem.path in reported or any(f"'{name}'" in msg for name in removed_names):
                continue
            out.append(problem)
        return out
    return []


def _remove(node: Any, loc: Loc, removed_names: set[str]) -> None:
    """Delete the value at ``loc`` (a list item, or a mapping key) if it is there."""
    for part in loc[:-1]:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            return
    last = loc[-1] if loc else None
    if isinstance(node, dict) and last in node:
        value = node.pop(last)
        removed_names.add(str(last))
        if isinstance(value, dict) and "id" in value:
            removed_names.add(str(value["id"]))
    elif isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        value = node.pop(last)
        if isinstance(value, dict):
            removed_names.update(str(value[k]) for k in ("id", "name") if k in value)


def parse_spec(text: str, *, filename: str) -> tuple[PolicySpec, Any]:
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise PolicyError(
            [
                PolicyProblem(
                    filename,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    "",
                    f"not valid YAML: {exc.problem}",
                )
            ]
        ) from None
    if not isinstance(tree, Mapping):
        raise PolicyError(
            [
                PolicyProblem(
                    filename,
                    1,
                    1,
                    "",
                    "a policy file is a mapping with keys 'policy', 'calendars', 'levels', 'statuses', ...",
                )
            ]
        )
    data = _plain(tree)
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        shape = [_from_pydantic(filename, tree, err) for err in exc.errors()]
        raise PolicyError(shape + _references_despite(data, exc, filename, tree, shape)) from None
    return spec, tree


def _plain(node: Any) -> Any:
    """ruamel's round-trip types to plain Python, so pydantic sees ordinary dicts, lists and scalars."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _from_pydantic(filename: str, tree: Any, err: Any) -> PolicyProblem:
    loc: Loc = tuple(
        p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
    )
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        msg = f"unknown key '{loc[-1]}'{hint} (allowed: {', '.join(allowed)})"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind in ("literal_error", "enum"):
        msg = f"{msg} (got {err.get('input')!r})"
    return _locate(filename, tree, loc, msg)


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys a model at ``loc`` accepts, found by walking PolicySpec's annotations."""
    model: Any = PolicySpec
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


def _locate(filename: str, tree: Any, loc: Loc, message: str) -> PolicyProblem:
    """Line and column of the deepest node of ``loc`` that exists in the YAML tree (1-based)."""
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
    return PolicyProblem(filename, line, col, _path_text(loc), message)


def _path_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
