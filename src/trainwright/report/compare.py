"""Two runs side by side (`trainwright report RUN --compare OTHER`), for example a search's
best trial against the planned config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trainwright.report.models import RunReport

Better = Literal["first", "second"] | None


@dataclass(frozen=True)
class ComparedRow:
    name: str
    first: object
    second: object
    better: Better = None  # marked where the direction is known: the best-model metric, losses


def compare_runs(first: RunReport, second: RunReport) -> tuple[ComparedRow, ...]:
    rows = [
        ComparedRow("folder", first.folder, second.folder),
        ComparedRow("run", _status(first), _status(second)),
        ComparedRow("steps", _steps(first), _steps(second)),
        ComparedRow("epochs", first.epochs_done, second.epochs_done),
        ComparedRow("early stopping", _stopping(first), _stopping(second)),
        ComparedRow("best checkpoint", first.best.path if first.best else None,
                    second.best.path if second.best else None),
    ]
    metric = (first.best or second.best)
    if metric is not None and metric.metric:
        name = metric.metric
        values = [run.best.value if run.best and run.best.metric == name else None
                  for run in (first, second)]
        rows.append(ComparedRow(f"best {name}", *values,
                                _better(*values, higher=metric.greater_is_better)))
    for key in sorted(first.metrics.keys() | second.metrics.keys()):
        values = first.metrics.get(key), second.metrics.get(key)
        lower = key.endswith("_loss")
        rows.append(ComparedRow(key, *values, _better(*values, higher=False) if lower else None))
    rows.append(ComparedRow("training loss", first.train_loss, second.train_loss))
    if first.language or second.language:
        values = [run.language.perplexity_after if run.language else None
                  for run in (first, second)]
        rows.append(ComparedRow("perplexity", *values, _better(*values, higher=False)))
    rows += [ComparedRow("samples / s", first.throughput.samples_per_second,
                         second.throughput.samples_per_second),
             ComparedRow("tokens / s", first.throughput.tokens_per_second,
                         second.throughput.tokens_per_second),
             ComparedRow("peak learning rate (logged)", first.peak_learning_rate,
                         second.peak_learning_rate)]
    for key in [*first.settings, *(k for k in second.settings if k not in first.settings)]:
        rows.append(ComparedRow(key, first.settings.get(key), second.settings.get(key)))
    return tuple(row for row in rows if row.first is not None or row.second is not None)


def _status(run: RunReport) -> str:
    return run.kind if run.state == "finished" else f"{run.kind}, {run.state}"


def _steps(run: RunReport) -> str:
    planned = f" of {run.steps_planned:,}" if run.steps_planned is not None else ""
    return f"{run.steps_done:,}{planned}"


def _stopping(run: RunReport) -> str:
    stopping = run.early_stopping
    if stopping.patience is None:
        return "none"
    return f"fired at step {stopping.step:,}" if stopping.fired else "did not fire"


def _better(first: float | None, second: float | None, higher: bool | None) -> Better:
    if first is None or second is None or higher is None or first == second:
        return None
    return "first" if (first > second) == higher else "second"
