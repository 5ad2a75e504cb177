"""An existing training_config.yaml of the same task is the starting point of the plan;
command-line flags and the hardware at hand win over it."""

from __future__ import annotations

from trainwright.discovery.models import ProjectFacts
from trainwright.planning.foreign import Imports, apply_imports, coerce, imports_for
from trainwright.planning.plan import EXISTING, Choice, Options

# Settings that follow from the hardware: always planned for the hardware at hand, never kept
# from an existing config (which may have been written for another machine).
HARDWARE_KEYS = {"bf16", "fp16", "tf32", "use_cpu", "per_device_train_batch_size",
                 "per_device_eval_batch_size", "gradient_accumulation_steps",
                 "gradient_checkpointing", "dataloader_num_workers", "dataloader_pin_memory",
                 "optim"}


def existing_values_for(facts: ProjectFacts, task: str) -> dict:
    """The existing training_config.yaml's values when it was written for the same task (a
    classification config says nothing about a language-modelling run)."""
    values = facts.existing.training_config_values
    if not isinstance(values, dict) or values.get("task", "classification") != task:
        return {}
    return values


def existing_value(facts: ProjectFacts, task: str, section: str, key: str):
    block = existing_values_for(facts, task).get(section)
    return block.get(key) if isinstance(block, dict) else None


def given_on_command_line(options: Options) -> set[str]:
    """Keys whose value a command-line flag set: they win over an existing config."""
    flags = {"output_dir": options.output_dir, "report_to": options.report_to,
             "text_column": options.text_column, "label_column": options.label_column,
             "label_kind": options.label_kind}
    return {key for key, value in flags.items() if value}


def keep_existing_values(facts: ProjectFacts, task: str, options: Options, section: str,
                         choices: dict[str, Choice]) -> dict[str, Choice]:
    """The choices with the existing config's values where it has them, then with the values
    of the project's configs for other tools (planning/foreign.py)."""
    imports = imports_for(facts, task, options.import_from)
    kept = _keep_existing(facts, task, options, section, choices, imports)
    hardware = HARDWARE_KEYS if section == "training" else set()
    return apply_imports(facts, imports, section, kept,
                         skip=hardware | given_on_command_line(options))


def _keep_existing(facts: ProjectFacts, task: str, options: Options, section: str,
                   choices: dict[str, Choice], imports: Imports) -> dict[str, Choice]:
    source = facts.existing.training_config
    given = given_on_command_line(options)
    kept = dict(choices)
    for key, choice in choices.items():
        if key in given or choice.given or (section == "training" and key in HARDWARE_KEYS):
            continue
        value = existing_value(facts, task, section, key)
        imported = imports.get(section, key)
        if imported is not None and coerce(imported.value, value) == value:
            continue  # imported on an earlier run: it stays the import, for the same reason
        if value is not None and value != choice.value:
            # The value is the user's; the reason says what this run's facts would plan.
            kept[key] = Choice(value, f"kept from the existing {source}; planned from this "
                                      f"run's facts it would be {choice.value!r}: "
                                      f"{choice.reason}",
                               f"kept from the existing {source}", source=EXISTING)
    return kept
