"""`trainwright validate --fix`: apply the mechanical fixes in place, keeping comments and key
order (round-trip YAML), after a backup."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from trainwright.config.validate import Problem
from trainwright.write import atomic_write

# YAML 1.1 readers (PyYAML) take 2e-05 for a string: give every exponent float a dot.
EXPONENT_WITHOUT_DOT = re.compile(r"(:\s+[-+]?\d+)([eE][-+]?\d+)(?=\s|$)", re.MULTILINE)


def _parent_and_key(document, location: str):
    *path, key = location.split(".")
    parent = document
    for part in path:
        parent = parent[part]
    return parent, key


def apply_fixes(path: Path, text: str, problems: list[Problem]) -> list[str]:
    """Rewrite the file with every fix that has an action; return what was done."""
    from ruamel.yaml import YAML

    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096
    round_trip.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null",
                                                                        "null"))
    document = round_trip.load(text)
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
            del parent[key]
            applied.append(f"{problem.location}: deleted")
        elif kind == "rename":
            new_key, new_value = problem.action[1], problem.action[2]
            if new_key in parent:
                continue
            value = parent[key] if new_value is None else new_value
            position = list(parent).index(key)
            comment = parent.ca.items.pop(key, None)
            del parent[key]
            parent.insert(position, new_key, value)
            if comment is not None:
                parent.ca.items[new_key] = comment
            applied.append(f"{problem.location}: renamed to {new_key}")
    if applied:
        buffer = io.StringIO()
        round_trip.dump(document, buffer)
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        atomic_write(path, EXPONENT_WITHOUT_DOT.sub(r"\1.0\2", buffer.getvalue()))
    return applied
