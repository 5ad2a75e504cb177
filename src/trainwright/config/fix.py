"""`trainwright validate --fix`: apply the mechanical fixes in place, keeping comments and key
order (round-trip YAML; a JSON file keeps its key order and indentation), after a backup."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

from trainwright.config.validate import Problem
from trainwright.write import atomic_write

# YAML 1.1 readers (PyYAML) take 2e-05 for a string: give every exponent float a dot.
EXPONENT_WITHOUT_DOT = re.compile(r"(:\s+[-+]?\d+)([eE][-+]?\d+)(?=\s|$)", re.MULTILINE)
JSON_INDENT = re.compile(r"^([ \t]+)\"", re.MULTILINE)  # a JSON file's indentation, kept


def _parent_and_key(document, location: str):
    *path, key = location.split(".")
    parent = document
    for part in path:
        parent = parent[part]
    return parent, key


def _rename(parent, key: str, new_key: str, value) -> None:
    """Rename a key where it stands, with its comment (round-trip YAML) or without (JSON)."""
    position = list(parent).index(key)
    if hasattr(parent, "insert"):  # ruamel's CommentedMap
        comment = parent.ca.items.pop(key, None)
        del parent[key]
        parent.insert(position, new_key, value)
        if comment is not None:
            parent.ca.items[new_key] = comment
        return
    items = list(parent.items())
    items[position] = (new_key, value)
    parent.clear()
    parent.update(items)


def _delete(parent, key: str, document) -> None:
    """Delete a key; in round-trip YAML, the comment lines below its line (which ruamel keeps
    with it, though they introduce what follows) stay where they are."""
    position = list(parent).index(key)
    token = parent.ca.items.pop(key, [None] * 3)[2] if hasattr(parent, "ca") else None
    del parent[key]
    text = token.value if token is not None else ""
    following = text.split("\n", 1)[1] if "\n" in text else ""
    if not following.strip():
        return
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    if position == 0:
        if parent is document:  # below the file's header comment
            if parent.ca.comment is None:
                parent.ca.comment = [None, []]
            parent.ca.comment[1].append(CommentToken(following, CommentMark(0)))
        return
    owner, last = parent, list(parent)[position - 1]
    while isinstance(owner[last], CommentedMap) and len(owner[last]):  # the line above
        owner, last = owner[last], list(owner[last])[-1]
    above = owner.ca.items.get(last)
    if above is not None and above[2] is not None:
        above[2].value += following
    else:
        owner.ca.items[last] = [None, None, CommentToken("\n" + following, CommentMark(0)), None]


def _apply(document, problems: list[Problem]) -> list[str]:
    """Apply every fix that has an action to the loaded document; return what was done."""
    applied = []
    for problem in problems:
        if not problem.action:
            continue
        try:
            parent, key = _parent_and_key(document, problem.location)
        except (KeyError, TypeError):
            continue
        if key not in parent:
            continue
        kind = problem.action[0]
        if kind == "number":
            parent[key] = problem.action[1]
            applied.append(f"{problem.location}: now the number {problem.action[1]!r}")
        elif kind == "delete":
            _delete(parent, key, document)
            applied.append(f"{problem.location}: deleted")
        elif kind == "rename":
            new_key, new_value = problem.action[1], problem.action[2]
            if new_key in parent:
                continue
            _rename(parent, key, new_key, parent[key] if new_value is None else new_value)
            applied.append(f"{problem.location}: renamed to {new_key}")
    return applied


def _fixed_yaml(text: str, problems: list[Problem]) -> tuple[str, list[str]]:
    from ruamel.yaml import YAML

    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096
    round_trip.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null",
                                                                        "null"))
    document = round_trip.load(text)
    applied = _apply(document, problems)
    buffer = io.StringIO()
    round_trip.dump(document, buffer)
    return EXPONENT_WITHOUT_DOT.sub(r"\1.0\2", buffer.getvalue()), applied


def _fixed_json(text: str, problems: list[Problem]) -> tuple[str, list[str]]:
    """JSON has no comments to keep: the keys keep their order and the file its indentation."""
    document = json.loads(text)
    applied = _apply(document, problems)
    indent = JSON_INDENT.search(text)
    fixed = json.dumps(document, indent=indent.group(1) if indent else None, ensure_ascii=False)
    return fixed + ("\n" if text.endswith("\n") else ""), applied


def apply_fixes(path: Path, text: str, problems: list[Problem]) -> list[str]:
    """Rewrite the file (YAML or JSON) with every fix that has an action, after a backup;
    return what was done."""
    fixer = _fixed_json if path.suffix.lower() == ".json" else _fixed_yaml
    fixed, applied = fixer(text, problems)
    if applied:
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        atomic_write(path, fixed)
    return applied
