"""Validate a config file as `trainwright validate` does: load safely, check, optionally fix."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from trainwright.config.fields import installed_field_specs
from trainwright.config.fix import apply_fixes
from trainwright.config.load import parse_config, read_config_text
from trainwright.config.validate import Problem, validate_config, validate_search_space
from trainwright.discovery.data import inspect_data_file
from trainwright.discovery.models import Hardware
from trainwright.errors import UserError

DEFAULT_LOCATIONS = ("training_config.yaml", "configs/training_config.yaml",
                     "config/training_config.yaml")


@dataclass(frozen=True)
class ConfigReport:
    path: Path
    problems: list[Problem]
    fixed: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def find_config(given: str | None) -> Path:
    if given:
        return Path(given)
    for candidate in DEFAULT_LOCATIONS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise UserError("No training_config.yaml here (looked in ., configs/ and config/).",
                    "pass its path: trainwright validate path/to/training_config.yaml")


def _nearby(path: Path, relative: str) -> Path | None:
    """A path from the config, as train.py resolves it (from the project root)."""
    for base in (Path.cwd(), path.parent, path.parent.parent):
        candidate = base / relative
        if candidate.exists():
            return candidate
    return None


def _train_rows(config: dict, path: Path) -> int | None:
    data = config.get("data")
    train_file = data.get("train_file") if isinstance(data, dict) else None
    location = _nearby(path, train_file) if isinstance(train_file, str) and train_file else None
    if location is None:
        return None
    return inspect_data_file(location, location.parent).rows


def _search_space_problems(config: dict, path: Path) -> list[Problem]:
    space_file = _nearby(path, "hyperparameters.json")
    if space_file is None:
        return []
    try:
        space = json.loads(space_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return [Problem("hyperparameters.json", f"is not valid JSON ({error})",
                        "regenerate it with `trainwright init`")]
    return validate_search_space(space, config)


def check_config(path: Path, *, fix: bool = False, hardware: Hardware | None = None
                 ) -> ConfigReport:
    text = read_config_text(path)
    config = parse_config(text, str(path))
    specs = installed_field_specs()

    def problems_of(loaded: dict) -> list[Problem]:
        return (validate_config(loaded, specs, hardware=hardware,
                                train_rows=_train_rows(loaded, path))
                + _search_space_problems(loaded, path))

    problems = problems_of(config)
    fixed: list[str] = []
    if fix and any(p.action for p in problems):
        fixed = apply_fixes(path, text, problems)
        if fixed:
            problems = problems_of(parse_config(read_config_text(path), str(path)))
    return ConfigReport(path, problems, fixed)
