"""`trainwright report` on a terminal: rich tables of what a run did."""

from __future__ import annotations

import dataclasses
import time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trainwright.report.compare import ComparedRow, compare_runs
from trainwright.report.models import RunReport, json_safe
from trainwright.report.picture import Picture

SAMPLES_PRINTED = 3
SAMPLE_CHARACTERS = 200


def json_document(runs: list[tuple[RunReport, Picture]]) -> dict:
    """One run's report, or two runs and their comparison, as one JSON document."""
    documents = [dict(run.as_document(), curves=dataclasses.asdict(picture))
                 for run, picture in runs]
    if len(runs) == 1:
        return documents[0]
    rows = [dataclasses.asdict(row) for row in compare_runs(runs[0][0], runs[1][0])]
    return {"runs": documents, "comparison": json_safe(rows)}


def show_run(console: Console, report: RunReport, picture: Picture) -> None:
    task = f"{report.task} " if report.task else ""
    config = f" (config {report.config})" if report.config else ""
    console.print(f"[bold]{escape(report.folder)}[/]: {task}{report.kind}, "
                  f"{_state(report)}{escape(config)}")
    console.print(_folding(_facts(report)))
    if report.metrics or report.baselines:
        table = Table("metric", "value", title=f"Scores ({escape(report.metrics_source)})")
        for key, value in report.metrics.items():
            table.add_row(key, _number(value))
        for key, value in report.baselines.items():
            table.add_row(f"{key} (the run to beat)", _number(value))
        console.print(table)
    if report.per_class:
        console.print(_per_class(report))
    if report.language:
        language = report.language
        table = Table("", "before training", "after training", title="Language modelling")
        if language.perplexity_before is not None or language.perplexity_after is not None:
            table.add_row("perplexity", _number(language.perplexity_before),
                          _number(language.perplexity_after))
        table.add_row("validation loss", _number(language.eval_loss_before),
                      _number(language.eval_loss_after))
        console.print(table)
    if report.samples:
        console.print(f"Samples ({report.samples_total} in samples.jsonl; the first "
                      f"{min(SAMPLES_PRINTED, len(report.samples))}):")
        for sample in report.samples[:SAMPLES_PRINTED]:
            console.print(f"  {_cut(sample.prompt)!r} -> {_cut(sample.text)!r}", markup=False)
            if sample.reference is not None:
                console.print(f"    expected: {_cut(sample.reference)!r}", markup=False)
    if report.settings:
        table = Table("setting", "value", title=f"Settings ({escape(report.settings_source)} "
                      "as it is now; train.py --set overrides are not recorded)")
        for key, value in report.settings.items():
            table.add_row(key, escape(_value(value)))
        console.print(table)
    _show_picture(console, report.folder, picture)
    for note in report.notes:
        console.print(f"  note: {note}", markup=False)


def show_comparison(console: Console, rows: tuple[ComparedRow, ...],
                    pictures: tuple[Picture, Picture]) -> None:
    table = Table("", "first", "second", title="Two runs side by side (* the better one)")
    for row in rows:
        table.add_row(row.name, *(escape(_value(value)) + (" *" if row.better == side else "")
                                  for value, side in ((row.first, "first"),
                                                      (row.second, "second"))))
    console.print(_folding(table))
    for folder, picture in zip((rows[0].first, rows[0].second), pictures, strict=True):
        _show_picture(console, str(folder), picture)


def _facts(report: RunReport) -> Table:
    table = Table("", "", show_header=False, title="Run")
    planned = report.steps_planned
    steps = f"{report.steps_done:,}"
    if planned:
        steps += f" of {planned:,} planned ({report.steps_done / planned:.0%})"
    if report.epochs_done is not None:
        steps += f"; epoch {report.epochs_done:.3g}"
        if report.epochs_planned:
            steps += f" of {report.epochs_planned:.3g}"
    table.add_row("steps", steps)
    best = report.best
    if best is not None:
        score = ""
        if best.value is not None:
            direction = ("" if best.greater_is_better is None else
                         ", higher is better" if best.greater_is_better else ", lower is better")
            score = f": {best.metric or 'best metric'} {_number(best.value)}{direction}"
        where = f" (step {best.step:,})" if best.step is not None else ""
        gone = "" if best.exists else "; no longer in the folder"
        table.add_row("best checkpoint", escape(f"{best.path}{where}{score}{gone}"))
        others = {key: value for key, value in best.metrics.items()
                  if key != f"eval_{best.metric}"}
        if others:
            table.add_row("  its evaluation", ", ".join(f"{key.removeprefix('eval_')} "
                                                        f"{_number(value)}"
                                                        for key, value in others.items()))
    table.add_row("early stopping", escape(report.early_stopping.explanation))
    table.add_row("throughput", escape(_throughput(report)))
    if report.train_loss is not None:
        table.add_row("training loss", f"{_number(report.train_loss)} (mean over the run)")
    if report.peak_learning_rate is not None:
        table.add_row("peak learning rate", f"{report.peak_learning_rate:.3g} (logged)")
    if report.checkpoints:
        table.add_row("checkpoints", ", ".join(report.checkpoints))
    if report.last_written is not None:
        table.add_row("last written", _when(report.last_written))
    return table


def _per_class(report: RunReport) -> Table:
    table = Table("class", "precision", "recall", "f1", "support",
                  title="Per class (classification_report.txt)")
    for score in (*report.per_class, *report.averages):
        table.add_row(escape(score.label), f"{score.precision:.2f}", f"{score.recall:.2f}",
                      f"{score.f1:.2f}", f"{score.support:,}")
    if report.accuracy is not None:
        table.add_row("accuracy", "", "", f"{report.accuracy:.2f}", "")
    return table


def _state(report: RunReport) -> str:
    if report.state == "finished":
        return ("[yellow]stopped early[/]" if report.early_stopping.fired
                else "[green]finished[/]")
    if report.state == "ended":
        return "training ended, no final_metrics.json"
    return "[yellow]incomplete[/]"


def _throughput(report: RunReport) -> str:
    speed = report.throughput
    parts = []
    if speed.samples_per_second is not None:
        parts.append(f"{speed.samples_per_second:,.1f} samples/s")
    if speed.tokens_per_second is not None:
        parts.append(f"{speed.tokens_per_second:,.0f} tokens/s")
    if speed.steps_per_second is not None:
        parts.append(f"{speed.steps_per_second:,.2f} steps/s")
    if speed.train_seconds is not None:
        parts.append(f"{_duration(speed.train_seconds)} of training")
    if speed.seconds_left is not None:
        parts.append(f"about {_duration(speed.seconds_left)} left at this pace")
    return f"{', '.join(parts)} (from {speed.source})" if parts else speed.source


def _show_picture(console: Console, folder: str, picture: Picture) -> None:
    marks = {"written": "[green]written[/]", "kept": "kept", "no matplotlib": "[yellow]not "
             "drawn[/]", "nothing logged": "not drawn", "failed": "[red]not written[/]"}
    console.print(f"Curves of {escape(folder)}: {marks[picture.status]}: "
                  f"{escape(picture.detail)}")


def _folding(table: Table) -> Table:
    """Names stay whole; long values wrap instead of ending in an ellipsis."""
    for column in table.columns:
        column.overflow = "fold"
    table.columns[0].no_wrap = True
    return table


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:,}" if isinstance(value, int) else str(value)


def _cut(text: str) -> str:
    return text if len(text) <= SAMPLE_CHARACTERS else text[:SAMPLE_CHARACTERS] + "..."


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds / 3600:,.1f} h"


def _when(timestamp: float) -> str:
    ago = max(0.0, time.time() - timestamp)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(timestamp))} " \
           f"({_duration(ago)} ago)"
