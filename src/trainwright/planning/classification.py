"""Plan a sequence-classification run: what differs from the shared skeleton. Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import replace

from trainwright.discovery.model import ModelFacts
from trainwright.planning.defaults import (
    CLASSIFICATION,
    CLASSIFICATION_EFFECTIVE_BATCH,
    CLASSIFICATION_EPOCHS,
    CLASSIFICATION_LEARNING_RATES,
    CLASSIFICATION_UNKNOWN_SIZE_RATE,
    default,
    pick_by_table,
)
from trainwright.planning.existing import keep_existing_values
from trainwright.planning.hardware_rules import attention_choice
from trainwright.planning.label_columns import MULTI_LABEL, REGRESSION, SINGLE_LABEL
from trainwright.planning.labelled import (
    best_metric,
    class_summary,
    class_weights,
    has_class_label_ids,
    labelled_data_section,
    planned_counts,
    pos_weight,
)
from trainwright.planning.memory import ModelShape
from trainwright.planning.plan import Choice, Plan, SearchParameter
from trainwright.planning.skeleton import (
    Objective,
    PlanInputs,
    Workload,
    assemble_plan,
    early_stopping_section,
    format_count,
    model_name_choice,
    plan_batch,
    script_for,
    search_space,
    training_section,
)

TABLE = CLASSIFICATION
TEMPLATES = {SINGLE_LABEL: "classification/train.py.j2",
             MULTI_LABEL: "classification/multi_label.py.j2",
             REGRESSION: "classification/regression.py.j2"}


def learning_rate(model: ModelFacts) -> Choice:
    parameters = model.num_parameters
    comment = "peak rate after warmup, by model size"
    if parameters is None:
        return Choice(CLASSIFICATION_UNKNOWN_SIZE_RATE, "the model size is unknown: the "
                      "base-size default of the BERT fine-tuning recipe", comment)
    rate, size_class = pick_by_table(CLASSIFICATION_LEARNING_RATES, parameters)
    return Choice(rate, f"{format_count(parameters)} parameters: {size_class} fine-tune well "
                        f"at {rate:g}", comment)


def epochs(train_rows: int) -> Choice:
    value = pick_by_table(CLASSIFICATION_EPOCHS, train_rows)
    return Choice(value, f"{train_rows:,} training rows: small datasets need more passes; "
                         "early stopping ends the run when the validation metric stops "
                         "improving", "passes over the data; early stopping may end sooner")


def warmup(total_steps: int) -> Choice:
    comment = "share of the steps that warm up the learning rate"
    if total_steps < 1000:
        return Choice(0.1, f"0.1 of {total_steps:,} planned steps: short runs need a larger "
                           "share of warmup", comment)
    return Choice(0.06, f"6 % of {total_steps:,} planned steps, as in RoBERTa's fine-tuning",
                  comment)


def model_shape(model: ModelFacts) -> ModelShape:
    """The model's size for the memory model; base-size defaults when it is unknown."""
    return ModelShape(parameters=model.num_parameters or 110_000_000,
                      hidden_size=model.hidden_size or 768, num_layers=model.num_layers or 12,
                      num_heads=model.num_heads or 12, vocab_size=model.vocab_size or 30522)


def plan_classification(inputs: PlanInputs) -> Plan:
    model, train = inputs.model, inputs.data.train
    data = labelled_data_section(inputs.data, inputs.options, model, inputs.token_lengths)
    data = keep_existing_values(inputs.facts, inputs.task, inputs.options, "data", data)
    kind = data["label_kind"].value
    counts = planned_counts(train, data)
    train_rows = train.rows or sum(counts.values())
    fit_rows = inputs.training_share(train_rows, data)
    target = pick_by_table(CLASSIFICATION_EFFECTIVE_BATCH, fit_rows)
    batch = plan_batch(inputs, Workload(
        effective_batch=target,
        effective_batch_reason=f"an effective batch of {target} for {fit_rows:,} training rows",
        sequence=data["max_length"].value, length_key="data.max_length",
        shape=model_shape(model)))
    metric, greater = best_metric(counts, kind)
    objective = Objective(metric, greater)
    training = training_section(
        inputs, batch, fit_rows, learning_rate=learning_rate(model), epochs=epochs(fit_rows),
        objective=objective, fixed_shapes=False, warmup=warmup)
    sections = {
        "model": {"name_or_path": model_name_choice(inputs), **attention_choice()},
        "data": data,
        **_loss_sections(kind, counts, train_rows),
        "early_stopping": early_stopping_section(inputs),
        "training": training,
    }
    space = search_space(inputs, training, objective, (
        SearchParameter("training.num_train_epochs", "int", training["num_train_epochs"].value,
                        "from half to one and a half times the planned epochs",
                        low=max(1, training["num_train_epochs"].value // 2),
                        high=max(2, math.ceil(training["num_train_epochs"].value * 1.5))),
        SearchParameter("training.per_device_train_batch_size", "categorical",
                        training["per_device_train_batch_size"].value,
                        "only batch sizes that the memory plan says fit",
                        choices=_fitting_batches(training["per_device_train_batch_size"].value)),
    ))
    summary = {
        "train_rows": train.rows,
        "label_counts": counts,
        "classes": class_summary(train, data),
        "text_length_words": train.text_length_words,
        "token_length_source": "the model's tokenizer" if inputs.token_lengths else
        "words x 1.4 (tokenizer not available locally)",
        "model_parameters": model.num_parameters,
    }
    script = replace(script_for(inputs, TEMPLATES[kind], "AutoModelForSequenceClassification"),
                     class_label_ids=has_class_label_ids(train, data))
    return assemble_plan(inputs, sections, space, script, summary, batch=batch)


def _loss_sections(kind: str, counts: dict[str, int], rows: int) -> dict[str, dict[str, Choice]]:
    """What the loss of each kind is weighted by (regression: plain MSE, nothing to plan)."""
    if kind == SINGLE_LABEL:
        return {"loss": {"class_weights": class_weights(counts, list(counts))}}
    if kind == MULTI_LABEL:
        return {"loss": {"pos_weight": pos_weight(counts, rows)},
                "prediction": {"threshold": default(TABLE, "threshold")}}
    return {}


def _fitting_batches(per_device: int) -> tuple[int, ...]:
    return tuple(sorted({size for size in (per_device // 2, per_device) if size >= 1}))
