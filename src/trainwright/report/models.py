"""What `trainwright report` knows about a run: frozen facts read from its output folder."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from trainwright.report.curves import Curves

RunState = Literal["finished", "ended", "incomplete"]
RunKind = Literal["run", "quick check", "search trial"]


@dataclass(frozen=True)
class BestCheckpoint:
    path: str  # as the Trainer recorded it (relative to the project root it ran in)
    step: int | None
    metric: str | None  # metric_for_best_model, e.g. f1_macro; None when not known
    value: float | None
    greater_is_better: bool | None
    exists: bool  # save_total_limit keeps it; False when it was deleted since
    metrics: dict[str, float] = field(default_factory=dict)  # its evaluation, from the log


@dataclass(frozen=True)
class EarlyStopping:
    patience: int | None  # None: the run had no early stopping
    threshold: float | None
    fired: bool
    step: int | None  # where it stopped the run, when it fired
    evaluations_without_improvement: int | None
    explanation: str  # the evidence, in a sentence


@dataclass(frozen=True)
class Throughput:
    train_seconds: float | None
    samples_per_second: float | None
    steps_per_second: float | None
    tokens_per_second: float | None
    tokens_seen: int | None
    source: str  # final_metrics.json, trainer_state.json or the checkpoints' write times
    seconds_left: float | None = None  # incomplete runs: at the measured pace


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LanguageModelling:
    perplexity_before: float | None
    perplexity_after: float | None
    eval_loss_before: float | None
    eval_loss_after: float | None


@dataclass(frozen=True)
class Sample:
    prompt: str
    text: str  # the model's continuation or answer
    reference: str | None = None  # the expected answer (fine-tuning)


@dataclass(frozen=True)
class RunReport:
    folder: str
    state: RunState  # finished: final_metrics.json written; ended: training ended (every step
    #                  ran, or it stopped early) without final_metrics.json, as a search trial
    #                  does; incomplete: still going, or killed
    kind: RunKind
    task: str | None
    config: str | None  # the training_config.yaml whose output_dir this run is
    state_file: str | None  # the trainer_state.json read
    last_written: float | None  # when the run last wrote its state (seconds since the epoch)
    steps_done: int
    steps_planned: int | None
    epochs_done: float | None
    epochs_planned: float | None
    checkpoints: tuple[str, ...]
    best: BestCheckpoint | None
    early_stopping: EarlyStopping
    throughput: Throughput
    train_loss: float | None
    metrics: dict[str, float]  # eval_* and test_* scores
    metrics_source: str
    baselines: dict[str, float]  # the runs to beat that train.py measured
    per_class: tuple[ClassScore, ...]
    averages: tuple[ClassScore, ...]  # macro avg, weighted avg, ...
    accuracy: float | None
    language: LanguageModelling | None
    samples: tuple[Sample, ...]
    samples_total: int
    settings: dict[str, object]  # the config's key hyperparameters
    settings_source: str | None
    peak_learning_rate: float | None  # the highest learning rate the log recorded
    notes: tuple[str, ...]
    curves: Curves = field(repr=False, compare=False)
    curves_png: str | None = None  # the picture's path once it exists

    def as_document(self) -> dict:
        """The report as one JSON document (the curves' points stay in trainer_state.json)."""
        document = dataclasses.asdict(self)
        document.pop("curves")
        return json_safe(document)


def json_safe(value):
    """JSON has no NaN or infinity: such a value (a diverged loss) becomes "nan" / "inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
