"""Where training_config.yaml and the training script go: where the project keeps its configs
and scripts, beside (never over) a training script of the project's own."""

from __future__ import annotations

import posixpath
from itertools import count
from pathlib import Path, PurePosixPath

from trainwright.discovery.models import ExistingTraining, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning.plan import Options

DEFAULT_CONFIG_NAME = "training_config.yaml"
DEFAULT_SCRIPT_NAME = "train.py"
SCRIPT_FLAG = "--script"


def file_layout(facts: ProjectFacts, task: str, options: Options) -> tuple[str, str, str]:
    """Where training_config.yaml and the script go, and why."""
    if facts.conventions.config_dir:
        config_path = f"{facts.conventions.config_dir}/{DEFAULT_CONFIG_NAME}"
        reason = f"the project keeps configs in {facts.conventions.config_dir}/"
    else:
        config_path, reason = DEFAULT_CONFIG_NAME, "the project has no config folder"
    existing = facts.existing.training_config
    if existing and existing != config_path:
        config_path, reason = existing, f"the existing {existing} is regenerated in place"
    script_path, script_reason = script_location(facts, task, options.script_path)
    return config_path, script_path, f"{reason}; {script_reason}" if script_reason else reason


def script_location(facts: ProjectFacts, task: str, given: str | None) -> tuple[str, str]:
    """The script's path and why: the one given with --script; else train.py (in the scripts
    folder when the project has one) unless the project's own script is there, then
    train_<task>.py beside it (train_<task>_2.py, ... when that one is the project's too).
    A script trainwright wrote is regenerated in place, so a rerun lands on the same path."""
    if given:
        path = given_script_path(facts.root, given)
        return path, f"{path} given with {SCRIPT_FLAG}"
    folder = facts.conventions.scripts_dir
    where = f"scripts live in {folder}/" if folder else ""
    default = _inside(folder, DEFAULT_SCRIPT_NAME)
    if not _projects_own(facts.existing, default):
        return default, where
    stem = f"train_{task.replace('-', '_')}"
    kept = [default]
    for number in count(1):
        candidate = _inside(folder, f"{stem}.py" if number == 1 else f"{stem}_{number}.py")
        if not _projects_own(facts.existing, candidate):
            break
        kept.append(candidate)
    owned = (f"{kept[0]} is" if len(kept) == 1
             else f"{', '.join(kept[:-1])} and {kept[-1]} are")
    moved = (f"the project's own {owned} kept, so trainwright's script is {candidate} beside "
             f"{'it' if len(kept) == 1 else 'them'} ({SCRIPT_FLAG} PATH chooses the name)")
    return candidate, f"{where}; {moved}" if where else moved


def given_script_path(root: Path, given: str) -> str:
    """--script PATH as a path relative to the project root; a UserError when it leaves the
    project or does not name a Python file."""
    path = posixpath.normpath(given)
    if PurePosixPath(path).is_absolute():
        try:
            path = PurePosixPath(path).relative_to(PurePosixPath(root.as_posix())).as_posix()
        except ValueError:
            path = ".."
    stem = PurePosixPath(given).stem
    suggestion = f"{stem}.py" if stem and not stem.startswith(".") else DEFAULT_SCRIPT_NAME
    if path in {".", ".."} or path.startswith("../"):
        raise UserError(
            f"{SCRIPT_FLAG} {given}: the training script must be inside the project folder "
            f"{root}.",
            "pass a path relative to the project root that stays inside it, e.g. "
            f"{SCRIPT_FLAG} {suggestion}.")
    name = PurePosixPath(path)
    if name.suffix != ".py":
        raise UserError(f"{SCRIPT_FLAG} {given}: the training script must be a Python file "
                        "ending in .py.",
                        f"pass a .py name, e.g. {SCRIPT_FLAG} {name.with_name(suggestion)}.")
    return path


def _inside(folder: str | None, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _projects_own(existing: ExistingTraining, path: str) -> bool:
    """A script at this path that trainwright did not write."""
    return path in existing.training_scripts and path not in existing.generated_scripts
