"""Whether early stopping ended a run, from its trainer_state.json and config.

When early stopping fired: the run ended (final_metrics.json, or the Trainer's saved control
says training should stop) before its planned steps (global_step < max_steps), and the
EarlyStoppingCallback's saved patience counter reached its patience. A trainer_state.json
that records its stateful callbacks without that one had no early stopping, whatever the config
says now. One that records none (transformers before 4.41) is judged from the log: the
evaluations since the last improvement of the best-model metric (by more than the threshold)
are at least the config's early_stopping.patience.
"""

from __future__ import annotations

from trainwright.report.curves import metric_key
from trainwright.report.models import EarlyStopping
from trainwright.report.values import as_float, as_int, mapping


def early_stopping(state: dict, config: dict, log: list[dict], metric: str | None,
                   greater: bool | None, steps_done: int, steps_planned: int | None, *,
                   ended: bool) -> EarlyStopping:
    """Whether early stopping ended the run (the rule is in the module's docstring)."""
    callbacks = state.get("stateful_callbacks")
    record = mapping(callbacks).get("EarlyStoppingCallback")
    record = record[0] if isinstance(record, list) and record else record
    configured = config.get("early_stopping") if isinstance(config.get("early_stopping"),
                                                             dict) else {}
    if isinstance(callbacks, dict) and not isinstance(record, dict):
        # The Trainer records every stateful callback: this run had no early stopping, whatever
        # the config says now (train.py --set early_stopping.patience=0 leaves it out).
        return EarlyStopping(None, None, False, None, None,
                             "the run had no early stopping (trainer_state.json records no "
                             "EarlyStoppingCallback)")
    if isinstance(record, dict):
        arguments, attributes = mapping(record.get("args")), mapping(record.get("attributes"))
        patience = as_int(arguments.get("early_stopping_patience"))
        threshold = as_float(arguments.get("early_stopping_threshold"))
        without = as_int(attributes.get("early_stopping_patience_counter"))
        evidence = "the callback's counter in trainer_state.json"
    else:
        patience = as_int(configured.get("patience")) or None
        threshold = as_float(configured.get("threshold")) or 0.0
        without = evaluations_without_improvement(log, metric, greater, threshold)
        evidence = "the log's evaluations"
    if not patience:
        return EarlyStopping(None, None, False, None, None, "the run had no early stopping")
    before_plan = steps_planned is not None and steps_done < steps_planned
    fired = ended and before_plan and without is not None and without >= patience
    planned = f"{steps_planned:,}" if steps_planned is not None else "?"
    counted = (f"{without} evaluation{'s' if without != 1 else ''} without improvement "
               f"(patience {patience}, from {evidence})" if without is not None else
               f"patience {patience}; evaluations without improvement unknown")
    if fired:
        explanation = f"fired at step {steps_done:,} of {planned}: {counted}"
    elif not ended:
        explanation = f"has not fired (the run has not ended): {counted}"
    elif not before_plan:
        explanation = f"did not fire: every planned step ran; {counted}"
    else:
        explanation = (f"did not fire, yet the run ended at step {steps_done:,} of {planned}: "
                       f"{counted}")
    return EarlyStopping(patience, threshold, fired, steps_done if fired else None, without,
                         explanation)


def evaluations_without_improvement(log: list[dict], metric: str | None,
                                     greater: bool | None, threshold: float) -> int | None:
    """As EarlyStoppingCallback counts: evaluations since the metric last improved on its best
    by more than the threshold."""
    if metric is None:
        return None
    key = metric_key(metric) or "eval_loss"
    values = [entry[key] for entry in log if isinstance(entry.get(key), (int, float))]
    if not values:
        return None
    best, without = values[0], 0
    for value in values[1:]:
        better = value > best if greater else value < best
        if better and abs(value - best) > threshold:
            best, without = value, 0
        else:
            without += 1
    return without
