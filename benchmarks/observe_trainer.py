"""Run a training script unchanged and record what its Trainer trained on, the same way for
every script (the generated train.py, benchmarks/trl_sft_baseline.py, ...).

    python benchmarks/observe_trainer.py OUT.json SCRIPT [SCRIPT ARGUMENTS...]

Before the script runs, two methods of ``transformers.Trainer`` (so of every subclass, TRL's
``SFTTrainer`` included) are wrapped; what they do is unchanged:

* ``_track_num_input_tokens(inputs)``, which the training loop calls once per micro-batch after
  its forward and backward pass (in training only, whatever include_num_input_tokens_seen
  says): the micro-batch's non-padding tokens (the attention mask's sum; a padding-free batch
  has no mask and no padding, so all its positions), its positions as computed
  (``input_ids.numel()``, padding included), its examples (rows, or the sequence starts
  ``position_ids == 0`` of a flattened row), the tokens that carry loss (``labels != -100``),
  and the time it ended;
* ``train()``: its wall time, the ``train_runtime`` and ``train_samples_per_second`` of its
  metrics, the global step reached and, with CUDA, ``torch.cuda.max_memory_allocated()`` /
  ``max_memory_reserved()`` when it returns (the peak of loading, any evaluation before
  training, and training; not of what the script does afterwards).

OUT.json is written when ``train()`` returns and again at exit. The script's exit status is
this process's.
"""

from __future__ import annotations

import atexit
import json
import runpy
import sys
import time
from pathlib import Path

RECORD: dict = {"micro_batches": 0, "tokens": 0, "positions": 0, "examples": 0,
                "loss_tokens": 0, "padding_free_batches": 0, "max_positions_per_row": 0,
                "batch_end_times": [], "batch_tokens": [], "trains": []}


def count_batch(inputs: dict) -> None:
    input_ids = inputs.get("input_ids")
    if input_ids is None:
        return
    positions = int(input_ids.numel())
    mask = inputs.get("attention_mask")
    position_ids = inputs.get("position_ids")
    if mask is not None:
        tokens, examples = int(mask.sum().item()), int(input_ids.shape[0])
    else:  # flattened (padding-free): one row of whole examples, no padding
        tokens = positions
        examples = int((position_ids == 0).sum().item()) if position_ids is not None \
            else int(input_ids.shape[0])
        RECORD["padding_free_batches"] += 1
    labels = inputs.get("labels")
    RECORD["micro_batches"] += 1
    RECORD["tokens"] += tokens
    RECORD["positions"] += positions
    RECORD["examples"] += examples
    RECORD["loss_tokens"] += int((labels != -100).sum().item()) if labels is not None else 0
    RECORD["max_positions_per_row"] = max(RECORD["max_positions_per_row"],
                                          int(input_ids.shape[-1]))
    RECORD["batch_end_times"].append(time.perf_counter())
    RECORD["batch_tokens"].append(tokens)


def cuda_memory() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"cuda_max_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
            "cuda_max_reserved_mib": torch.cuda.max_memory_reserved() / 2**20,
            "cuda_device": torch.cuda.get_device_name(0)}


def install(out: Path) -> None:
    from transformers import Trainer

    track, train = Trainer._track_num_input_tokens, Trainer.train

    def observed_track(self, inputs):
        count_batch(inputs)
        return track(self, inputs)

    def observed_train(self, *args, **kwargs):
        started = time.perf_counter()
        RECORD["train_started"] = started
        output = train(self, *args, **kwargs)
        metrics = dict(getattr(output, "metrics", {}) or {})
        RECORD["trains"].append({
            "wall_s": time.perf_counter() - started,
            "train_runtime": metrics.get("train_runtime"),
            "train_samples_per_second": metrics.get("train_samples_per_second"),
            "train_loss": metrics.get("train_loss"),
            "global_step": self.state.global_step,
            "per_device_train_batch_size": self.args.per_device_train_batch_size,
            "gradient_accumulation_steps": self.args.gradient_accumulation_steps,
            "world_size": self.args.world_size,
            **cuda_memory(),
        })
        write(out)
        return output

    Trainer._track_num_input_tokens = observed_track
    Trainer.train = observed_train


def write(out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out, script = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    install(out)
    atexit.register(write, out)
    sys.argv = [str(script), *sys.argv[3:]]
    sys.path[0] = str(script.resolve().parent)  # as `python SCRIPT` would have it
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
