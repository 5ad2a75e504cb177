"""Run folders as the generated train.py leaves them (the shapes of a real run: trainer_state.json
of transformers 5, final_metrics.json, classification_report.txt, samples.jsonl), written by the
tests that read them with `trainwright report`."""

from __future__ import annotations

import json
import os
from pathlib import Path

CLASSIFICATION_REPORT = """              precision    recall  f1-score   support

    negative       0.50      0.25      0.33         8
    positive       0.72      0.95      0.82        19
    question       0.00      0.00      0.00         3

    accuracy                           0.67        30
   macro avg       0.41      0.40      0.38        30
weighted avg       0.59      0.67      0.61        30
"""


def write_config(root: Path, output_dir: str = "outputs/classification", *, task="classification",
                 metric="f1_macro", greater=True, patience=3) -> Path:
    """The parts of training_config.yaml a report reads."""
    path = root / "training_config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Train:       python train.py --config training_config.yaml\n"
        f"task: {task}\n"
        f"early_stopping:\n  patience: {patience}\n  threshold: 0.0\n"
        f"training:\n  output_dir: {output_dir}\n  learning_rate: 0.0003\n"
        "  num_train_epochs: 10\n  per_device_train_batch_size: 16\n"
        f"  metric_for_best_model: {metric}\n  greater_is_better: {str(greater).lower()}\n",
        encoding="utf-8")
    return path


def log_history(evaluations: list[float], steps_per_evaluation: int = 17, logging_steps: int = 4,
                metric: str = "eval_f1_macro") -> list[dict]:
    """Training losses every logging_steps and one evaluation (with ``metric``) per epoch."""
    history, steps = [], steps_per_evaluation * len(evaluations)
    for step in range(1, steps + 1):
        epoch = step / steps_per_evaluation
        if step % logging_steps == 0:
            history.append({"epoch": epoch, "grad_norm": 0.4, "learning_rate": 3e-4 * step / steps,
                            "loss": 1.1 - 0.004 * step, "step": step})
        if step % steps_per_evaluation == 0:
            value = evaluations[step // steps_per_evaluation - 1]
            history.append({"epoch": epoch, "eval_accuracy": 0.6, metric: value,
                            "eval_loss": 1.1 - value / 10, "eval_runtime": 0.0112,
                            "eval_samples_per_second": 2689.576, "eval_steps_per_second": 89.6,
                            "step": step})
    return history


def trainer_state(history: list[dict], *, max_steps: int, best_step: int | None,
                  best_metric: float | None, output_dir: str, patience: int | None = 3,
                  counter: int = 0, stop: bool = False, callbacks: bool = True) -> dict:
    """A trainer_state.json as the Trainer saves it in a checkpoint."""
    steps = max((entry["step"] for entry in history), default=0)
    state = {
        "best_global_step": best_step,
        "best_metric": best_metric,
        "best_model_checkpoint": f"{output_dir}/checkpoint-{best_step}" if best_step else None,
        "epoch": history[-1]["epoch"] if history else 0,
        "eval_steps": 500,
        "global_step": steps,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": 4,
        "max_steps": max_steps,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 10,
        "save_steps": 500,
        "total_flos": 7894969164.0,
        "train_batch_size": 16,
        "trial_name": None,
        "trial_params": None,
    }
    if callbacks:
        state["stateful_callbacks"] = {"TrainerControl": {
            "args": {"should_epoch_stop": False, "should_evaluate": False, "should_log": False,
                     "should_save": True, "should_training_stop": stop}, "attributes": {}}}
        if patience:
            state["stateful_callbacks"]["EarlyStoppingCallback"] = {
                "args": {"early_stopping_patience": patience, "early_stopping_threshold": 0.0},
                "attributes": {"early_stopping_patience_counter": counter}}
    return state


def write_checkpoint(folder: Path, step: int, state: dict, written_at: float | None = None
                     ) -> Path:
    checkpoint = folder / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True, exist_ok=True)
    path = checkpoint / "trainer_state.json"
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    if written_at is not None:
        os.utime(path, (written_at, written_at))
    (checkpoint / "model.safetensors").write_bytes(b"weights")
    return checkpoint


def early_stopped_classification_run(root: Path) -> Path:
    """Evaluations 0.38, 0.30, 0.31, 0.29 with patience 3: the best is the first (step 17) and
    early stopping ends the run at step 68 of 170, as in a real run of the tiny BERT."""
    write_config(root)
    folder = root / "outputs" / "classification"
    evaluations = [0.38, 0.30, 0.31, 0.29]
    history = log_history(evaluations)
    common = {"max_steps": 170, "best_step": 17, "best_metric": 0.38,
              "output_dir": "outputs/classification"}
    write_checkpoint(folder, 17, trainer_state(history[:5], **common))
    write_checkpoint(folder, 68, trainer_state(history, counter=3, stop=True, **common))
    final = {"train_runtime": 2.5259, "train_samples_per_second": 427.576,
             "train_steps_per_second": 26.921, "train_total_flos": 7894969164.0,
             "train_loss": 1.0982531098758472, "train_epoch": 4.0,
             "eval_loss": 1.062, "eval_accuracy": 0.6666666666666666, "eval_f1_macro": 0.38,
             "eval_runtime": 0.0112, "eval_samples_per_second": 2689.576,
             "eval_steps_per_second": 89.653, "global_step": 68, "resumed_from": None,
             "full_run": True, "best_checkpoint": "outputs/classification/checkpoint-17",
             "class_weights": {"negative": 1.2048, "positive": 0.5405, "question": 3.125},
             "majority_class_rate": 0.6333333333333333}
    (folder / "final_metrics.json").write_text(json.dumps(final, indent=2), encoding="utf-8")
    (folder / "classification_report.txt").write_text(CLASSIFICATION_REPORT, encoding="utf-8")
    return folder


def killed_classification_run(root: Path, started: float = 1_700_000_000.0) -> Path:
    """Killed after its checkpoint at step 34 of 170: checkpoints 17 and 34, written 20 s
    apart, and no final_metrics.json."""
    write_config(root)
    folder = root / "outputs" / "classification"
    history = log_history([0.30, 0.35])
    common = {"max_steps": 170, "output_dir": "outputs/classification"}
    write_checkpoint(folder, 17, trainer_state(history[:5], best_step=17, best_metric=0.30,
                                               **common), written_at=started)
    write_checkpoint(folder, 34, trainer_state(history, best_step=34, best_metric=0.35,
                                               **common), written_at=started + 20)
    return folder


def generation_run(root: Path) -> Path:
    """A finished generation run with perplexity before and after and samples.jsonl."""
    write_config(root, "outputs/generation", task="generation", metric="loss", greater=False)
    folder = root / "outputs" / "generation"
    history = [{"epoch": 0.2, "grad_norm": 2.4, "learning_rate": 4.8e-05, "loss": 5.76,
                "step": 6},
               {"epoch": 0.2, "eval_loss": 5.5928, "eval_runtime": 0.15, "step": 6}]
    write_checkpoint(folder, 6, trainer_state(history, max_steps=6, best_step=6,
                                              best_metric=5.5928, stop=True,
                                              output_dir="outputs/generation"))
    final = {"perplexity_before": 376.4638006476619, "train_runtime": 1.4878,
             "train_samples_per_second": 32.261, "train_steps_per_second": 4.033,
             "train_loss": 5.760683695475261, "train_epoch": 0.23, "eval_loss": 5.59283971786499,
             "eval_model_preparation_time": 0.0009, "eval_runtime": 0.0782, "epoch": 0.23,
             "perplexity": 268.4969938682935, "tokens_seen": 3072,
             "tokens_per_second": 2064.793655061164, "train_padding_fraction": 0.0,
             "global_step": 6, "resumed_from": None, "full_run": True,
             "best_checkpoint": "outputs/generation/checkpoint-6", "samples": 2}
    (folder / "final_metrics.json").write_text(json.dumps(final, indent=2), encoding="utf-8")
    samples = [{"prompt": "the old dog finds the", "sample": "the old dog finds the red ball"},
               {"prompt": "the small tree sees the", "sample": "the small tree sees the river"}]
    (folder / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples),
                                          encoding="utf-8")
    return folder
