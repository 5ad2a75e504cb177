"""Read a run's output folder into a RunReport: final_metrics.json, the newest
trainer_state.json (the folder's own or its last checkpoint's), classification_report.txt,
samples.jsonl, and the training_config.yaml whose output_dir the folder is."""

from __future__ import annotations

import re
from pathlib import Path

from trainwright.errors import UserError
from trainwright.report.curves import curve_points
from trainwright.report.folders import (
    QUICK_CHECK,
    SEARCH,
    RunConfig,
    checkpoints,
    find_run_config,
    is_run,
    read_json,
    resolve_run_folder,
    train_command,
)
from trainwright.report.models import BestCheckpoint, RunKind, RunReport, RunState
from trainwright.report.results import (
    classification_report,
    language_modelling,
    read_samples,
    scores,
    throughput,
)
from trainwright.report.stopping import early_stopping
from trainwright.report.values import as_float, as_int, evaluation_at, is_timing, mapping

BASELINES = ("majority_class_rate", "mean_baseline_rmse", "all_negative_f1_micro",
             "all_positive_f1_micro")
SETTINGS = ("training.learning_rate", "training.num_train_epochs",
            "training.per_device_train_batch_size", "training.gradient_accumulation_steps",
            "training.warmup_steps", "training.lr_scheduler_type", "training.weight_decay",
            "training.metric_for_best_model", "early_stopping.patience", "adapter.method",
            "adapter.r", "adapter.lora_alpha")


def read_run(given: str | Path | None = None) -> RunReport:
    """What a finished or running run did, from its output folder (or, for a project folder or
    none given, from its training_config.yaml's output_dir). A UserError (exit 2) when the
    folder is not a run."""
    folder = resolve_run_folder(None if given is None else str(given))
    notes: list[str] = []
    final_file = folder / "final_metrics.json"
    final = read_json(final_file) if final_file.is_file() else None
    state, state_file = _newest_state(folder, notes)
    if state is None and final is None:  # every state cut short, no final metrics
        raise UserError(f"{folder} has checkpoints, but none has a readable "
                        "trainer_state.json, and there is no final_metrics.json.",
                        "the run was stopped while writing its first checkpoint: rerun the "
                        "training command to start it again.")
    config, unreadable = find_run_config(folder)
    notes += [f"not read: {problem}" for problem in unreadable]
    values = config.values if config else {}
    training = values.get("training") if isinstance(values.get("training"), dict) else {}
    state = state or {}
    final_metrics = final or {}
    history = state.get("log_history") if isinstance(state.get("log_history"), list) else []
    log = [entry for entry in history if isinstance(entry, dict)]

    steps_done = max(as_int(state.get("global_step")) or 0,
                     as_int(final_metrics.get("global_step")) or 0)
    steps_planned = as_int(state.get("max_steps")) or None
    control = mapping(mapping(state.get("stateful_callbacks")).get("TrainerControl"))
    stop_signalled = mapping(control.get("args")).get("should_training_stop") is True
    run_state: RunState = ("finished" if final is not None else
                           "ended" if stop_signalled or (steps_planned is not None
                                                           and steps_done >= steps_planned)
                           else "incomplete")
    metric, greater = _best_metric_name(training, state, log)
    best = _best_checkpoint(folder, state, final_metrics, log, metric, greater)
    stopping = early_stopping(state, values, log, metric, greater, steps_done, steps_planned,
                              ended=final is not None or stop_signalled)
    metrics, metrics_source = scores(final, log, state_file)
    per_class, averages, accuracy = classification_report(folder / "classification_report.txt")
    shown_samples, samples_total = read_samples(folder / "samples.jsonl", notes)
    settings, settings_source = _settings(folder, config)
    kind = _kind(folder, final)
    notes += _notes(folder, final_metrics, run_state, steps_done, steps_planned, state_file,
                    config)
    learning_rates = [entry["learning_rate"] for entry in log
                      if isinstance(entry.get("learning_rate"), (int, float))]
    picture = folder / "training_curves.png"
    written = [path.stat().st_mtime for path in (state_file, final_file)
               if path is not None and path.is_file()]
    return RunReport(
        folder=str(folder),
        state=run_state,
        kind=kind,
        task=values.get("task") if isinstance(values.get("task"), str) else None,
        config=_shown(config.path) if config else None,
        state_file=str(state_file) if state_file else None,
        last_written=max(written) if written else None,
        steps_done=steps_done,
        steps_planned=steps_planned,
        epochs_done=as_float(state.get("epoch")) or as_float(final_metrics.get("train_epoch")),
        epochs_planned=as_float(state.get("num_train_epochs")),
        checkpoints=tuple(path.name for path in checkpoints(folder)),
        best=best,
        early_stopping=stopping,
        throughput=throughput(folder, final, log, steps_done, steps_planned),
        train_loss=(as_float(final_metrics.get("train_loss")) if final
                    else _summary(log, "train_loss")),
        metrics=metrics,
        metrics_source=metrics_source,
        baselines={key: float(final_metrics[key]) for key in BASELINES
                   if as_float(final_metrics.get(key)) is not None},
        per_class=per_class,
        averages=averages,
        accuracy=accuracy,
        language=language_modelling(final_metrics),
        samples=shown_samples,
        samples_total=samples_total,
        settings=settings,
        settings_source=settings_source,
        peak_learning_rate=max(learning_rates) if learning_rates else None,
        notes=tuple(notes),
        curves=curve_points(log, metric),
        curves_png=str(picture) if picture.is_file() else None,
    )


def _newest_state(folder: Path, notes: list[str]) -> tuple[dict | None, Path | None]:
    """The trainer_state.json with the most steps: the folder's own (written by
    trainer.save_state) or the last checkpoint's; a cut-short one is skipped and said."""
    candidates = [folder / "trainer_state.json",
                  *(path / "trainer_state.json" for path in checkpoints(folder))]
    best: tuple[int, int, dict, Path] | None = None
    for order, path in enumerate(candidates):
        if not path.is_file():
            continue
        try:
            state = read_json(path)
        except UserError:
            notes.append(f"{path} is unreadable (cut short when the run stopped?); "
                         "the checkpoint before it was read")
            continue
        # Most steps wins; on a tie the folder's own, which has the log's summary entry.
        key = (as_int(state.get("global_step")) or 0, -order)
        if best is None or key > best[:2]:
            best = (*key, state, path)
    return (best[2], best[3]) if best else (None, None)


def _best_metric_name(training: dict, state: dict, log: list[dict]
                      ) -> tuple[str | None, bool | None]:
    """metric_for_best_model and greater_is_better: from the config; without one, the
    evaluation key whose value at the best step is best_metric, and TrainingArguments' rule
    (greater is better unless the name ends in loss)."""
    name = training.get("metric_for_best_model")
    if not isinstance(name, str) or not name:
        best_step, value = as_int(state.get("best_global_step")), state.get("best_metric")
        evaluation = evaluation_at(log, best_step) if best_step is not None else {}
        matches = [key for key, item in evaluation.items() if item == value]
        name = matches[0].removeprefix("eval_") if len(matches) == 1 else None
    if name is None:
        return None, None
    greater = training.get("greater_is_better")
    return name, greater if isinstance(greater, bool) else not name.endswith("loss")


def _best_checkpoint(folder: Path, state: dict, final: dict, log: list[dict],
                     metric: str | None, greater: bool | None) -> BestCheckpoint | None:
    path = state.get("best_model_checkpoint") or final.get("best_checkpoint")
    if not isinstance(path, str) or not path:
        return None
    step = as_int(state.get("best_global_step"))
    if step is None and (match := re.search(r"checkpoint-(\d+)$", path.rstrip("/"))):
        step = int(match.group(1))
    evaluation = evaluation_at(log, step) if step is not None else {}
    return BestCheckpoint(
        path=path, step=step, metric=metric, value=as_float(state.get("best_metric")),
        greater_is_better=greater, exists=(folder / Path(path).name).is_dir(),
        metrics={key: value for key, value in evaluation.items() if not is_timing(key)})


def _settings(folder: Path, config: RunConfig | None) -> tuple[dict[str, object], str | None]:
    """The config's key hyperparameters; for a search trial, with the values the search gave
    it (best_hyperparameters.json names the best trial, the one the search keeps)."""
    if config is None:
        return {}, None
    settings: dict[str, object] = {}
    for name in SETTINGS:
        section, _, key = name.partition(".")
        values = config.values.get(section)
        if isinstance(values, dict) and key in values:
            settings[name] = values[key]
    source = config.path.name
    folder = folder.resolve()
    if folder.parent.name == SEARCH and folder.name.startswith("trial-"):
        source += " (the search's values for this trial are not recorded)"
        best_file = folder.parent.parent / "best_hyperparameters.json"
        best = read_json(best_file) if best_file.is_file() else {}
        if f"trial-{best.get('trial')}" == folder.name and isinstance(best.get("parameters"),
                                                                      dict):
            settings.update(best["parameters"])
            source = f"{config.path.name} with {best_file.name} (trial {best['trial']})"
    return settings, source


def _kind(folder: Path, final: dict | None) -> RunKind:
    folder = folder.resolve()  # "." names no folder
    if folder.parent.name == SEARCH and folder.name.startswith("trial-"):
        return "search trial"
    if folder.name == QUICK_CHECK or (final is not None and final.get("full_run") is False):
        return "quick check"
    return "run"


def _notes(folder: Path, final: dict, run_state: RunState, steps_done: int,
           steps_planned: int | None, state_file: Path | None, config: RunConfig | None
           ) -> list[str]:
    """What else a reviewer should know: the quick check and the search beside the run, a
    resume, what an incomplete run needs, and what could not be read."""
    notes = []
    if run_state == "incomplete":
        command = train_command(config) if config else "the training command"
        planned = f"{steps_planned:,}" if steps_planned is not None else "?"
        notes.append(f"no final_metrics.json: the run is still going or was stopped at step "
                     f"{steps_done:,} of {planned}; {command} (from the project root) resumes "
                     "it from its last checkpoint")
    if state_file is None:
        notes.append("no trainer_state.json (saving was off?): the steps come from "
                     "final_metrics.json, and there are no curves")
    if isinstance(final.get("resumed_from"), str):
        notes.append(f"resumed from {final['resumed_from']}")
    if config is None:
        notes.append("no training_config.yaml above this folder has it as training.output_dir; "
                     "the settings are not shown")
    quick = folder / QUICK_CHECK
    if quick.is_dir() and is_run(quick):
        notes.append(f"{quick} holds a quick check (--max-steps / --max-samples): trainwright "
                     f"report {quick}")
    best_file = folder / "best_hyperparameters.json"
    if (folder / SEARCH).is_dir() and best_file.is_file():
        best = read_json(best_file)
        trial = folder / SEARCH / f"trial-{best.get('trial')}"
        value = as_float(best.get("value"))
        shown = f" ({best.get('metric')} {value:.4g})" if value is not None else ""
        if trial.is_dir() and is_run(trial):
            notes.append(f"a hyperparameter search ran: its best trial is {trial}{shown}; "
                         f"trainwright report {folder} --compare {trial}")
    return notes


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _summary(log: list[dict], key: str) -> float | None:
    return next((as_float(entry.get(key)) for entry in reversed(log) if key in entry), None)
