"""`init --json`: the plan (every value with its reason and source), the file statuses and the
verification results as one JSON document for CI pipelines. Its shape is the JSON Schema in
schemas/init-output.schema.json (shipped with the package; the tests validate against it)."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import Any

from trainwright import __version__
from trainwright.planning.plan import Plan
from trainwright.verify import Check
from trainwright.write import FileChange

SCHEMA_FILE = "init-output.schema.json"


def _jsonable(value: Any) -> Any:
    """YAML values as JSON: tuples as lists, everything else as it is or as text."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "task": plan.task,
        "config_path": plan.config_path,
        "script_path": plan.script_path,
        "train_command": plan.train_command,
        # several processes: {"accelerate": ..., "torchrun": ...}; empty for one process
        "launch_commands": dict(plan.launch_commands),
        "transformers_target": plan.transformers_target,
        "sections": {
            section: {key: {"value": _jsonable(choice.value), "reason": choice.reason,
                            "comment": choice.short, "source": choice.source}
                      for key, choice in choices.items()}
            for section, choices in plan.sections.items()},
        "search_space": [_jsonable(dataclasses.asdict(parameter))
                         for parameter in plan.search_space.parameters],
        "requirements": list(plan.requirements),
        "install_commands": list(plan.install_commands),
        "warnings": list(plan.warnings),
        "imported": [dataclasses.asdict(row) | {"value": _jsonable(row.value)}
                     for row in plan.imported],
        "not_imported": [dataclasses.asdict(item) for item in plan.unmapped],
    }


def init_document(plan: Plan, changes: list[FileChange], checks: list[Check] | None,
                  *, dry_run: bool, exit_code: int) -> dict[str, Any]:
    """The whole of one init run; ``checks`` is None when nothing was written (--dry-run)."""
    return {
        "trainwright": __version__,
        "dry_run": dry_run,
        "exit_code": exit_code,
        "plan": plan_document(plan),
        "files": [{"path": change.path, "status": change.status, "backup": change.backup,
                   "note": change.note} for change in changes],
        "verification": None if checks is None else [
            {"name": check.name, "ok": check.ok, "skipped": check.skipped,
             "detail": check.detail} for check in checks],
    }


def error_document(message: str, exit_code: int) -> dict[str, Any]:
    """A run that stopped before a plan (bad input: exit 2)."""
    return {"trainwright": __version__, "exit_code": exit_code, "error": message}


def schema() -> dict[str, Any]:
    text = resources.files("trainwright").joinpath("schemas", SCHEMA_FILE).read_text(
        encoding="utf-8")
    return json.loads(text)
