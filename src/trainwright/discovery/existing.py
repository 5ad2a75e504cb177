"""Existing training scripts and configs, foreign training configs, and project conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from trainwright.config.renames import RENAMES_BY_OLD
from trainwright.discovery.dependencies import KNOWN_TRAINING_ARGUMENT_FIELDS
from trainwright.discovery.framework import GENERATED_MARKER
from trainwright.discovery.models import Conventions, ExistingTraining, ForeignConfig

TRAINING_CONFIG_NAMES = ("training_config.yaml", "training_config.yml")
CONFIG_DIR_NAMES = ("configs", "config")
SCRIPT_DIR_NAMES = ("scripts", "bin", "tools")
MAX_CONFIG_BYTES = 256 * 1024
HEAD_BYTES = 4096  # trainwright's marker sits in a script's docstring, in its first KB
TRAINING_SCRIPT_RE = re.compile(r"^(train|training|finetune|fine_tune|pretrain)([_-].*)?$|"
                                r"^.*[_-](train|training|finetune)$")

# A foreign config is recognised by keys only its tool uses.
FOREIGN_SIGNATURES = (
    ("axolotl", {"base_model"}, {"datasets", "adapter", "micro_batch_size", "sequence_len"}),
    ("llama-factory", {"stage", "finetuning_type"}, set()),
    ("deepspeed", set(), {"zero_optimization", "train_micro_batch_size_per_gpu"}),
    ("accelerate", {"compute_environment"}, {"distributed_type", "mixed_precision"}),
    ("trl", set(), {"dataset_text_field", "max_seq_length", "completion_only_loss",
                    "assistant_only_loss", "use_peft", "dataset_name", "packing"}),
    ("transformers TrainingArguments", {"learning_rate"},
     {"num_train_epochs", "per_device_train_batch_size", "output_dir"}),
)


def classify_foreign_config(values: dict) -> str | None:
    keys = set(values)
    for nested in ("training", "trainer", "args"):
        if isinstance(values.get(nested), dict):
            keys |= set(values[nested])
    for kind, required, any_of in FOREIGN_SIGNATURES:
        if required <= keys and (not any_of or keys & any_of):
            return kind
    return None


TRAINING_ARGUMENTS = "transformers TrainingArguments"
OWN_CONFIG_KEYS = ("task", "training")  # what makes a mapping trainwright's own config


def is_flat_training_arguments(values: dict, fields, sections=OWN_CONFIG_KEYS) -> bool:
    """Whether a mapping is TrainingArguments at its top level, as a script passes a YAML or
    JSON file to `TrainingArguments(**values)`: none of `sections`, and most keys (two at
    least) a field of `fields` or a key renamed or removed since transformers 4.x."""
    keys = [str(key) for key in values]
    if any(key in sections for key in keys):
        return False
    names = {*fields, *RENAMES_BY_OLD}
    known = sum(key in names for key in keys)
    return known >= 2 and 2 * known > len(keys)


def foreign_kind(values: dict) -> str | None:
    """The tool a config was written for: by the keys only that tool uses, or a flat
    TrainingArguments file; None for anything else."""
    if not values:
        return None
    flat = is_flat_training_arguments(values, KNOWN_TRAINING_ARGUMENT_FIELDS)
    return classify_foreign_config(values) or (TRAINING_ARGUMENTS if flat else None)


def foreign_kind_of_training_config(values: dict) -> str | None:
    """The tool a training_config.yaml without trainwright's structure (no `task:` and no
    `training:` section) was written for, or None when it is trainwright's (or nobody's)."""
    if any(key in values for key in OWN_CONFIG_KEYS):
        return None
    return foreign_kind(values)


def _load_mapping(path: Path) -> tuple[dict | None, str | None]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None, f"{path.name} is larger than {MAX_CONFIG_BYTES // 1024} KB; not read"
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as error:
        return None, f"{path.name} could not be parsed ({str(error).splitlines()[0]})"
    if values is None:
        return {}, None
    if not isinstance(values, dict):
        return None, f"{path.name} holds a {type(values).__name__}, not a mapping of settings"
    return values, None


ACCELERATE_CONFIG = "accelerate_config.yaml"  # the name planning/distributed.py writes


def written_by_trainwright(path: Path) -> bool:
    """Whether the head of a file carries trainwright's marker (an earlier init wrote it)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return GENERATED_MARKER in handle.read(HEAD_BYTES)
    except OSError:
        return False


def discover_existing(root: Path, python_files: list[Path], config_files: list[Path]
                      ) -> ExistingTraining:
    scripts = sorted(
        path.relative_to(root).as_posix()
        for path in python_files
        if TRAINING_SCRIPT_RE.match(path.stem.lower())
    )
    config_dirs = tuple(name for name in CONFIG_DIR_NAMES if (root / name).is_dir())
    problems: list[str] = []
    training_config, training_values = None, {}
    for folder in ("", *config_dirs):
        for name in TRAINING_CONFIG_NAMES:
            candidate = root / folder / name
            if candidate.is_file() and training_config is None:
                values, problem = _load_mapping(candidate)
                training_config = candidate.relative_to(root).as_posix()
                if problem:
                    problems.append(f"{training_config}: {problem}; its values are not reused")
                else:
                    training_values = values or {}
    foreign = []
    kind = foreign_kind_of_training_config(training_values)
    if kind:  # another tool's file under trainwright's name: imported, not reused as its own
        foreign.append(ForeignConfig(training_config, kind, training_values,
                                     _dataset_info(root, training_values)
                                     if kind == "llama-factory" else None))
        training_values = {}
    # The launcher configs an earlier init wrote (accelerate's carries the marker; DeepSpeed's
    # JSON cannot, so it is the one trainwright's own training config names) are not imported.
    ours = training_config is not None and written_by_trainwright(root / training_config)
    deepspeed = (training_values.get("training") or {}).get("deepspeed") if ours and \
        isinstance(training_values.get("training"), dict) else None
    launchers = []
    for path in config_files:
        relative = path.relative_to(root).as_posix()
        if relative == training_config or len(path.relative_to(root).parts) > 3:
            continue
        if relative == deepspeed or written_by_trainwright(path):
            if relative == deepspeed or path.name == ACCELERATE_CONFIG:
                launchers.append(relative)
            continue
        values, _ = _load_mapping(path)
        kind = foreign_kind(values) if values else None
        if kind:
            foreign.append(ForeignConfig(relative, kind, values,
                                         _dataset_info(root, values) if kind == "llama-factory"
                                         else None))
    return ExistingTraining(
        training_scripts=tuple(scripts),
        generated_scripts=tuple(script for script in scripts
                                if written_by_trainwright(root / script)),
        training_config=training_config,
        training_config_values=training_values,
        config_dirs=config_dirs,
        foreign_configs=tuple(sorted(foreign, key=lambda config: config.path)),
        problems=tuple(problems),
        launcher_configs=tuple(sorted(launchers)),
    )


def _dataset_info(root: Path, values: dict) -> dict | None:
    """LLaMA-Factory names its datasets in <dataset_dir>/dataset_info.json (dataset_dir: data)."""
    folder = values.get("dataset_dir") or "data"
    info, _ = _load_mapping(root / str(folder) / "dataset_info.json")
    return info or None


def _line_length(root: Path) -> tuple[int | None, str | None]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None, None
    text = pyproject.read_text(encoding="utf-8", errors="replace")
    try:
        import tomllib

        data = tomllib.loads(text)
        tool = data.get("tool", {})
        for name in ("ruff", "black"):
            value = tool.get(name, {}).get("line-length")
            if isinstance(value, int):
                return value, f"pyproject.toml [tool.{name}] line-length"
        return None, None
    except ImportError:  # Python 3.10: no tomllib; a line match is enough for this one key
        match = re.search(r"^line-length\s*=\s*(\d+)", text, re.MULTILINE)
        return (int(match.group(1)), "pyproject.toml line-length") if match else (None, None)
    except ValueError:
        return None, None


def discover_conventions(root: Path, top_level_dirs: set[str]) -> Conventions:
    scripts_dir = next((d for d in SCRIPT_DIR_NAMES if d in top_level_dirs), None)
    config_dir = next((d for d in CONFIG_DIR_NAMES if d in top_level_dirs), None)
    line_length, source = _line_length(root)
    return Conventions(scripts_dir, config_dir, line_length, source)
