"""What each TrainingArguments field accepts, read statically from the installed transformers
source (its annotation and its `choices` metadata), so checking a config needs no torch import."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from importlib import util
from pathlib import Path

from trainwright.discovery.dependencies import KNOWN_TRAINING_ARGUMENT_FIELDS


@dataclass(frozen=True)
class FieldSpec:
    name: str
    annotation: str  # as written in the source, e.g. "float", "str | None"
    choices: tuple = ()

    @property
    def kinds(self) -> set[str]:
        """The simple types the annotation admits (empty when it is not a simple one)."""
        words = {w.strip() for w in self.annotation.replace("Optional[", "").replace("]", "")
                 .replace("Union[", "").replace(",", "|").split("|")}
        simple = {"bool", "int", "float", "str", "None", "list", "dict"}
        if not words <= simple:
            return set()
        # Optional[int] (transformers 4.x) admits None as `int | None` (5.x) does.
        return words | ({"None"} if "Optional[" in self.annotation else set())


def _choices(call: ast.expr | None) -> tuple:
    if not isinstance(call, ast.Call):
        return ()
    for keyword in call.keywords:
        if keyword.arg == "metadata" and isinstance(keyword.value, ast.Dict):
            for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "choices":
                    try:
                        return tuple(ast.literal_eval(value))
                    except ValueError:
                        return ()
    return ()


def specs_from_source(source: str) -> dict[str, FieldSpec]:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "TrainingArguments":
            return {
                statement.target.id: FieldSpec(statement.target.id,
                                               ast.unparse(statement.annotation),
                                               _choices(statement.value))
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                and not statement.target.id.startswith("_")
            }
    return {}


@lru_cache(maxsize=1)
def installed_field_specs() -> dict[str, FieldSpec]:
    """Specs of the installed TrainingArguments, or names only for the newest known version."""
    spec = util.find_spec("transformers")
    if spec is not None and spec.submodule_search_locations:
        source = Path(next(iter(spec.submodule_search_locations))) / "training_args.py"
        try:
            found = specs_from_source(source.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            found = {}
        if found:
            return found
    return {name: FieldSpec(name, "") for name in KNOWN_TRAINING_ARGUMENT_FIELDS}
