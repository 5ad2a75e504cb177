"""Installed versions of the training stack, and the TrainingArguments fields of the installed
transformers, read from its source (importing transformers would import torch: seconds)."""

from __future__ import annotations

import ast
from importlib import metadata, util
from pathlib import Path

from trainwright import NEWEST_KNOWN_TRANSFORMERS
from trainwright.discovery.models import Dependencies, Dependency

PACKAGES = {
    "transformers": "models and Trainer",
    "torch": "tensors and training",
    "datasets": "data loading",
    "accelerate": "device placement (required by Trainer)",
    "scikit-learn": "metrics (macro-F1, per-class report)",
    "evaluate": "optional; metrics are computed in the script",
    "tensorboard": "optional; training curves",
    "optuna": "hyperparameter search (train.py --hpo)",
    "peft": "LoRA adapters (fine-tuning)",
    "trl": "supervised fine-tuning (fine-tuning)",
    "bitsandbytes": "4-bit QLoRA (fine-tuning on CUDA)",
    "wandb": "optional; experiment tracking",
    "liger-kernel": "optional; fused kernels for causal language models on CUDA",
    "flash-attn": "optional; FlashAttention-2 kernels (attn_implementation: flash_attention_2)",
}
REQUIRED_FOR_TRAINING = ("transformers", "torch", "datasets", "accelerate", "scikit-learn")

# TrainingArguments fields of NEWEST_KNOWN_TRANSFORMERS (5.24.0), used when it is not installed.
KNOWN_TRAINING_ARGUMENT_FIELDS = (
    "accelerator_config", "adam_beta1", "adam_beta2", "adam_epsilon", "auto_find_batch_size",
    "bf16", "bf16_full_eval", "data_seed", "dataloader_drop_last", "dataloader_num_workers",
    "dataloader_persistent_workers", "dataloader_pin_memory", "dataloader_prefetch_factor",
    "ddp_backend", "ddp_find_unused_parameters", "ddp_timeout", "deepspeed", "disable_tqdm",
    "do_eval", "do_predict", "do_train", "eval_accumulation_steps", "eval_delay", "eval_on_start",
    "eval_steps", "eval_strategy", "fp16", "fp16_full_eval", "fsdp", "fsdp_config",
    "full_determinism", "gradient_accumulation_steps", "gradient_checkpointing",
    "gradient_checkpointing_kwargs", "greater_is_better", "hub_model_id", "hub_private_repo",
    "hub_strategy", "hub_token", "ignore_data_skip", "include_for_metrics",
    "include_num_input_tokens_seen", "label_names", "label_smoothing_factor", "learning_rate",
    "length_column_name", "liger_kernel_config", "load_best_model_at_end", "local_rank",
    "log_level", "logging_first_step", "logging_nan_inf_filter", "logging_steps",
    "logging_strategy", "lr_scheduler_kwargs", "lr_scheduler_type", "max_grad_norm", "max_steps",
    "metric_for_best_model", "neftune_noise_alpha", "num_train_epochs", "optim", "optim_args",
    "output_dir", "per_device_eval_batch_size", "per_device_train_batch_size",
    "prediction_loss_only", "project", "push_to_hub", "remove_unused_columns", "report_to",
    "restore_callback_states_from_checkpoint", "resume_from_checkpoint", "run_name",
    "save_on_each_node", "save_only_model", "save_steps", "save_strategy", "save_total_limit",
    "seed", "skip_memory_metrics", "tf32", "torch_compile", "torch_compile_backend",
    "torch_compile_mode", "torch_empty_cache_steps", "train_sampling_strategy", "use_cache",
    "use_cpu", "use_liger_kernel", "warmup_steps", "weight_decay",
)


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def training_argument_fields_from_source(path: Path) -> tuple[str, ...]:
    """Field names of the TrainingArguments dataclass, from transformers' training_args.py."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "TrainingArguments":
            return tuple(
                statement.target.id
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                and not statement.target.id.startswith("_")
            )
    return ()


def installed_training_argument_fields() -> tuple[str, ...] | None:
    spec = util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(next(iter(spec.submodule_search_locations))) / "training_args.py"
    try:
        return training_argument_fields_from_source(source) or None
    except (OSError, SyntaxError):
        return None


def install_command(names: tuple[str, ...]) -> str:
    packages = " ".join(names)
    if "torch" in names:
        return f"pip install torch && pip install {packages.replace('torch', '').strip()}".strip()
    return f"pip install {packages}"


def discover_dependencies() -> Dependencies:
    packages = tuple(Dependency(name, installed_version(name), purpose)
                     for name, purpose in PACKAGES.items())
    transformers_version = installed_version("transformers")
    fields = installed_training_argument_fields() if transformers_version else None
    return Dependencies(
        packages=packages,
        training_argument_fields=fields or KNOWN_TRAINING_ARGUMENT_FIELDS,
        transformers_target=transformers_version or NEWEST_KNOWN_TRANSFORMERS,
        transformers_installed=transformers_version is not None,
    )
