"""The peer of benchmarks/bench_sft.py: LoRA supervised fine-tuning with a plain TRL
``SFTTrainer``, as its documentation shows it.

What is matched to the generated setup (bench_sft.py passes each from the generated
training_config.yaml): the model folder, the data files, the LoRA settings (r, alpha, dropout,
target modules), the learning rate, batch size and gradient accumulation, max_length, the
precision (the dtype the model is loaded in, bf16 / fp16, use_cpu) and gradient checkpointing
(TRL turns it on by default; the generated plan turns it on only when memory needs it, and a
comparison of speed with it on one side only would measure that setting, not the pipelines).

Everything else is TRL's default: its collator pads each batch to its longest example (no
padding-free batches, no length grouping), linear decay without warmup, max_grad_norm 1.0,
AdamW, no evaluation during training. The seed (``--seed``, 42 by default as TRL's) is set
before the model is built as well as in the config, as the generated script does, so the LoRA
weights start from the seed too (SFTTrainer builds the adapter before the Trainer seeds).
Saving is turned off inside the training loop for both runs, and nothing is reported to a
tracker.

The chat rows (``messages``: system, user, assistant) are given to TRL as a conversational
prompt / completion pair (the last assistant turn is the completion), with which TRL's default
is to train on the completion only, as the generated script trains on the assistant's reply.
Given ``messages`` itself TRL would train on every token, a different objective.

    python benchmarks/trl_sft_baseline.py --model MODEL_DIR --train data/train.jsonl \
        --validation data/validation.jsonl --output-dir out --learning-rate 2e-4 \
        --batch-size 8 --gradient-accumulation-steps 2 --max-length 128 --max-steps 40 \
        --lora-r 16 --lora-alpha 32 --lora-dropout 0.05 \
        --target-modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj

Writes ``metrics.json`` (train_* metrics and TRL's own eval_loss on the validation file after
training) and the adapter into --output-dir.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from datasets import load_dataset
from peft import LoraConfig
from transformers import set_seed
from trl import SFTConfig, SFTTrainer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--validation", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--learning-rate", type=float, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--max-length", type=int, required=True)
    parser.add_argument("--lora-r", type=int, required=True)
    parser.add_argument("--lora-alpha", type=float, required=True)
    parser.add_argument("--lora-dropout", type=float, required=True)
    parser.add_argument("--target-modules", required=True, help="comma-separated")
    parser.add_argument("--dtype", default="auto", help="dtype the base model is loaded in")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--fp16", action="store_true")
    parser.add_argument("--use-cpu", action="store_true", help="train on the CPU (bf16 there "
                        "needs it)")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--messages-column", default="messages")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def prompt_completion(column: str):
    def split(row: dict) -> dict:
        messages = row[column]
        return {"prompt": messages[:-1], "completion": messages[-1:]}

    return split


def main() -> None:
    args = parse_args()
    data = load_dataset("json", data_files={"train": args.train, "validation": args.validation})
    data = data.map(prompt_completion(args.messages_column),
                    remove_columns=data["train"].column_names)

    config = SFTConfig(
        output_dir=args.output_dir,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        max_steps=args.max_steps,
        max_length=args.max_length,
        bf16=args.bf16,
        fp16=args.fp16,
        use_cpu=args.use_cpu,
        gradient_checkpointing=args.gradient_checkpointing,
        model_init_kwargs={"dtype": args.dtype},
        save_strategy="no",
        report_to="none",
        seed=args.seed,
    )
    peft_config = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=args.target_modules.split(","),
        task_type="CAUSAL_LM",
    )
    set_seed(args.seed)
    trainer = SFTTrainer(
        model=args.model,
        args=config,
        train_dataset=data["train"],
        eval_dataset=data["validation"],
        peft_config=peft_config,
    )
    result = trainer.train()
    metrics = dict(result.metrics)
    metrics.update(trainer.evaluate())
    metrics["global_step"] = trainer.state.global_step
    trainer.save_model(args.output_dir)
    Path(args.output_dir, "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n",
                                                     encoding="utf-8")


if __name__ == "__main__":
    main()
