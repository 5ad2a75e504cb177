"""Keys of TrainingArguments (and trl / peft configs) that were renamed or removed, in one table.

Each entry: the old key, the new key (None when removed without a replacement), the release
where it changed, and how the value carries over. Messages name the replacement for the
installed version; `trainwright validate --fix` applies the ones with a replacement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rename:
    old: str
    new: str | None
    changed_in: str
    note: str
    new_value: object = None  # the value the new key takes when it is not the old value


TRAINING_RENAMES = (
    Rename("evaluation_strategy", "eval_strategy", "transformers 4.41 (removed in 4.51)",
           "same values: no / steps / epoch"),
    Rename("warmup_ratio", "warmup_steps", "transformers 5.0",
           "a float warmup_steps below 1 is the fraction of total steps"),
    Rename("no_cuda", "use_cpu", "transformers 4.37 (removed in 5.0)", "same meaning"),
    Rename("group_by_length", "train_sampling_strategy", "transformers 5.0",
           "train_sampling_strategy: group_by_length", new_value="group_by_length"),
    Rename("per_gpu_train_batch_size", "per_device_train_batch_size", "transformers 3.0",
           "per device, not per GPU"),
    Rename("per_gpu_eval_batch_size", "per_device_eval_batch_size", "transformers 3.0",
           "per device, not per GPU"),
    Rename("push_to_hub_token", "hub_token", "transformers 4.20", "better: set HF_TOKEN in .env"),
    Rename("push_to_hub_model_id", "hub_model_id", "transformers 4.20", "same meaning"),
    Rename("logging_dir", None, "transformers 5.0",
           "TensorBoard logs go to <output_dir>/runs; set the TENSORBOARD_LOGGING_DIR "
           "environment variable to change that"),
    Rename("overwrite_output_dir", None, "transformers 5.0",
           "train.py resumes from the last checkpoint; use --no-resume to start over"),
    Rename("fp16_backend", None, "transformers 4.10", "mixed precision always uses torch.amp"),
    Rename("use_mps_device", None, "transformers 5.0", "Apple MPS is used automatically"),
    Rename("max_seq_length", "max_length", "trl 0.20 (SFTConfig)",
           "in a trainwright config, data.max_length sets the tokenised length"),
    Rename("torch_dtype", "dtype", "transformers 4.56", "the dtype models are loaded in"),
)

# Common shorthands people type for TrainingArguments fields.
SHORTHANDS = {
    "lr": "learning_rate",
    "learning_rat": "learning_rate",
    "epochs": "num_train_epochs",
    "num_epochs": "num_train_epochs",
    "n_epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "train_batch_size": "per_device_train_batch_size",
    "bs": "per_device_train_batch_size",
    "eval_batch_size": "per_device_eval_batch_size",
    "grad_accum": "gradient_accumulation_steps",
    "gradient_accumulation": "gradient_accumulation_steps",
    "accumulation_steps": "gradient_accumulation_steps",
    "warmup": "warmup_steps",
    "scheduler": "lr_scheduler_type",
    "lr_scheduler": "lr_scheduler_type",
    "wd": "weight_decay",
    "output": "output_dir",
    "grad_clip": "max_grad_norm",
    "clip_grad_norm": "max_grad_norm",
}

RENAMES_BY_OLD = {rename.old: rename for rename in TRAINING_RENAMES}
