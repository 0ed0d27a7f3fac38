"""Read a policy file (or a bundled preset by name) and report every mistake with its location.

The file is read through :mod:`casewarden.policy.located` (shared with the deployment file), so each
problem names file, line, column and field path, and says what is allowed.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from casewarden.errors import PolicyError, PolicyProblem
from casewarden.policy.compiled import Policy, compile_policy
from casewarden.policy.located import (
    YamlProblems,
    allowed_keys,
    clean_loc,
    from_validation,
    load_tree,
    locate,
    plain,
    read_text,
)
from casewarden.policy.model import PolicySpec
from casewarden.policy.presets import preset_path
from casewarden.policy.references import Loc, check_references


def load_policy(source: str | Path) -> Policy:
    """Load, check and compile a policy from a file path or a preset name."""
    path = resolve_source(source)
    try:
        text = read_text(path, label="policy file", filename=str(source))
    except YamlProblems as exc:
        raise PolicyError(exc.problems) from None
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
    # a misspelt key ('lifecyle') leaves the key it meant at its default: what that default lacks
    # is not a second mistake
    meant: list[Loc] = []
    for err in errors:
        loc = clean_loc(err["loc"])
        if err["type"] == "extra_forbidden" and loc:
            close = difflib.get_close_matches(
                str(loc[-1]), allowed_keys(PolicySpec, loc[:-1]), n=1, cutoff=0.6
            )
            if close:
                meant.append((*loc[:-1], close[0]))
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
            if any(loc[: len(m)] == m for m in meant):
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
    try:
        tree = load_tree(
            text,
            filename=filename,
            what="a policy file is a mapping with keys 'policy', 'calendars', 'levels', 'statuses', ...",
        )
    except YamlProblems as exc:
        raise PolicyError(exc.problems) from None
    data = plain(tree)
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        shape = from_validation(filename, tree, exc, PolicySpec)
        raise PolicyError(shape + _references_despite(data, exc, filename, tree, shape)) from None
    return spec, tree


def _locate(filename: str, tree: Any, loc: Loc, message: str) -> PolicyProblem:
    return locate(filename, tree, loc, message)
