"""The run at a glance: training loss, validation loss and the best-model metric against steps.

Self-contained (the standard library, and matplotlib imported only when a picture is drawn), so
that a generated train.py can carry a copy of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

Points = tuple[tuple[int, float], ...]  # (step, value), in the order the log has them


@dataclass(frozen=True)
class Curves:
    """What a Trainer's log history holds for the picture."""

    train_loss: Points
    eval_loss: Points
    metric_name: str | None  # the eval_* key of the best-model metric; None when it is the loss
    metric: Points

    @property
    def empty(self) -> bool:
        return not (self.train_loss or self.eval_loss or self.metric)


def metric_key(metric_for_best_model: str | None) -> str | None:
    """The log's key of a best-model metric as TrainingArguments names it (f1_macro or
    eval_f1_macro: eval_f1_macro); None for the loss, whose curve is drawn anyway."""
    if not metric_for_best_model:
        return None
    key = (metric_for_best_model if metric_for_best_model.startswith("eval_")
           else f"eval_{metric_for_best_model}")
    return None if key == "eval_loss" else key


def curve_points(log_history: list[dict], metric: str | None = None) -> Curves:
    """The points of each curve from trainer_state.json's log_history: training loss from the
    logging entries (`loss`), validation loss and the metric from the evaluation entries. The
    summary entry at the end (`train_loss`, `train_runtime`) is no point of a curve."""
    key = metric_key(metric)
    train, evaluation, chosen = [], [], []
    for entry in log_history:
        step = entry.get("step")
        if not isinstance(step, int):
            continue
        if _is_number(entry.get("loss")):
            train.append((step, float(entry["loss"])))
        if _is_number(entry.get("eval_loss")):
            evaluation.append((step, float(entry["eval_loss"])))
        if key and _is_number(entry.get(key)):
            chosen.append((step, float(entry[key])))
    return Curves(tuple(train), tuple(evaluation), key, tuple(chosen))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _steps_and_values(points: Points) -> tuple[list[int], list[float]]:
    return [step for step, _ in points], [value for _, value in points]


def plot_curves(curves: Curves, path: str | os.PathLike, best_step: int | None = None,
                stopped_step: int | None = None, title: str = "Training curves"):
    """Draw the curves into a PNG at ``path`` (800 x 600 pixels with a metric panel, 800 x 450
    without) and return the matplotlib Figure. The best checkpoint is a dashed green line and
    early stopping, when it fired, a dotted red one. A Figure without pyplot needs no display
    and changes no global backend, so this works on a headless machine and inside any process.
    Raises ImportError without matplotlib (pip install matplotlib)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    panels = 2 if curves.metric else 1
    figure = Figure(figsize=(8, 6 if panels == 2 else 4.5), dpi=100, layout="constrained")
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    losses = axes[0]
    if curves.train_loss:
        losses.plot(*_steps_and_values(curves.train_loss), color="tab:blue", linewidth=1.2,
                    label="training loss")
    if curves.eval_loss:
        losses.plot(*_steps_and_values(curves.eval_loss), color="tab:orange", marker="o",
                    markersize=4, label="validation loss")
    losses.set_ylabel("loss")
    losses.set_title(title)
    if panels == 2:
        name = (curves.metric_name or "metric").removeprefix("eval_")
        axes[1].plot(*_steps_and_values(curves.metric), color="tab:purple", marker="o",
                     markersize=4, label=f"validation {name}")
        axes[1].set_ylabel(name)
    for number, panel in enumerate(axes):  # the marks are named once, in the top legend
        if best_step is not None:
            panel.axvline(best_step, color="tab:green", linestyle="--", linewidth=1.2,
                          label=f"best checkpoint (step {best_step})" if number == 0 else None)
        if stopped_step is not None:
            panel.axvline(stopped_step, color="tab:red", linestyle=":", linewidth=1.5,
                          label=f"early stopping (step {stopped_step})" if number == 0
                          else None)
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("step")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial.png")
    figure.savefig(partial, dpi=100)  # a reader never sees half a picture
    os.replace(partial, target)
    return figure
