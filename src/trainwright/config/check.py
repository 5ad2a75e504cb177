"""Validate a config file as `trainwright validate` does: load safely, check, optionally fix."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from trainwright.config.fields import installed_field_specs
from trainwright.config.fix import apply_fixes
from trainwright.config.load import parse_config, parse_config_file, read_config_text
from trainwright.config.validate import (
    Problem,
    has_trainwright_sections,
    is_training_arguments_file,
    validate_config,
    validate_search_space,
    validate_training_arguments,
)
from trainwright.discovery.data import inspect_data_file
from trainwright.discovery.dependencies import installed_version
from trainwright.discovery.existing import (
    CONFIG_DIR_NAMES,
    TRAINING_ARGUMENTS,
    classify_foreign_config,
)
from trainwright.discovery.models import Hardware, is_glob
from trainwright.discovery.walk import is_config_json
from trainwright.errors import UserError
from trainwright.planning.foreign import AXOLOTL, LLAMA_FACTORY, TRL

FINE_TUNING_TOOLS = (AXOLOTL, LLAMA_FACTORY, TRL)  # init imports their configs for fine-tuning
DEFAULT_LOCATIONS = ("training_config.yaml", "configs/training_config.yaml",
                     "config/training_config.yaml")


@dataclass(frozen=True)
class ConfigReport:
    path: Path
    problems: list[Problem]
    fixed: list[str] = field(default_factory=list)
    kind: str = "trainwright"  # or TRAINING_ARGUMENTS: a flat file of TrainingArguments fields
    notes: tuple[str, ...] = ()  # what the file is, when it is not trainwright's config

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def find_config(given: str | None, command: str = "validate") -> Path:
    """The config a command works on: a file, a project folder holding one, or (with nothing
    given) the one in or below the current folder."""
    if given and not Path(given).is_dir():
        return Path(given)
    folder = Path(given) if given else Path(".")
    for candidate in DEFAULT_LOCATIONS:
        if (folder / candidate).is_file():
            return folder / candidate
    below = sorted(path for path in folder.glob("*/training_config.yaml"))
    below += sorted(path for path in folder.glob("*/*/training_config.yaml"))
    if not given and len(below) == 1:
        return below[0]
    where = f"{folder}" if given else "this folder"
    if below:
        raise UserError(f"No training_config.yaml in {where}, but {len(below)} below it:",
                        f"name one: trainwright {command} {below[0]}",
                        problems=[str(path) for path in below])
    raise UserError(f"No training_config.yaml in {where} (looked in ., configs/ and config/).",
                    f"pass its path (trainwright {command} path/to/training_config.yaml) or a "
                    "project folder, or write one with `trainwright init TYPE PROJECT`.")


def _nearby(path: Path, relative: str) -> Path | None:
    """A path from the config, as train.py resolves it (from the project root)."""
    for base in (Path.cwd(), path.parent, path.parent.parent):
        candidate = base / relative
        if candidate.exists():
            return candidate
    return None


def _split_files(path: Path, value: object) -> list[Path]:
    """The local files of a config's data.*_file (a path, a glob or a list), as train.py
    finds them from the project root; [] when they are not here (or a Hub name)."""
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(name, str) and name for name in names):
        return []
    for base in (Path.cwd(), path.parent, path.parent.parent):
        files = []
        for name in names:
            files += sorted(base.glob(name)) if is_glob(name) else \
                [base / name] if (base / name).exists() else []
        if files:
            return files
    return []


def _inspect_split(path: Path, value: object):
    """What discovery sees in a config's data.*_file, or None when it is not here."""
    files = _split_files(path, value)
    if not files:
        return None
    return inspect_data_file(files[0], files[0].parent, members=files)


def _train_rows(config: dict, path: Path) -> int | None:
    data = config.get("data")
    facts = _inspect_split(path, data.get("train_file")) if isinstance(data, dict) else None
    return facts.rows if facts is not None else None


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


def init_command(path: Path, task: str = "TYPE") -> str:
    """`trainwright init TYPE PROJECT --from FILE` for a config file: the project is its
    folder, or the one above when that is a config/ or configs/ folder."""
    folder = path.parent
    root = folder.parent if folder.name in CONFIG_DIR_NAMES else folder
    project = "" if root == Path(".") else f" {shlex.quote(str(root))}"
    return (f"trainwright init {task}{project} --from "
            f"{shlex.quote(path.relative_to(root).as_posix())}")


def _training_arguments_note(path: Path) -> str:
    version = installed_version("transformers")
    checked = (f"the TrainingArguments of the installed transformers {version}" if version else
               "the TrainingArguments fields of the newest transformers trainwright knows "
               "(transformers is not installed here)")
    found = path.suffix.lower() in {".yaml", ".yml"} or is_config_json(path.name)
    how = (f"`{init_command(path)}` writes a trainwright training_config.yaml from its values"
           if found else f"init reads JSON configs named *config*.json or *args*.json: rename "
           f"it (training_args.json), then `{init_command(path.with_name('training_args.json'))}`"
           " writes a trainwright training_config.yaml from its values")
    return (f"{path} is a flat {TRAINING_ARGUMENTS} file (no `task:` and no trainwright "
            f"sections): its keys are checked as {checked}; {how}.")


def _refuse_other_tools(config: dict, path: Path) -> None:
    """Another tool's config (Axolotl, DeepSpeed, ...) is not checked as trainwright's."""
    if has_trainwright_sections(config):
        return
    kind = classify_foreign_config(config)
    if kind is not None:
        task = "fine-tuning" if kind in FINE_TUNING_TOOLS else "TYPE"
        raise UserError(f"{path} is a config for {kind}, not a trainwright training_config.yaml "
                        "or a flat TrainingArguments file, the two that validate checks.",
                        f"`{init_command(path, task)}` writes a trainwright config from its "
                        "values; validate that one.")


def check_config(path: Path, *, fix: bool = False, hardware: Hardware | None = None
                 ) -> ConfigReport:
    """Every problem of a trainwright config, or of a flat TrainingArguments file (YAML or
    JSON) checked as the installed TrainingArguments; with ``fix``, the mechanical fixes
    applied in place after a .bak backup."""
    text = read_config_text(path)
    config = parse_config_file(text, path)
    specs = installed_field_specs()
    flat = is_training_arguments_file(config, specs)
    if not flat:
        _refuse_other_tools(config, path)

    def problems_of(loaded: dict) -> list[Problem]:
        if flat:
            return validate_training_arguments(loaded, specs, hardware=hardware)
        return (validate_config(loaded, specs, hardware=hardware,
                                train_rows=_train_rows(loaded, path))
                + _search_space_problems(loaded, path))

    problems = problems_of(config)
    fixed: list[str] = []
    if fix and any(p.action for p in problems):
        fixed = apply_fixes(path, text, problems)
        if fixed:
            problems = problems_of(parse_config_file(read_config_text(path), path))
    if flat:
        return ConfigReport(path, problems, fixed, TRAINING_ARGUMENTS,
                            (_training_arguments_note(path),))
    return ConfigReport(path, problems, fixed)


def estimate_for_file(path: Path, gpu_name: str | None, processes: int = 1,
                      strategy: str | None = None):
    """Load a config and estimate its memory and time on a named or the detected GPU (per
    device of ``processes`` under ``strategy``; by default the config's distributed section)."""
    from trainwright.discovery.hardware import probe_hardware
    from trainwright.discovery.model import describe_model
    from trainwright.planning.estimate import estimate_config
    from trainwright.planning.gpus import lookup_gpu, spec_for

    config = parse_config(read_config_text(path), str(path))
    problems = [p for p in validate_config(config, installed_field_specs()) if
                p.severity == "error" and p.location.split(".")[0] in {"model", "data"}]
    if problems:
        raise UserError(f"{path} cannot be estimated:",
                        f"fix those keys (`trainwright validate {path}` explains each).",
                        problems=[p.render() for p in problems])
    model = describe_model(str(config["model"]["name_or_path"]), Path.cwd())
    if model.num_parameters is None:
        raise UserError(f"The model '{model.name_or_path}' is neither a local folder with a "
                        "config.json nor in trainwright's table of common models.",
                        "download it once (huggingface-cli download NAME --local-dir DIR) and "
                        "point model.name_or_path at that folder.")
    hardware = probe_hardware()
    gpu = lookup_gpu(gpu_name) if gpu_name else (spec_for(hardware.gpus[0]) if hardware.gpus
                                                  else None)
    facts = _inspect_split(path, config["data"]["train_file"])
    rows = mean_tokens = None
    if facts is not None:
        rows = facts.rows
        if rows and not config["data"].get("validation_file"):
            # train.py carves the validation split out of the training file.
            rows = int(rows * (1 - float(config["data"].get("validation_fraction") or 0.0)))
        words = facts.text_length_words.get("p50")
        mean_tokens = words * 1.4 + 2 if words is not None else None
    return estimate_config(config, model, gpu, hardware.ram_mib, rows, mean_tokens, processes,
                           strategy)
