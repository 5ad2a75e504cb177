"""Values taken from the project's configs for other tools: Axolotl, LLaMA-Factory, TRL, a flat
TrainingArguments file (any 4.x / 5.x, renames applied), DeepSpeed and accelerate.

One mapping table per tool turns its keys into plan settings (section, key); a value's reason
names its file and key (`from axolotl.yml: lora_r`). Keys without an equivalent are listed,
never dropped in silence. When several configs set the same thing, the most specific wins: a
fine-tuning tool's config over a flat TrainingArguments file, over a DeepSpeed or accelerate
file (launchers), and the summary says which lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from trainwright.config.renames import RENAMES_BY_OLD
from trainwright.discovery.models import ForeignConfig, ProjectFacts
from trainwright.planning.plan import EXISTING, FLAG, IMPORTED, Choice, ImportRow, NotImported

AXOLOTL, LLAMA_FACTORY, TRL = "axolotl", "llama-factory", "trl"
TRAINING_ARGUMENTS, DEEPSPEED, ACCELERATE = ("transformers TrainingArguments", "deepspeed",
                                             "accelerate")
# Most specific first: a fine-tuning tool's config says most about this run.
SPECIFICITY = (AXOLOTL, LLAMA_FACTORY, TRL, TRAINING_ARGUMENTS, DEEPSPEED, ACCELERATE)

# Settings with no plain key of their own, filled by the special readers below.
METHOD = ("adapter", "method")
ALL_LINEAR = "all-linear"  # LoRA on every linear layer: what trainwright plans anyway
DATA_FILES = ("data", "files")  # the local data files the config trains on
DATA_FORMAT = ("data", "format as imported")  # compared with the format read from the rows


@dataclass(frozen=True)
class Imported:
    section: str
    key: str
    value: Any
    file: str
    foreign_key: str  # as written there: lora_r, datasets[0].path, bf16.enabled

    @property
    def where(self) -> str:
        return f"from {self.file}: {self.foreign_key}"


@dataclass(frozen=True)
class Imports:
    values: dict[tuple[str, str], Imported]  # the winning value of each setting
    overruled: tuple[tuple[Imported, Imported], ...]  # (lost, won) where configs disagree
    unmapped: tuple[NotImported, ...]
    files: tuple[str, ...]  # the configs read, most specific first

    def get(self, section: str, key: str) -> Imported | None:
        return self.values.get((section, key))

    def __bool__(self) -> bool:
        return bool(self.files)


NO_IMPORTS = Imports({}, (), (), ())


# ---------------------------------------------------------------------------------------------
# Value conversions
# ---------------------------------------------------------------------------------------------

NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def number(value: Any) -> Any:
    """YAML reads 1e-4 (no dot) as a string; a number written as a string is a number."""
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        parsed = float(value)
        return int(parsed) if parsed.is_integer() and "." not in value and "e" not in \
            value.lower() else parsed
    return value


def module_list(value: Any) -> Any:
    """LoRA targets as a list: 'q_proj,v_proj' or ['q_proj', 'v_proj']; 'all' is every linear."""
    if isinstance(value, str):
        if value.strip().lower() in {"all", "all-linear", "all_linear"}:
            return ALL_LINEAR
        return [name.strip() for name in value.split(",") if name.strip()]
    return [str(name) for name in value] if isinstance(value, list) else value


def attention(value: Any) -> Any:
    names = {"fa2": "flash_attention_2", "flash_attention_2": "flash_attention_2",
             "sdpa": "sdpa", "eager": "eager", "disabled": "eager"}
    return names.get(str(value).lower(), value) if value not in (None, "auto") else None


def enabled(value: Any) -> Any:
    """DeepSpeed's {"enabled": true} blocks and "auto" (decided by TrainingArguments)."""
    if isinstance(value, dict):
        value = value.get("enabled")
    return None if value == "auto" else value


def precision(value: Any) -> dict[str, bool] | None:
    """accelerate's mixed_precision: bf16 / fp16 / no."""
    text = str(value).lower()
    if text in {"bf16", "fp16", "no"}:
        return {"bf16": text == "bf16", "fp16": text == "fp16"}
    return None


# ---------------------------------------------------------------------------------------------
# The mapping tables: foreign key -> (section, key, conversion)
# ---------------------------------------------------------------------------------------------

Rule = tuple[str, str, Callable[[Any], Any]]


def same(value: Any) -> Any:
    return value


# Several examples in one row without padding (Axolotl's sample_packing, TRL's packing and
# padding_free, LLaMA-Factory's packing and neat_packing): the plan's data.padding_free, which
# keeps the examples of a row apart; the plan decides it from the kernel and the lengths.
PACKING: Rule = ("data", "padding_free", lambda on: on if isinstance(on, bool) else None)

TRAINING_KEYS = {  # keys that mean the same in every tool: TrainingArguments' own names
    key: ("training", key, number) for key in (
        "learning_rate", "num_train_epochs", "per_device_train_batch_size",
        "per_device_eval_batch_size", "gradient_accumulation_steps", "warmup_steps",
        "lr_scheduler_type", "weight_decay", "max_grad_norm", "seed",
        "logging_steps", "save_total_limit", "max_steps",
        "gradient_checkpointing", "bf16", "fp16", "tf32", "optim", "report_to", "eval_strategy",
        "save_strategy", "metric_for_best_model",
        "greater_is_better", "dataloader_num_workers", "torch_compile", "label_smoothing_factor",
        "adam_beta1", "adam_beta2", "adam_epsilon", "neftune_noise_alpha", "warmup_ratio")
}

TABLES: dict[str, dict[str, Rule]] = {
    AXOLOTL: {
        **TRAINING_KEYS,
        "base_model": ("model", "name_or_path", same),
        "adapter": (*METHOD, same),
        "lora_r": ("adapter", "r", number),
        "lora_alpha": ("adapter", "lora_alpha", number),
        "lora_dropout": ("adapter", "lora_dropout", number),
        "lora_target_modules": ("adapter", "target_modules", module_list),
        "lora_modules_to_save": ("adapter", "modules_to_save", module_list),
        "sequence_len": ("data", "max_length", number),
        "val_set_size": ("data", "validation_fraction", number),
        "micro_batch_size": ("training", "per_device_train_batch_size", number),
        "eval_batch_size": ("training", "per_device_eval_batch_size", number),
        "num_epochs": ("training", "num_train_epochs", number),
        "lr_scheduler": ("training", "lr_scheduler_type", same),
        "optimizer": ("training", "optim", same),
        "early_stopping_patience": ("early_stopping", "patience", number),
        "flash_attention": ("model", "attn_implementation",
                            lambda on: "flash_attention_2" if on else None),
        "sdp_attention": ("model", "attn_implementation", lambda on: "sdpa" if on else None),
        "sample_packing": PACKING,
    },
    LLAMA_FACTORY: {
        **TRAINING_KEYS,
        "model_name_or_path": ("model", "name_or_path", same),
        "finetuning_type": (*METHOD, same),
        "lora_rank": ("adapter", "r", number),
        "lora_alpha": ("adapter", "lora_alpha", number),
        "lora_dropout": ("adapter", "lora_dropout", number),
        "lora_target": ("adapter", "target_modules", module_list),
        "additional_target": ("adapter", "modules_to_save", module_list),
        "cutoff_len": ("data", "max_length", number),
        "val_size": ("data", "validation_fraction", number),
        "flash_attn": ("model", "attn_implementation", attention),
        "packing": PACKING,
        "neat_packing": PACKING,
    },
    TRL: {
        **TRAINING_KEYS,
        "model_name_or_path": ("model", "name_or_path", same),
        "lora_r": ("adapter", "r", number),
        "lora_alpha": ("adapter", "lora_alpha", number),
        "lora_dropout": ("adapter", "lora_dropout", number),
        "lora_target_modules": ("adapter", "target_modules", module_list),
        "max_length": ("data", "max_length", number),
        "max_seq_length": ("data", "max_length", number),
        "attn_implementation": ("model", "attn_implementation", attention),
        "packing": PACKING,
        "padding_free": PACKING,
    },
    TRAINING_ARGUMENTS: dict(TRAINING_KEYS),
    DEEPSPEED: {
        "train_micro_batch_size_per_gpu": ("training", "per_device_train_batch_size", number),
        "gradient_accumulation_steps": ("training", "gradient_accumulation_steps", number),
        "gradient_clipping": ("training", "max_grad_norm", number),
        "bf16": ("training", "bf16", enabled),
        "fp16": ("training", "fp16", enabled),
        "optimizer.params.lr": ("training", "learning_rate", number),
        "optimizer.params.weight_decay": ("training", "weight_decay", number),
    },
    ACCELERATE: {},
}

CADENCE_NOTE = ("evaluation and saving follow the plan's cadence (per epoch, or every N steps "
                "for long epochs), so that the best checkpoint is kept; an imported "
                "eval_strategy / save_strategy of 'epoch' is used")
LAUNCHER_NOTE = ("another tool's launcher settings are not imported: `trainwright init --gpus N "
                 "[--nodes M] [--strategy ddp|fsdp|zero2|zero3]` plans them from the memory "
                 "model")
# Keys known to have no equivalent in a trainwright setup, with what to do instead.
KNOWN_UNMAPPED = {
    "output_dir": "the setup writes to its own planned output_dir (--output-dir sets it), so "
                  "another tool's checkpoints are never resumed",
    "eval_steps": CADENCE_NOTE,
    "save_steps": CADENCE_NOTE,
    "load_best_model_at_end": CADENCE_NOTE,
    "evals_per_epoch": CADENCE_NOTE,
    "saves_per_epoch": CADENCE_NOTE,
    "deepspeed": LAUNCHER_NOTE,
    "fsdp": LAUNCHER_NOTE,
    "fsdp_config": LAUNCHER_NOTE,
    "zero_optimization": LAUNCHER_NOTE,
    "distributed_type": LAUNCHER_NOTE,
    "num_processes": LAUNCHER_NOTE,
    "template": "the model's own chat template is used (README-TRAINING.md: Data)",
    "chat_template": "the model's own chat template is used (README-TRAINING.md: Data)",
    "special_tokens": "the tokenizer's own special tokens are used; train.py sets a missing "
                      "pad token",
    "max_samples": "train.py --max-samples N limits the rows of a run",
    "wandb_project": "set WANDB_PROJECT in .env; --report-to wandb reports there",
    "hub_model_id": "push_to_hub is not planned; upload the saved model with `hf upload`",
    "push_to_hub": "push_to_hub is not planned; upload the saved model with `hf upload`",
}
# Keys that only say which tool, stage or environment this is: read, not reported.
SILENT = {"stage", "do_train", "do_eval", "do_predict", "compute_environment", "debug",
          "machine_rank", "num_machines", "main_training_function", "same_network",
          "rdzv_backend", "tpu_env", "tpu_use_cluster", "tpu_use_sudo", "use_cpu",
          "downcast_bf16", "strict", "load_in_4bit", "load_in_8bit", "quantization_bit",
          "use_peft", "datasets", "test_datasets", "dataset", "eval_dataset", "dataset_dir",
          "dataset_name", "dataset_text_field", "lora_target_linear", "mixed_precision",
          "dataset_prepared_path", "model_type", "tokenizer_type", "trust_remote_code",
          "plot_loss", "overwrite_cache", "preprocessing_num_workers", "steps_per_print",
          "wall_clock_breakdown", "train_batch_size", "scheduler", "optimizer",
          "gpu_ids", "dynamo_config", "enable_cpu_affinity"}


# ---------------------------------------------------------------------------------------------
# Reading one config
# ---------------------------------------------------------------------------------------------

def _flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    """DeepSpeed nests optimizer.params.lr; the other tools' keys are flat."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name.split(".")[0] in {"optimizer", "scheduler"}:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _renamed(key: str, value: Any, fields: set[str]) -> tuple[str, Any, str | None]:
    """A TrainingArguments key of another version under the installed one's name."""
    rename = RENAMES_BY_OLD.get(key)
    if rename is None or key in fields:
        return key, value, None
    if rename.new is None:
        return key, value, f"removed in {rename.changed_in}: {rename.note}"
    return rename.new, rename.new_value if rename.new_value is not None else value, None


def _method(config: ForeignConfig) -> tuple[str, str] | None:
    """The fine-tuning method a config asks for, and the key that says so."""
    values = config.values
    four_bit = values.get("load_in_4bit") is True or str(values.get("quantization_bit")) == "4"
    if config.kind == AXOLOTL:
        adapter = str(values.get("adapter") or "").lower()
        if adapter in {"lora", "qlora"}:
            return ("qlora" if adapter == "qlora" or four_bit else "lora"), "adapter"
        return ("full", "adapter (none: every weight is trained)") if "base_model" in values \
            else None
    if config.kind == LLAMA_FACTORY:
        kind = str(values.get("finetuning_type") or "lora").lower()
        if kind == "lora" and four_bit:
            return "qlora", "finetuning_type: lora, quantization_bit: 4"
        return (kind, "finetuning_type") if kind in {"lora", "freeze", "full"} else None
    if config.kind == TRL and "use_peft" in values:
        if not values.get("use_peft"):
            return "full", "use_peft"
        return ("qlora" if four_bit else "lora"), "use_peft" + (", load_in_4bit" if four_bit
                                                                  else "")
    return None


AXOLOTL_FORMATS = {"alpaca": "instruction", "alpaca_chat": "instruction",
                   "chat_template": "chat", "sharegpt": "sharegpt"}
LLAMA_FACTORY_FORMATS = {"alpaca": "instruction", "sharegpt": "sharegpt"}


def _data(config: ForeignConfig, root_files: set[str]
          ) -> tuple[list[Imported], list[NotImported]]:
    """The local data files a config trains on, and the datasets it names that are no file in
    the project (a Hub dataset name: pass it with --data)."""
    values, found, missing = config.values, [], []
    folder = PurePosixPath(config.path).parent

    def absent(key: str, name: Any) -> None:
        missing.append(NotImported(config.path, key, f"{name}: no data file of that name in the "
                                                     f"project (a Hub dataset? pass --data "
                                                     f"{name})"))

    def local(path: Any) -> str | None:
        if not isinstance(path, str):
            return None
        for candidate in (PurePosixPath(path), folder / path):
            text = str(candidate)
            if text in root_files or any(f.startswith(text.rstrip("/") + "/") for f in root_files):
                return text
        return None

    if config.kind == AXOLOTL:
        for index, entry in enumerate(values.get("datasets") or []):
            if not isinstance(entry, dict):
                continue
            path = local(entry.get("path"))
            if not path:
                absent(f"datasets[{index}].path", entry.get("path"))
            else:
                found.append(Imported(*DATA_FILES, path, config.path, f"datasets[{index}].path"))
                kind = AXOLOTL_FORMATS.get(str(entry.get("type", "")).split(".")[0])
                if kind and index == 0:
                    found.append(Imported(*DATA_FORMAT, kind, config.path,
                                          f"datasets[{index}].type"))
    elif config.kind == LLAMA_FACTORY:
        info = config.dataset_info or {}
        names = [n.strip() for n in str(values.get("dataset") or "").split(",") if n.strip()]
        for name in names:
            entry = info.get(name)
            if not isinstance(entry, dict) or "file_name" not in entry:
                absent("dataset", name)
                continue
            base = PurePosixPath(str(values.get("dataset_dir") or "data"))
            path = local(str(base / entry["file_name"]))
            if not path:
                absent("dataset", name)
            else:
                found.append(Imported(*DATA_FILES, path, config.path, f"dataset: {name}"))
                kind = LLAMA_FACTORY_FORMATS.get(str(entry.get("formatting", "alpaca")))
                if kind and len(found) == 1:
                    found.append(Imported(*DATA_FORMAT, kind, config.path,
                                          f"dataset_info.json: {name}.formatting"))
    elif config.kind == TRL and values.get("dataset_name"):
        path = local(values.get("dataset_name"))
        if path:
            found.append(Imported(*DATA_FILES, path, config.path, "dataset_name"))
        else:
            absent("dataset_name", values.get("dataset_name"))
    return found, missing


def read_config(config: ForeignConfig, fields: set[str], root_files: set[str]
                ) -> tuple[list[Imported], list[NotImported]]:
    """One config's values as plan settings, and its keys that have none."""
    table = TABLES.get(config.kind, {})
    imported, unmapped = [], []
    values = config.values
    if config.kind == TRAINING_ARGUMENTS:
        for nested in ("training", "trainer", "args"):
            if isinstance(values.get(nested), dict):
                values = {**values, **values[nested]}
                values.pop(nested)
    for key, value in _flatten(values).items():
        name, value, removed = (_renamed(key, value, fields)
                                if config.kind in {TRAINING_ARGUMENTS, TRL, LLAMA_FACTORY}
                                else (key, value, None))
        if removed:
            unmapped.append(NotImported(config.path, key, removed))
            continue
        rule = table.get(name) or (("training", name, number)
                                   if config.kind == TRAINING_ARGUMENTS and name in fields
                                   and name not in KNOWN_UNMAPPED else None)
        if name == "max_length" and rule is None:
            rule = ("data", "max_length", number)
        if rule is not None:
            section, target, convert = rule
            if target == METHOD[1] and section == METHOD[0]:
                continue  # read by _method, with the 4-bit keys
            converted = convert(value)
            if config.kind == DEEPSPEED and converted == "auto":
                continue  # DeepSpeed's "auto": TrainingArguments decides, so the plan does
            if target == "validation_fraction" and not (
                    isinstance(converted, (int, float)) and 0 < converted < 1):
                unmapped.append(NotImported(config.path, key, f"{value}: only a fraction "
                                            "between 0 and 1 carries over; the plan carves its "
                                            "own validation split (data.validation_fraction)"))
                continue
            if target in {"eval_strategy", "save_strategy"} and converted != "epoch":
                unmapped.append(NotImported(config.path, key, CADENCE_NOTE))
                continue
            if converted is not None:
                imported.append(Imported(section, target, converted, config.path, key))
        elif key in KNOWN_UNMAPPED:
            unmapped.append(NotImported(config.path, key, KNOWN_UNMAPPED[key]))
        elif key not in SILENT:
            unmapped.append(NotImported(config.path, key, "no equivalent in a trainwright setup"))
    if config.kind == AXOLOTL and values.get("lora_target_linear"):
        imported.append(Imported("adapter", "target_modules", ALL_LINEAR, config.path,
                                 "lora_target_linear"))
    if config.kind == ACCELERATE:
        mixed = precision(values.get("mixed_precision"))
        for key, on in (mixed or {}).items():
            imported.append(Imported("training", key, on, config.path, "mixed_precision"))
    method = _method(config)
    if method:
        imported.append(Imported(*METHOD, method[0], config.path, method[1]))
    data, absent = _data(config, root_files)
    return imported + data, unmapped + absent


def imports_for(facts: ProjectFacts, task: str, only: str | None = None) -> Imports:
    """Every foreign config's values, the most specific config winning; ``only`` restricts the
    import to one file (init --from)."""
    wanted = [config for config in facts.existing.foreign_configs
              if only is None or config.path == only]
    configs = [config for config in wanted if _applies(config.kind, task)]
    configs.sort(key=lambda c: (SPECIFICITY.index(c.kind) if c.kind in SPECIFICITY
                                else len(SPECIFICITY), c.path))
    fields = set(facts.dependencies.training_argument_fields)
    root_files = {data.path for data in facts.data} | {
        file for data in facts.data for file in data.files}
    values: dict[tuple[str, str], Imported] = {}
    overruled: list[tuple[Imported, Imported]] = []
    unmapped = [NotImported(config.path, "(the whole file)",
                            f"this {config.kind} config describes a fine-tuning run; "
                            "`trainwright init fine-tuning` imports it")
                for config in wanted if not _applies(config.kind, task)]
    for config in configs:
        found, missing = read_config(config, fields, root_files)
        unmapped += missing
        for item in found:
            key = (item.section, item.key)
            if key == DATA_FILES:
                winner = values.get(key)
                if winner is None or winner.file == item.file:
                    files = [*(winner.value if winner else []), item.value]
                    values[key] = Imported(*DATA_FILES, files, item.file,
                                           item.foreign_key if winner is None
                                           else f"{winner.foreign_key}, {item.foreign_key}")
                continue
            if key in values:
                if values[key].value != item.value:
                    overruled.append((item, values[key]))
                continue
            values[key] = item
    return Imports(values, tuple(overruled), tuple(unmapped),
                   tuple(config.path for config in configs))


def _applies(kind: str, task: str) -> bool:
    """Fine-tuning tools' configs describe fine-tuning runs; the rest apply to every task."""
    return task == "fine-tuning" or kind not in {AXOLOTL, LLAMA_FACTORY, TRL}


# ---------------------------------------------------------------------------------------------
# Applying them to the plan, and saying what became of each
# ---------------------------------------------------------------------------------------------

def unusable(facts: ProjectFacts, section: str, key: str, value: Any) -> str | None:
    """Why an imported value cannot be used on this machine, or None."""
    if (section, key) == ("model", "attn_implementation") and value == "flash_attention_2" \
            and not facts.dependencies.version("flash-attn"):
        return "flash_attention_2 needs the flash-attn package, which is not installed here"
    if (section, key) == ("training", "optim") and "8bit" in str(value) \
            and not facts.dependencies.version("bitsandbytes"):
        return f"{value} needs bitsandbytes, which is not installed here"
    return None


def coerce(value: Any, planned: Any) -> Any:
    """3.0 epochs is the integer 3 the plan writes; other values stay as imported."""
    if isinstance(planned, int) and not isinstance(planned, bool) and isinstance(value, float) \
            and value.is_integer():
        return int(value)
    return value


def imported_choice(item: Imported, planned: Choice) -> Choice:
    value = coerce(item.value, planned.value)
    if value == planned.value:
        return Choice(value, f"{item.where} (the same as planned: {planned.reason})",
                      item.where, source=IMPORTED)
    return Choice(value, f"{item.where}; planned from this run's facts it would be "
                         f"{planned.value!r}: {planned.reason}", item.where, source=IMPORTED)


def apply_imports(facts: ProjectFacts, imports: Imports, section: str,
                  choices: dict[str, Choice], skip: set[str] = frozenset()) -> dict[str, Choice]:
    """The choices with the values configs of other tools set, where the plan has the key,
    no flag set it, and the value can be used here."""
    result = dict(choices)
    for key, choice in choices.items():
        item = imports.get(section, key)
        if item is None or key in skip or choice.source in {FLAG, EXISTING, IMPORTED}:
            continue
        if item.value == ALL_LINEAR or unusable(facts, section, key, item.value):
            continue
        result[key] = imported_choice(item, choice)
    return result


SPECIAL_SETTINGS = {DATA_FILES: ("data", "train_file"), DATA_FORMAT: ("data", "format")}


def import_rows(facts: ProjectFacts, imports: Imports,
                sections: dict[str, dict[str, Choice]]) -> tuple[ImportRow, ...]:
    """Each imported value against the plan: kept, or changed with the plan's reason."""
    rows = []
    for (section, key), item in imports.values.items():
        section, key = SPECIAL_SETTINGS.get((section, key), (section, key))
        final = sections.get(section, {}).get(key)
        setting = f"{section}.{key}"
        value = item.value[0] if (section, key) == ("data", "train_file") and isinstance(
            item.value, list) and len(item.value) == 1 else item.value
        if item.value == ALL_LINEAR:
            rows.append(ImportRow(setting, "all linear layers", item.where, "kept",
                                  "every linear layer of the blocks is what is planned"))
        elif final is None and value in (False, None, 0):
            rows.append(ImportRow(setting, value, item.where, "kept", "off, as it is unset"))
        elif final is None:
            rows.append(ImportRow(setting, value, item.where, "changed",
                                  "not part of this setup: " + NOT_IN_PLAN.get(
                                      key, "the plan does not set it")))
        elif value == "auto":
            rows.append(ImportRow(setting, value, item.where, "changed",
                                  f"'auto' resolved for this hardware to {final.value!r}: "
                                  f"{final.reason}"))
        elif coerce(value, final.value) == final.value or final.source == IMPORTED:
            rows.append(ImportRow(setting, value, item.where, "kept"))
        else:
            why = unusable(facts, section, key, value) or final.reason
            rows.append(ImportRow(setting, value, item.where, "changed", why))
    for lost, won in imports.overruled:
        rows.append(ImportRow(f"{lost.section}.{lost.key}", lost.value, lost.where,
                              f"overruled by {won.file}",
                              f"the more specific {won.file} sets {won.value!r}"))
    return tuple(rows)


NOT_IN_PLAN = {
    "gradient_checkpointing": "the memory plan does not need it here, and it costs about 30 % "
                              "speed",
    "tf32": "TF32 matmuls are an Ampere-GPU setting",
    "eval_steps": "the plan evaluates by its own cadence (training.eval_strategy)",
    "save_steps": "the plan saves by its own cadence (training.save_strategy)",
    "max_steps": "the run length is planned in epochs; train.py --max-steps N caps a run",
    "per_device_eval_batch_size": "planned from the training batch",
}


def replaced_configs(facts: ProjectFacts, task: str, only: str | None = None) -> dict[str, str]:
    """What each config of another tool that sits where trainwright writes its own (a flat
    TrainingArguments file saved as training_config.yaml) is, and what became of its values:
    the write refuses to replace it without --force and names this."""
    imported = set(imports_for(facts, task, only).files)
    return {
        config.path: f"a config for {config.kind}, not trainwright's; "
                     + ("its values are imported into the new one (--dry-run shows which)"
                        if config.path in imported else
                        f"its values are not imported (--from names {only})" if only else
                        f"its values are not imported: {config.kind} configs describe "
                        "fine-tuning runs")
        for config in facts.existing.foreign_configs
        if config.path == facts.existing.training_config
    }
