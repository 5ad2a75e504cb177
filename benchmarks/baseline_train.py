"""The common baseline for benchmarks/bench_throughput.py: text classification the way most
tutorials do it.

* every example is padded to 512 tokens when tokenised
  (``tokenizer(..., padding="max_length", max_length=512, truncation=True)``);
* a plain ``Trainer`` with ``TrainingArguments`` defaults except the output folder, the batch
  size and the run length (matched to the generated run), and ``report_to="none"`` so that no
  tracker runs in either; no length grouping, no class weights;
* evaluated once after training on the validation file (accuracy, macro-F1).

    python benchmarks/baseline_train.py --model MODEL_DIR --train data/train.csv \
        --validation data/validation.csv --output-dir out --batch-size 16 --max-steps 100

Writes ``metrics.json`` (train_* and eval_* metrics) into --output-dir.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from datasets import load_dataset
from sklearn.metrics import accuracy_score, f1_score
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
    set_seed,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--validation", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--max-samples", type=int, help="use the first N rows of each split")
    parser.add_argument("--max-length", type=int, default=512)
    return parser.parse_args()


def compute_metrics(prediction) -> dict:
    predicted = np.argmax(prediction.predictions, axis=-1)
    return {
        "accuracy": float(accuracy_score(prediction.label_ids, predicted)),
        "f1_macro": float(f1_score(prediction.label_ids, predicted, average="macro",
                                   zero_division=0)),
    }


def main() -> None:
    args = parse_args()
    set_seed(42)  # TrainingArguments' default seed, as the generated script does

    dataset = load_dataset("csv", data_files={"train": args.train,
                                              "validation": args.validation})
    if args.max_samples:
        for split in dataset:
            dataset[split] = dataset[split].select(range(min(args.max_samples,
                                                             len(dataset[split]))))
    labels = sorted(set(dataset["train"]["label"]))
    label2id = {label: index for index, label in enumerate(labels)}

    tokenizer = AutoTokenizer.from_pretrained(args.model)

    def preprocess(batch):
        encoded = tokenizer(batch["text"], padding="max_length", max_length=args.max_length,
                            truncation=True)
        encoded["labels"] = [label2id[label] for label in batch["label"]]
        return encoded

    dataset = dataset.map(preprocess, batched=True, remove_columns=["label"])

    model = AutoModelForSequenceClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id
    )
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        max_steps=args.max_steps,
        report_to="none",
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"],
        eval_dataset=dataset["validation"],
        compute_metrics=compute_metrics,
    )
    result = trainer.train()
    metrics = dict(result.metrics)
    metrics.update(trainer.evaluate())
    metrics["global_step"] = trainer.state.global_step
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    Path(args.output_dir, "metrics.json").write_text(json.dumps(metrics, indent=2),
                                                     encoding="utf-8")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
