"""Validate a training config against trainwright's schema and the installed TrainingArguments.

Every problem is collected (never the first only), each with its location
(`training.learning_rate`), what is wrong, and the fix. Problems that have a mechanical fix
(renamed keys, obvious typos, numbers YAML read as strings) carry it for `--fix`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from trainwright.config.fields import FieldSpec
from trainwright.config.renames import RENAMES_BY_OLD, SHORTHANDS
from trainwright.config.schema import (
    METRICS_BY_LABEL_KIND,
    METRICS_BY_TASK,
    REQUIRED_SECTIONS,
    SECTION_MODELS_BY_TASK,
)
from trainwright.discovery.existing import (
    TRAINING_ARGUMENTS,
    classify_foreign_config,
    is_flat_training_arguments,
)
from trainwright.discovery.models import Hardware
from trainwright.planning.precision import precision_problems

SCIENTIFIC_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


@dataclass(frozen=True)
class Problem:
    location: str
    message: str
    fix: str
    severity: str = "error"  # error | warning
    # A mechanical fix for --fix: ("rename", new_key, new_value | None) or ("number", value).
    action: tuple | None = None

    def render(self) -> str:
        return f"{self.location}: {self.message}. Fix: {self.fix}"


# (key, test, what the value must be)
TRAINING_RANGES = (
    ("learning_rate", lambda v: 0 < v < 1, "in (0, 1)"),
    ("num_train_epochs", lambda v: v > 0, "above 0"),
    ("max_steps", lambda v: v == -1 or v >= 1, "-1 (use epochs) or at least 1"),
    ("per_device_train_batch_size", lambda v: v >= 1, "at least 1"),
    ("per_device_eval_batch_size", lambda v: v >= 1, "at least 1"),
    ("gradient_accumulation_steps", lambda v: v >= 1, "at least 1"),
    ("weight_decay", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("warmup_steps", lambda v: v >= 0, "at least 0 (below 1: a fraction of the total steps)"),
    ("warmup_ratio", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("max_grad_norm", lambda v: v > 0, "above 0"),
    ("logging_steps", lambda v: v > 0, "above 0"),
    ("eval_steps", lambda v: v > 0, "above 0"),
    ("save_steps", lambda v: v > 0, "above 0"),
    ("save_total_limit", lambda v: v >= 1, "at least 1 (or null to keep every checkpoint)"),
    ("label_smoothing_factor", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("adam_beta1", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("adam_beta2", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("adam_epsilon", lambda v: 0 < v < 1, "in (0, 1)"),
    ("dataloader_num_workers", lambda v: v >= 0, "at least 0"),
    ("seed", lambda v: v >= 0, "at least 0"),
)


def did_you_mean(key: str, candidates) -> str | None:
    if key in SHORTHANDS and SHORTHANDS[key] in candidates:
        return SHORTHANDS[key]
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def numeric_string(value: Any) -> float | None:
    if isinstance(value, str) and SCIENTIFIC_NUMBER.match(value.strip()):
        return float(value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# trainwright's own sections
# ---------------------------------------------------------------------------------------------

def _pydantic_problems(section: str, values: Any, model) -> list[Problem]:
    if not isinstance(values, Mapping):
        return [Problem(section, f"is a {type(values).__name__}, not a mapping of settings",
                        f"write `{section}:` followed by indented `key: value` lines")]
    problems = []
    for key, value in values.items():
        number = numeric_string(value)
        if number is not None:
            problems.append(Problem(f"{section}.{key}", f"'{value}' is a string to YAML 1.1",
                                    f"write {number!r} (with a dot) so it is read as a number",
                                    "warning", ("number", number)))
    try:
        model.model_validate(dict(values))
    except ValidationError as error:
        for item in error.errors():
            location = ".".join([section, *map(str, item["loc"])])
            key = str(item["loc"][0]) if item["loc"] else ""
            if item["type"] == "extra_forbidden":
                suggestion = did_you_mean(key, model.model_fields)
                if suggestion in values:
                    problems.append(Problem(location, f"repeats `{suggestion}`, which is set",
                                            f"delete `{key}`", action=("delete",)))
                    continue
                problems.append(Problem(
                    location, f"is not a setting of `{section}:`",
                    f"did you mean '{suggestion}'?" if suggestion else
                    f"use one of: {', '.join(model.model_fields)}",
                    action=("rename", suggestion, None) if suggestion else None))
            elif item["type"] == "missing":
                problems.append(Problem(location, "is required",
                                        f"add `{key}:` under `{section}:`"))
            else:
                problems.append(Problem(location, item["msg"].removeprefix("Value error, "),
                                        _field_fix(model, key)))
    return problems


def _field_fix(model, key: str) -> str:
    field = model.model_fields.get(key)
    if field is None:
        return "see README-TRAINING.md"
    bounds = [f"{name} {getattr(meta, name)}" for meta in field.metadata
              for name in ("gt", "ge", "lt", "le", "min_length") if hasattr(meta, name)]
    description = field.description or f"a {getattr(field.annotation, '__name__', 'value')}"
    return f"{description}" + (f" ({', '.join(bounds)})" if bounds else "")


# ---------------------------------------------------------------------------------------------
# training: TrainingArguments of the installed version
# ---------------------------------------------------------------------------------------------

def _type_problem(key: str, value: Any, spec: FieldSpec) -> Problem | None:
    kinds = spec.kinds
    if not kinds or value is None and "None" in kinds:
        return None
    ok = (
        (isinstance(value, bool) and "bool" in kinds)
        or (isinstance(value, int) and not isinstance(value, bool) and kinds & {"int", "float"})
        or (isinstance(value, float) and "float" in kinds)
        or (isinstance(value, str) and "str" in kinds)
        or (isinstance(value, list) and "list" in kinds)
        or (isinstance(value, dict) and "dict" in kinds)
    )
    if ok:
        return None
    return Problem(f"training.{key}", f"is {value!r} ({type(value).__name__}); TrainingArguments "
                   f"expects {spec.annotation}", f"give a {spec.annotation} value")


def _unknown_training_key(key: str, value: Any, training: Mapping, specs) -> Problem:
    location = f"training.{key}"
    rename = RENAMES_BY_OLD.get(key)
    if rename is not None and (rename.new is None or rename.new in specs):
        if rename.new is None:
            return Problem(location, f"was removed in {rename.changed_in}",
                           f"delete it; {rename.note}", action=("delete",))
        new_value = rename.new_value if rename.new_value is not None else value
        if rename.new in training:
            return Problem(location, f"was replaced by `{rename.new}` in {rename.changed_in}, "
                           f"which is also set", f"delete `{key}` ({rename.note})",
                           action=("delete",))
        return Problem(location, f"was renamed to `{rename.new}` in {rename.changed_in}",
                       f"write `{rename.new}: {new_value}` ({rename.note})",
                       action=("rename", rename.new, rename.new_value))
    suggestion = did_you_mean(key, specs)
    if suggestion and suggestion in training:
        return Problem(location, f"is not a TrainingArguments field; it repeats `{suggestion}`, "
                       "which is set", f"delete `{key}`", action=("delete",))
    if suggestion:
        return Problem(location, "is not a TrainingArguments field of the installed transformers",
                       f"did you mean `{suggestion}`?", action=("rename", suggestion, None))
    return Problem(location, "is not a TrainingArguments field of the installed transformers",
                   "delete it, or check the name in the transformers documentation")


def _training_problems(training: Any, specs: dict[str, FieldSpec]) -> list[Problem]:
    if not isinstance(training, Mapping):
        return [Problem("training", f"is a {type(training).__name__}, not a mapping",
                        "write `training:` followed by indented TrainingArguments fields")]
    problems = []
    for key, value in training.items():
        key = str(key)
        if key not in specs:
            problems.append(_unknown_training_key(key, value, training, specs))
            continue
        number = numeric_string(value)
        if number is not None and specs[key].kinds & {"float", "int"}:
            problems.append(Problem(f"training.{key}", f"'{value}' is a string to YAML 1.1 "
                                    "(an exponent without a dot)", f"write {number!r}",
                                    "warning", ("number", number)))
            value = number
        type_problem = _type_problem(key, value, specs[key])
        if type_problem:
            problems.append(type_problem)
            continue
        if specs[key].choices and value not in specs[key].choices:
            suggestion = did_you_mean(str(value), [str(c) for c in specs[key].choices])
            problems.append(Problem(f"training.{key}", f"'{value}' is not one of "
                                    f"{', '.join(map(str, specs[key].choices))}",
                                    f"use '{suggestion}'" if suggestion else "pick one of them"))
    for key, test, expected in TRAINING_RANGES:
        value = training.get(key)
        value = numeric_string(value) or value
        if _is_number(value) and not test(value):
            problems.append(Problem(f"training.{key}", f"is {value}; it must be {expected}",
                                    f"set a value {expected}"))
    warmup = training.get("warmup_steps")
    if isinstance(warmup, float) and warmup >= 1 and not warmup.is_integer():
        problems.append(Problem("training.warmup_steps", f"is {warmup}: below 1 it is a fraction, "
                                "from 1 a number of steps", "write a fraction below 1 or a whole "
                                "number of steps"))
    return problems


# ---------------------------------------------------------------------------------------------
# Rules across fields
# ---------------------------------------------------------------------------------------------

def _cross_field_problems(config: Mapping, hardware: Hardware | None,
                          train_rows: int | None, metrics: tuple[str, ...] | None
                          ) -> list[Problem]:
    """``metrics``: what train.py computes; None when the script is not trainwright's."""
    training = config.get("training") if isinstance(config.get("training"), Mapping) else {}
    data = config.get("data") if isinstance(config.get("data"), Mapping) else {}
    problems = []
    problems += [Problem(key, message, fix)
                 for key, message, fix in precision_problems(dict(training), hardware)]
    if training.get("load_best_model_at_end") is True:
        evaluate = training.get("eval_strategy", training.get("evaluation_strategy", "no"))
        save = training.get("save_strategy", "steps")
        if evaluate != save:
            problems.append(Problem("training.save_strategy", f"is '{save}' but eval_strategy is "
                                    f"'{evaluate}'; load_best_model_at_end needs them equal",
                                    f"set save_strategy: {evaluate}" if evaluate != "no" else
                                    "set eval_strategy and save_strategy to epoch"))
        elif evaluate == "steps":
            every_eval, every_save = training.get("eval_steps"), training.get("save_steps")
            if _is_number(every_eval) and _is_number(every_save) and every_save % every_eval:
                problems.append(Problem("training.save_steps", f"{every_save} is not a multiple "
                                        f"of eval_steps {every_eval}",
                                        f"set save_steps: {every_eval}"))
        metric = training.get("metric_for_best_model")
        if isinstance(metric, str) and metrics is not None and \
                metric.removeprefix("eval_") not in metrics:
            suggestion = did_you_mean(metric.removeprefix("eval_"), metrics)
            problems.append(Problem("training.metric_for_best_model",
                                    f"'{metric}' is not a metric train.py computes "
                                    f"({', '.join(metrics)})",
                                    f"use '{suggestion or metrics[0]}'"))
    loss = config.get("loss") if isinstance(config.get("loss"), Mapping) else {}
    labels = data.get("labels")
    for key in ("class_weights", "pos_weight"):
        weights = loss.get(key)
        if not (isinstance(weights, Mapping) and isinstance(labels, list)):
            continue
        missing = sorted({str(x) for x in labels} - {str(x) for x in weights})
        extra = sorted({str(x) for x in weights} - {str(x) for x in labels})
        if missing or extra:
            problems.append(Problem(f"loss.{key}", "does not match data.labels"
                                    + (f" (no weight for {', '.join(missing)})" if missing else "")
                                    + (f" (unknown {', '.join(extra)})" if extra else ""),
                                    "give one weight per label, or null for none"))
    batch = training.get("per_device_train_batch_size", 8)
    accumulation = training.get("gradient_accumulation_steps", 1)
    if train_rows and _is_number(batch) and _is_number(accumulation) and \
            batch * accumulation > train_rows:
        problems.append(Problem("training.per_device_train_batch_size",
                                f"an effective batch of {batch * accumulation} is larger than "
                                f"the {train_rows} training rows", "lower the batch size or "
                                "gradient_accumulation_steps"))
    return problems


# ---------------------------------------------------------------------------------------------

def validate_config(config: Mapping, specs: dict[str, FieldSpec], *,
                    hardware: Hardware | None = None, train_rows: int | None = None
                    ) -> list[Problem]:
    """Every problem of a loaded config; an empty list means it is valid."""
    problems = []
    task = config.get("task", "classification")
    if not isinstance(task, str) or task not in SECTION_MODELS_BY_TASK:
        problems.append(Problem("task", f"'{task}' is not a training type trainwright writes",
                                f"use one of {', '.join(SECTION_MODELS_BY_TASK)}"))
        task = "classification"
    section_models = SECTION_MODELS_BY_TASK[task]
    known = (*section_models, "training", "task")
    for section in config:
        if section not in known:
            suggestion = did_you_mean(str(section), [k for k in known if k not in config])
            problems.append(Problem(str(section), "is not a section of a trainwright config",
                                    f"did you mean '{suggestion}'?" if suggestion else
                                    f"use the sections {', '.join(known)}",
                                    action=("rename", suggestion, None) if suggestion else None))
    required = (*REQUIRED_SECTIONS, "adapter") if task == "fine-tuning" else REQUIRED_SECTIONS
    for section in required:
        if section not in config:
            problems.append(Problem(section, "is missing", f"add a `{section}:` section "
                                    "(`trainwright init` writes a complete config)"))
    for section, model in section_models.items():
        if section in config:
            problems += _pydantic_problems(section, config[section], model)
    if "training" in config:
        problems += _training_problems(config["training"], specs)
    problems += _cross_field_problems(config, hardware, train_rows, _metrics_of(config, task))
    return problems


# The sections of trainwright's config, of every training type.
TRAINWRIGHT_SECTIONS = frozenset({"task", "training", *(
    section for models in SECTION_MODELS_BY_TASK.values() for section in models)})


def has_trainwright_sections(config: Mapping) -> bool:
    """A `task:` or `training:` key, or another trainwright section (a mapping under one of
    its names; Axolotl's `adapter: lora` is not one)."""
    return "task" in config or "training" in config or any(
        isinstance(config.get(section), Mapping) for section in TRAINWRIGHT_SECTIONS)


def is_training_arguments_file(config: Mapping, specs: dict[str, FieldSpec]) -> bool:
    """A flat TrainingArguments file (what a script passes as `TrainingArguments(**values)`)
    rather than trainwright's config: no trainwright section, and most keys fields of the
    installed TrainingArguments or keys renamed or removed since 4.x, or the keys that mark
    such a file for init (learning_rate with the epochs, batch size or output_dir)."""
    if has_trainwright_sections(config):
        return False
    top_level = dict.fromkeys(map(str, config))  # the keys only: nested blocks do not count
    kind = classify_foreign_config(top_level)
    if kind not in (None, TRAINING_ARGUMENTS):
        return False  # another tool's config (DeepSpeed shares gradient_accumulation_steps)
    return is_flat_training_arguments(top_level, specs) or kind == TRAINING_ARGUMENTS


def validate_training_arguments(arguments: Mapping, specs: dict[str, FieldSpec], *,
                                hardware: Hardware | None = None) -> list[Problem]:
    """Every problem of a flat TrainingArguments file for the installed transformers: the
    checks of a `training:` section, located at the file's top level (`evaluation_strategy`)."""
    problems = (_training_problems(arguments, specs)
                + _cross_field_problems({"training": arguments}, hardware, None, None))
    return [replace(problem, location=problem.location.removeprefix("training."))
            for problem in problems]


def _metrics_of(config: Mapping, task: str) -> tuple[str, ...]:
    """The metrics the task's train.py computes (for classification, of its label kind)."""
    data = config.get("data") if isinstance(config.get("data"), Mapping) else {}
    kind = data.get("label_kind", "single-label")
    if task == "classification" and kind in METRICS_BY_LABEL_KIND:
        return METRICS_BY_LABEL_KIND[kind]
    return METRICS_BY_TASK[task]


def validate_search_space(space: Any, config: Mapping) -> list[Problem]:
    """hyperparameters.json: types, ranges, defaults inside them, names that exist."""
    where = "hyperparameters.json"
    if not isinstance(space, Mapping) or not isinstance(space.get("parameters"), Mapping):
        return [Problem(where, "has no `parameters` mapping", "regenerate it with trainwright "
                        "init, or see README-TRAINING.md for the format")]
    problems = []
    if space.get("direction", "maximize") not in {"maximize", "minimize"}:
        problems.append(Problem(f"{where}: direction", f"is {space.get('direction')!r}",
                                "use maximize or minimize"))
    for name, spec in space["parameters"].items():
        location = f"{where}: parameters.{name}"
        section, _, key = str(name).partition(".")
        block = config.get(section)
        if not isinstance(block, Mapping) or key not in block:
            problems.append(Problem(location, f"names no setting of the config ({section}.{key})",
                                    "use section.key of a value in training_config.yaml"))
        if not isinstance(spec, Mapping) or spec.get("type") not in {"float", "int",
                                                                     "categorical"}:
            problems.append(Problem(location, "needs a type", "type: float, int or categorical"))
            continue
        default = spec.get("default")
        if spec["type"] == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                problems.append(Problem(location, "has no choices", "give a non-empty list"))
            elif default is not None and default not in choices:
                problems.append(Problem(location, f"default {default!r} is not a choice",
                                        "make the default one of the choices"))
            continue
        low, high = spec.get("low"), spec.get("high")
        if not (_is_number(low) and _is_number(high)) or not low < high:
            problems.append(Problem(location, f"range {low!r}..{high!r} is empty or not numeric",
                                    "give numbers with low < high"))
            continue
        if spec.get("log") and low <= 0:
            problems.append(Problem(location, f"a log scale needs low > 0, not {low}",
                                    "raise low above 0 or set log: false"))
        if _is_number(default) and not low <= default <= high:
            problems.append(Problem(location, f"default {default} is outside {low}..{high}",
                                    "widen the range or change the default"))
    return problems
