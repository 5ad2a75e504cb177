"""Planning rules shared by every training type: data selection, layout, cadence, loaders."""

from __future__ import annotations

import math

from trainwright.discovery.models import DataFile, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning.plan import Choice, Options

DEFAULT_CONFIG_NAME = "training_config.yaml"
DEFAULT_SCRIPT_NAME = "train.py"


def pick_by_table(table: tuple, amount: float):
    """First entry of a ((limit, value...), ...) table whose limit exceeds amount."""
    for limit, *rest in table:
        if limit is None or amount < limit:
            return rest[0] if len(rest) == 1 else tuple(rest)
    raise ValueError("a default table must end with a None limit")


def p99(values: list[int]) -> int:
    """The 99th percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def file_layout(facts: ProjectFacts) -> tuple[str, str, str]:
    """Where training_config.yaml and train.py go, and why."""
    if facts.conventions.config_dir:
        config_path = f"{facts.conventions.config_dir}/{DEFAULT_CONFIG_NAME}"
        reason = f"the project keeps configs in {facts.conventions.config_dir}/"
    else:
        config_path, reason = DEFAULT_CONFIG_NAME, "the project has no config folder"
    existing = facts.existing.training_config
    if existing and existing != config_path:
        config_path, reason = existing, f"the existing {existing} is regenerated in place"
    if facts.conventions.scripts_dir:
        script_path = f"{facts.conventions.scripts_dir}/{DEFAULT_SCRIPT_NAME}"
        reason += f"; scripts live in {facts.conventions.scripts_dir}/"
    else:
        script_path = DEFAULT_SCRIPT_NAME
    return config_path, script_path, reason


def _is_usable(data: DataFile) -> bool:
    return not any("binary" in p or "not UTF-8" in p or "not valid" in p for p in data.problems)


def select_splits(facts: ProjectFacts, needs_labels: bool
                  ) -> tuple[DataFile, DataFile | None, DataFile | None]:
    """Choose the train / validation / test files; raise a UserError naming every problem."""
    if not facts.data:
        raise UserError(
            f"No data files found in {facts.root} (looked for csv, tsv, json, jsonl, parquet, "
            "txt and save_to_disk folders at the root and under data/ or datasets/).",
            "put the data under data/ or pass it with --data path/to/train.csv.",
        )
    unreadable = [p for data in facts.data if not _is_usable(data) for p in data.problems]
    usable = [data for data in facts.data if _is_usable(data)]
    if not usable:
        raise UserError("No data file can be read:", "pass a CSV, JSON Lines or Parquet file "
                        "with --data.", problems=unreadable)
    by_split = {split: [d for d in usable if d.split == split]
                for split in ("train", "validation", "test")}
    train = (by_split["train"] or [d for d in usable if d.split is None]
             or usable)
    labelled = [d for d in train if d.label_column] if needs_labels else train
    train_file = max(labelled or train, key=lambda d: (d.rows or 0, d.size_bytes))
    validation = by_split["validation"][0] if by_split["validation"] else None
    test = by_split["test"][0] if by_split["test"] else None
    return train_file, validation, test


def cadence(train_rows: int, effective_batch: int, epochs: int) -> dict[str, Choice]:
    """Evaluation, saving and logging cadence from the number of optimiser steps."""
    steps_per_epoch = max(1, math.ceil(train_rows / effective_batch))
    logging_steps = max(1, min(50, steps_per_epoch // 4))
    choices: dict[str, Choice] = {}
    if steps_per_epoch <= 1000:
        reason = (f"{steps_per_epoch} steps per epoch: evaluating once per epoch is frequent "
                  "enough and cheap")
        choices["eval_strategy"] = Choice("epoch", reason)
        choices["save_strategy"] = Choice("epoch", "saved when evaluated, so the best "
                                                   "checkpoint can be restored")
    else:
        interval = max(100, min(2000, round(steps_per_epoch / 4, -2)))
        reason = (f"{steps_per_epoch} steps per epoch: evaluating every {interval} steps "
                  "(about 4 times an epoch) catches the best point without slowing training")
        choices["eval_strategy"] = Choice("steps", reason)
        choices["eval_steps"] = Choice(interval, reason)
        choices["save_strategy"] = Choice("steps", "saved when evaluated, so the best "
                                                   "checkpoint can be restored")
        choices["save_steps"] = Choice(interval, "the same interval as evaluation")
    choices["logging_steps"] = Choice(
        logging_steps, f"about 4 loss readings per epoch of {steps_per_epoch} steps (at most "
                       "every 50 steps)")
    choices["_steps_per_epoch"] = Choice(steps_per_epoch, "")
    return choices


def format_count(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.1f} B"
    if count >= 1e6:
        return f"{count / 1e6:.1f} M"
    return f"{count / 1e3:.0f} K"


def existing_values_for(facts: ProjectFacts, task: str) -> dict:
    """The existing training_config.yaml's values when it was written for the same task (a
    classification config says nothing about a language-modelling run)."""
    values = facts.existing.training_config_values
    if not isinstance(values, dict) or values.get("task", "classification") != task:
        return {}
    return values


def _existing_value(facts: ProjectFacts, section: str, key: str, task: str):
    block = existing_values_for(facts, task).get(section)
    return block.get(key) if isinstance(block, dict) else None


# Settings that follow from the hardware: always planned for the hardware at hand, never kept
# from an existing config (which may have been written for another machine).
HARDWARE_KEYS = {"bf16", "fp16", "tf32", "use_cpu", "per_device_train_batch_size",
                 "per_device_eval_batch_size", "gradient_accumulation_steps",
                 "gradient_checkpointing", "dataloader_num_workers", "dataloader_pin_memory",
                 "optim"}


def given_on_command_line(options: Options) -> set[str]:
    """Keys whose value a command-line flag set: they win over an existing config."""
    flags = {"output_dir": options.output_dir, "report_to": options.report_to,
             "text_column": options.text_column, "label_column": options.label_column}
    return {key for key, value in flags.items() if value}


def keep_existing_values(facts: ProjectFacts, task: str, section: str,
                         choices: dict[str, Choice], given: set[str] = frozenset()) -> None:
    """Values of an existing training_config.yaml are the starting point of the plan; flags
    and the hardware at hand win over them."""
    source = facts.existing.training_config
    for key in list(choices):
        if key in given or (section == "training" and key in HARDWARE_KEYS):
            continue
        value = _existing_value(facts, section, key, task)
        if value is not None and value != choices[key].value:
            choices[key] = Choice(value, f"kept from the existing {source}")


def warmup_choice(fields: set[str], fraction: float, reason: str) -> dict[str, Choice]:
    # transformers 5 removed warmup_ratio: a float warmup_steps below 1 is the ratio.
    if "warmup_ratio" in fields:
        return {"warmup_ratio": Choice(fraction, reason)}
    return {"warmup_steps": Choice(fraction, reason + " (a value below 1 is a fraction of the "
                                                      "total steps)")}


def version_key(key: str, fields: set[str]) -> str:
    # The renamed evaluation key: eval_strategy since transformers 4.41.
    if key == "eval_strategy" and key not in fields and "evaluation_strategy" in fields:
        return "evaluation_strategy"
    return key


def report_to_choice(facts: ProjectFacts, options: Options) -> Choice:
    if options.report_to:
        return Choice(options.report_to, "given with --report-to")
    if facts.dependencies.version("tensorboard"):
        return Choice("tensorboard", "tensorboard is installed: `tensorboard --logdir "
                                     "<output_dir>` shows the curves; wandb only when asked "
                                     "(--report-to wandb)")
    return Choice("none", "no tracker installed (pip install tensorboard to get curves); "
                          "wandb only when asked (--report-to wandb)")


def plan_warnings(facts: ProjectFacts, train: DataFile) -> tuple[str, ...]:
    warnings = list(train.problems)
    if facts.framework.chosen in {"tensorflow", "jax"}:
        warnings.append(
            f"This project uses {facts.framework.chosen}. transformers 5 trains with PyTorch "
            "only, so the generated setup is PyTorch; models saved by it load in PyTorch (see "
            "README-TRAINING.md).")
    missing = facts.dependencies.missing(("transformers", "torch", "datasets", "accelerate",
                                          "scikit-learn"))
    if missing:
        warnings.append(f"Not installed: {', '.join(missing)}. Install them with "
                        "`pip install -r requirements-training.txt` before training.")
    if not facts.dependencies.transformers_installed:
        warnings.append(f"transformers is not installed: the config targets transformers "
                        f"{facts.dependencies.transformers_target}, the newest version "
                        "trainwright knows.")
    warnings += list(facts.existing.problems)
    return tuple(warnings)
