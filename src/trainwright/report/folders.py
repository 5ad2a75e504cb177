"""Which folder a report reads, and the training_config.yaml a run folder belongs to."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from trainwright.config.check import DEFAULT_LOCATIONS, find_config
from trainwright.config.load import parse_config, read_config_text
from trainwright.discovery.existing import CONFIG_DIR_NAMES
from trainwright.errors import UserError

CHECKPOINT = re.compile(r"checkpoint-(\d+)")
RUN_FILES = "final_metrics.json, trainer_state.json or checkpoint-*/trainer_state.json"
QUICK_CHECK = "quick-check"  # where train.py's quick check goes beside a finished run
SEARCH = "hpo"  # where train.py --hpo keeps its trials
MAX_JSON_BYTES = 256 * 2**20
CONFIG_SEARCH_DEPTH = 4  # run folders sit at most a few levels below the project root


@dataclass(frozen=True)
class RunConfig:
    path: Path
    values: dict
    root: Path  # the project root: train.py runs there and output_dir is relative to it
    output_dir: Path  # training.output_dir, resolved


def checkpoints(folder: Path) -> list[Path]:
    """The folder's checkpoint-N folders, by step."""
    found = [(int(m.group(1)), path) for path in folder.glob("checkpoint-*")
             if path.is_dir() and (m := CHECKPOINT.fullmatch(path.name))]
    return [path for _, path in sorted(found)]


def is_run(folder: Path) -> bool:
    return ((folder / "final_metrics.json").is_file() or (folder / "trainer_state.json").is_file()
            or any((c / "trainer_state.json").is_file() for c in checkpoints(folder)))


def read_json(path: Path) -> dict:
    """A JSON object from a run's file; a UserError naming the file when it is not one."""
    if path.stat().st_size > MAX_JSON_BYTES:
        raise UserError(f"{path} is {path.stat().st_size / 2**20:,.0f} MiB, too large for the "
                        "file train.py writes there.", "check that this is a run folder.")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}).",
                        "a run killed while writing it leaves it cut short: rerun the training "
                        "command, which resumes from the last checkpoint.") from None
    if not isinstance(value, dict):
        raise UserError(f"{path} holds a JSON {type(value).__name__}, not the object train.py "
                        "writes.", "check that this is a run folder.")
    return value


def resolve_run_folder(given: str | None) -> Path:
    """The run folder a report reads: the one given; for a project folder or a
    training_config.yaml (or none given: the current folder's config), the config's
    training.output_dir."""
    if given is None:
        return _output_dir_of(find_config(None, "report"))
    path = Path(given)
    if not path.exists():
        raise UserError(f"{given} does not exist.", "pass the training.output_dir of a run "
                        "(for example outputs/classification).")
    if path.is_file():
        if path.suffix.lower() in {".yaml", ".yml"}:
            return _output_dir_of(path)
        raise UserError(f"{given} is a file, not a run folder.", "pass the folder train.py "
                        "wrote to (training.output_dir), or its training_config.yaml.")
    if CHECKPOINT.fullmatch(path.name) and is_run(path.parent):
        raise UserError(f"{given} is a checkpoint of the run in {path.parent}, not a run.",
                        f"report the whole run: trainwright report {path.parent}")
    if is_run(path) or not any((path / name).is_file() for name in DEFAULT_LOCATIONS):
        return _checked_run(path, given)
    return _output_dir_of(find_config(given, "report"))


def _output_dir_of(config_path: Path) -> Path:
    config = _load(config_path)
    if config is None:
        raise UserError(f"{config_path} has no training.output_dir to report on.",
                        "pass the run folder: trainwright report OUTPUT_DIR.")
    folder = _relative(config.output_dir)
    if not folder.is_dir():
        raise UserError(f"{folder} (training.output_dir of {config_path}) does not exist: "
                        "nothing has trained there yet.",
                        f"start training first: {train_command(config)} (from "
                        f"{_relative(config.root)}).")
    return _checked_run(folder, str(folder))


def train_command(config: RunConfig) -> str:
    """The command that trains (and resumes) the run: the one the config's header names."""
    for line in read_config_text(config.path).splitlines()[:20]:
        if line.startswith("# Train:"):
            return line.removeprefix("# Train:").strip()
    return f"python train.py --config {config.path.resolve().relative_to(config.root).as_posix()}"


def _relative(path: Path) -> Path:
    """A resolved path as the user would type it: relative to the current folder inside it."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _checked_run(folder: Path, shown: str) -> Path:
    if is_run(folder):
        return folder
    below = sorted(str(path) for path in [*folder.glob("*"), *folder.glob("*/*")]
                   if path.is_dir() and not CHECKPOINT.fullmatch(path.name) and is_run(path))
    raise UserError(f"{shown} is not a training run: it has no {RUN_FILES}.",
                    f"pass one of the runs below it: trainwright report {below[0]}" if below else
                    "pass the training.output_dir of a run (train.py writes its checkpoints, "
                    "trainer_state.json and final_metrics.json there), or a project folder with "
                    "its training_config.yaml.", problems=below[:10])


def find_run_config(folder: Path) -> tuple[RunConfig | None, list[str]]:
    """The training_config.yaml of a project above the folder whose output_dir is the folder,
    or holds it as its quick check or as a trial of its search; and the configs on the way
    that could not be read (a report still stands without its config)."""
    folder = folder.resolve()
    owners = {folder}
    if folder.name == QUICK_CHECK:
        owners.add(folder.parent)
    if folder.parent.name == SEARCH and folder.name.startswith("trial-"):
        owners.add(folder.parent.parent)
    unreadable = []
    for root in [folder, *folder.parents][:CONFIG_SEARCH_DEPTH + 1]:
        for name in DEFAULT_LOCATIONS:
            path = root / name
            if not path.is_file():
                continue
            try:
                config = _load(path, root)
            except UserError as error:
                unreadable.append(error.problem)
                continue
            if config is not None and config.output_dir in owners:
                return config, unreadable
    return None, unreadable


def _load(path: Path, root: Path | None = None) -> RunConfig | None:
    """The config with its output_dir resolved from the project root; None when it has none
    (or is not a mapping); its parse errors are the user's to see."""
    values = parse_config(read_config_text(path), str(path))
    training = values.get("training") if isinstance(values, dict) else None
    output_dir = training.get("output_dir") if isinstance(training, dict) else None
    if not isinstance(output_dir, str) or not output_dir:
        return None
    if root is None:
        root = path.parent.parent if path.parent.name in CONFIG_DIR_NAMES else path.parent
    return RunConfig(path, values, root.resolve(), (root / output_dir).resolve())
