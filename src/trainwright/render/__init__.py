"""Render a Plan into the files of a training setup (Jinja2, StrictUndefined)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import PurePosixPath
from typing import Any

import jinja2
import yaml

from trainwright import __version__
from trainwright.planning.plan import Plan, SearchParameter
from trainwright.render.pictures import PICTURE_FILE, Glance, caption

LINE_WIDTH = 100  # of the generated YAML
PLAIN_STRING = re.compile(r"[A-Za-z_./][A-Za-z0-9_./+-]*")

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("trainwright", "render/templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)

GITIGNORE_LINES = (".env", "outputs/", "checkpoint-*/", "runs/", "wandb/", "*.bak")


def yaml_value(value: Any) -> str:
    """One YAML scalar or flow collection that reads back as exactly ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"  # YAML 1.1 reads 2e-05 as a string
        return text
    if isinstance(value, str):
        if PLAIN_STRING.fullmatch(value) and yaml.safe_load(value) == value:
            return value
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_value(str(k))}: {yaml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"cannot render {type(value).__name__} as YAML")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def commented_line(line: str, comment: str, indent: str) -> str:
    """`line  # comment` within LINE_WIDTH columns, else the comment on its own lines above."""
    if len(line) + len(comment) + 4 <= LINE_WIDTH:
        return f"{line}  # {comment}"
    return "\n".join(textwrap.wrap(comment, LINE_WIDTH, initial_indent=f"{indent}# ",
                                   subsequent_indent=f"{indent}# ", break_on_hyphens=False)
                     + [line])


def yaml_entry(key: str, choice, indent: str = "  ") -> str:
    """`key: value  # comment` within LINE_WIDTH columns; a comment that does not fit goes on
    its own line above the key. A mapping with a clause per key (Choice.parts) is written one
    key a line, each with its clause."""
    comment = one_line(choice.short)
    if choice.parts and isinstance(choice.value, dict):
        clauses = dict(choice.parts)
        items = [commented_line(f"{indent}  {yaml_value(str(name))}: {yaml_value(value)}",
                                one_line(clauses.get(name, "")), indent + "  ")
                 if clauses.get(name) else f"{indent}  {yaml_value(str(name))}: "
                 f"{yaml_value(value)}" for name, value in choice.value.items()]
        return "\n".join([commented_line(f"{indent}{key}:", comment, indent), *items])
    line = f"{indent}{key}: {yaml_value(choice.value)}"
    if len(line) + len(comment) + 4 <= LINE_WIDTH:
        return f"{line}  # {comment}"
    value = choice.value
    if len(line) > LINE_WIDTH and isinstance(value, (dict, list, tuple)) and value:
        # A long collection reads better one item a line, in block style.
        items = ([f"{indent}  {yaml_value(str(k))}: {yaml_value(v)}" for k, v in value.items()]
                 if isinstance(value, dict) else [f"{indent}  - {yaml_value(v)}" for v in value])
        head = f"{indent}{key}:  # {comment}"
        if len(head) <= LINE_WIDTH:
            return "\n".join([head, *items])
        line = "\n".join([f"{indent}{key}:", *items])
    return "\n".join(textwrap.wrap(comment, LINE_WIDTH, initial_indent=f"{indent}# ",
                                   subsequent_indent=f"{indent}# ", break_on_hyphens=False) + [line])


def comment_block(text: str) -> str:
    """Text as `# ` comment lines within LINE_WIDTH columns."""
    return "\n".join(textwrap.wrap(one_line(text), LINE_WIDTH, initial_indent="# ",
                                   subsequent_indent="#   ", break_on_hyphens=False))


def range_text(parameter: SearchParameter) -> str:
    if parameter.type == "categorical":
        return ", ".join(str(choice) for choice in parameter.choices)
    scale = " (log)" if parameter.log else ""
    return f"{parameter.low:g} to {parameter.high:g}{scale}"


def sentence(text: str) -> str:
    """A reason as a sentence: its first letter capitalised, the rest untouched."""
    return text[:1].upper() + text[1:]


ENVIRONMENT.filters.update(yaml_value=yaml_value, one_line=one_line, range_text=range_text,
                           sentence=sentence, comment_block=comment_block)
ENVIRONMENT.globals.update(yaml_entry=yaml_entry)


def hyperparameters_json(plan: Plan) -> str:
    space = plan.search_space
    parameters = {}
    for parameter in space.parameters:
        entry: dict[str, Any] = {"type": parameter.type}
        if parameter.type == "categorical":
            entry["choices"] = list(parameter.choices)
        else:
            entry.update(low=parameter.low, high=parameter.high, log=parameter.log)
        entry.update(default=parameter.default, reason=parameter.reason)
        parameters[parameter.name] = entry
    document = {
        "format_version": 1,
        "generated_by": f"trainwright {__version__}",
        "metric": space.metric,
        "direction": space.direction,
        "n_trials": space.n_trials,
        "sampler": space.sampler,
        "pruner": space.pruner,
        "parameters": parameters,
    }
    return json.dumps(document, indent=2) + "\n"


METHOD_TITLES = {"lora": "LoRA", "qlora": "QLoRA (4-bit base model + LoRA)",
                 "freeze": "frozen lower layers", "full": "full fine-tuning"}
OBJECTIVE_TEXTS = {
    "sft": "supervised fine-tuning on the responses of chat / instruction data",
    "sequence_classification": "sequence classification with a new head",
    "causal_lm": "causal language modelling on plain text",
}


def data_files(value: str | list[str] | None) -> str:
    """A data.*_file value for people: the path, glob or Hub name, or the files of a list."""
    if isinstance(value, list):
        return ", ".join(value) if len(value) <= 3 else \
            f"{value[0]}, {value[1]} and {len(value) - 2} more files"
    return str(value)


ENVIRONMENT.filters["data_files"] = data_files


def headline(plan: Plan) -> str:
    model = plan.value("model", "name_or_path")
    if plan.task == "fine-tuning":
        return (f"fine-tunes {model} with {METHOD_TITLES[plan.value('adapter', 'method')]} for "
                f"{OBJECTIVE_TEXTS[plan.value('data', 'objective')]} on "
                f"{data_files(plan.value('data', 'train_file'))}")
    if plan.task == "classification":
        text, kind = plan.value("data", "text_column"), plan.value("data", "label_kind")
        if kind == "regression":
            return (f"predict the number in `{plan.value('data', 'label_column')}` from `{text}` "
                    f"by fine-tuning {model}")
        if kind == "multi-label":
            return (f"tag `{text}` with any of {len(plan.value('data', 'labels', []))} labels by "
                    f"fine-tuning {model}")
        return (f"classify `{text}` into "
                f"{len(plan.value('data', 'labels', []))} classes by fine-tuning {model}")
    if plan.value("model", "from_scratch"):
        return (f"train a small Llama-style language model from scratch on "
                f"{data_files(plan.value('data', 'train_file'))} (tokenizer of {model})")
    return (f"continue training {model} as a language model on "
            f"{data_files(plan.value('data', 'train_file'))}")


STRATEGY_TITLES = {"ddp": "DDP (distributed data parallel)",
                   "zero2": "DeepSpeed ZeRO-2", "zero3": "DeepSpeed ZeRO-3",
                   "fsdp": "FSDP (fully sharded data parallel)"}
STRATEGY_KEYS = {"ddp": "ddp_find_unused_parameters", "zero2": "deepspeed",
                 "zero3": "deepspeed", "fsdp": "fsdp, fsdp_config"}


def launch_context(plan: Plan) -> dict[str, Any]:
    """What the launch partial and the launcher configs read (empty strings for one process)."""
    spread = plan.distribution
    if spread is None:
        return {"strategy_title": "", "strategy_keys": "", "effective_batch": 0}
    training = plan.values()["training"]
    return {"strategy_title": STRATEGY_TITLES[spread.strategy],
            "strategy_keys": STRATEGY_KEYS[spread.strategy],
            "effective_batch": training["per_device_train_batch_size"]
            * training["gradient_accumulation_steps"] * spread.processes}


def schema_path(config_path: str) -> str:
    """The JSON Schema sits beside the config, named after it."""
    return str(PurePosixPath(config_path).with_suffix(".schema.json"))


def render(plan: Plan, regenerate_command: str, schema: dict,
           glance: Glance | None = None) -> dict[str, str]:
    """Relative path -> file content, for every file of the setup except .gitignore.

    ``schema`` is the JSON Schema of the config for the installed transformers; it is written
    beside the config, whose first line points editors to it. With ``glance``,
    README-TRAINING.md embeds data_at_a_glance.png (drawn beside it when it is written).
    """
    framework = plan.facts_summary.get("framework")
    context = {
        "plan": plan,
        "version": __version__,
        "facts": plan.facts_summary,
        "regenerate_command": regenerate_command,
        "framework_note": {"tensorflow": "TensorFlow", "jax": "JAX"}.get(framework, ""),
        "requirements": plan.requirements,
        "script_path": plan.script_path,
        "config_path": plan.config_path,
        "report_to": plan.value("training", "report_to"),
        "model_name": plan.value("model", "name_or_path"),
        "text_column": plan.value("data", "text_column"),
        "label_column": plan.value("data", "label_column"),
        # labelled data: the kind of label, and the code its labels need
        "label_kind": plan.value("data", "label_kind", "single-label"),
        "label_delimiter": plan.value("data", "label_delimiter"),
        "class_label_names": plan.script.class_label_ids,
        "num_labels": len(plan.value("data", "labels") or []),
        "transformers_target": plan.transformers_target,
        "schema_file": PurePosixPath(schema_path(plan.config_path)).name,
        "headline": headline(plan),
        "train_file": data_files(plan.value("data", "train_file")),
        "from_scratch": bool(plan.value("model", "from_scratch", False)),
        "method": plan.value("adapter", "method"),  # fine-tuning: the script holds its code only
        "picture_file": PICTURE_FILE if glance else "",
        "picture_caption": caption(glance) if glance else "",
        **launch_context(plan),
    }
    if plan.task == "fine-tuning":
        objective = plan.value("data", "objective")
        context.update(
            objective=objective,
            objective_text=OBJECTIVE_TEXTS[objective],
            method_title=METHOD_TITLES[plan.value("adapter", "method")],
            auto_class=plan.script.model_class,
            dtype_argument=plan.script.dtype_argument,
            lora_task_type="SEQ_CLS" if objective == "sequence_classification" else "CAUSAL_LM",
            data_format=plan.value("data", "format"),  # sft: the code that reads the rows
        )
    task = plan.task

    def template(name: str) -> str:
        return ENVIRONMENT.get_template(name).render(**context)

    files = {
        plan.config_path: template("common/training_config.yaml.j2"),
        schema_path(plan.config_path): json.dumps(schema, indent=2) + "\n",
        plan.script_path: template(plan.script.template),
        "hyperparameters.json": hyperparameters_json(plan),
        "README-TRAINING.md": template(f"{task}/README-TRAINING.md.j2"),
        ".env.example": template("common/env.example.j2"),
        "requirements-training.txt": template("common/requirements-training.txt.j2"),
    }
    spread = plan.distribution
    if spread is not None:  # several processes: the launcher's config (and DeepSpeed's)
        files[spread.accelerate_config] = template("common/accelerate_config.yaml.j2")
        if spread.ds_config:
            files[spread.ds_config] = template("common/ds_config.json.j2")
    return files
