"""Plan a sequence-classification run: facts + options -> Plan. Pure: no I/O."""

from __future__ import annotations

import math

from trainwright import __version__
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataFile, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning import defaults
from trainwright.planning.common import (
    cadence,
    file_layout,
    format_count,
    given_on_command_line,
    keep_existing_values,
    p99,
    pick_by_table,
    plan_warnings,
    report_to_choice,
    select_splits,
    version_key,
    warmup_choice,
)
from trainwright.planning.hardware_rules import (
    attention_choice,
    compile_choice,
    dataloader_choices,
    optimizer_choice,
)
from trainwright.planning.memory import (
    ModelShape,
    TrainingSetup,
    fit_batch,
)
from trainwright.planning.plan import Choice, Options, Plan, SearchParameter, SearchSpace
from trainwright.planning.precision import choose_precision
from trainwright.planning.requirements import training_requirements

TABLE = defaults.CLASSIFICATION


def _default(key: str) -> Choice:
    value, reason = TABLE[key]
    return Choice(value, reason)


def check_labels(train: DataFile, options: Options) -> list[str]:
    problems = []
    if train.rows == 0 or (train.rows is None and not train.columns):
        problems.append(f"{train.path} has no data rows")
        return problems
    for role, given in (("text", options.text_column), ("label", options.label_column)):
        if given and given not in train.columns:
            problems.append(f"{train.path} has no {role} column '{given}' (its columns: "
                            f"{', '.join(train.columns)}); pass --{role}-column with one of them")
    if problems:
        return problems
    if not train.text_column:
        problems.append(f"{train.path}: no text column found among "
                        f"{', '.join(train.columns)}; pass --text-column NAME")
    if not train.label_column:
        problems.append(f"{train.path}: no plausible label column among "
                        f"{', '.join(train.columns)} (a label column has a name like 'label' "
                        "or a few distinct short values); pass --label-column NAME")
    elif len(train.label_counts) < 2:
        only = next(iter(train.label_counts), "none")
        problems.append(f"{train.path}: the label column '{train.label_column}' has a single "
                        f"class ('{only}'); classification needs at least two")
    return problems


def sorted_labels(label_counts: dict[str, int]) -> list[str]:
    labels = list(label_counts)
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def class_weights(label_counts: dict[str, int], labels: list[str]) -> Choice:
    largest, smallest = max(label_counts.values()), min(label_counts.values())
    ratio = largest / smallest
    threshold = TABLE["imbalance_ratio"][0]
    if ratio < threshold:
        return Choice(None, f"classes are balanced enough (largest/smallest = {ratio:.1f} < "
                            f"{threshold}); plain cross-entropy")
    total = sum(label_counts.values())
    weights = {label: round(total / (len(labels) * label_counts[label]), 4) for label in labels}
    return Choice(weights, f"largest/smallest class = {ratio:.1f}: weights n / (k * count) "
                           "(scikit-learn's 'balanced') so rare classes count as much as common "
                           "ones")


def max_length(train: DataFile, model: ModelFacts, token_lengths: list[int] | None) -> Choice:
    cap = min(model.max_positions or TABLE["max_length_cap"][0], TABLE["max_length_cap"][0])
    if token_lengths:
        longest = p99(token_lengths)
        source = f"the 99th percentile of {len(token_lengths)} sampled texts is {longest} " \
                 "tokens (measured with the model's tokenizer)"
    else:
        words = train.text_length_words.get("p99", 64)
        longest = math.ceil(words * 1.4) + 2
        source = (f"the 99th percentile is {words} words, about {longest} tokens (1.4 tokens a "
                  "word; the model's tokenizer was not available locally)")
    value = min(cap, max(16, math.ceil(longest / 8) * 8))
    capped = f"; capped at the model's {cap} positions" if value == cap and longest > cap else ""
    return Choice(value, f"{source}; rounded up to a multiple of 8{capped}. Batches are padded "
                         "only to their longest text")


def learning_rate(model: ModelFacts) -> Choice:
    parameters = model.num_parameters
    if parameters is None:
        return Choice(3e-5, "the model size is unknown: the base-size default of the BERT "
                            "fine-tuning recipe")
    rate, size_class = pick_by_table(defaults.CLASSIFICATION_LEARNING_RATES, parameters)
    return Choice(rate, f"{format_count(parameters)} parameters: {size_class} fine-tune well "
                        f"at {rate:g}")


def model_shape(model: ModelFacts) -> ModelShape:
    """The model's size for the memory model; base-size defaults when it is unknown."""
    return ModelShape(parameters=model.num_parameters or 110_000_000,
                      hidden_size=model.hidden_size or 768, num_layers=model.num_layers or 12,
                      num_heads=model.num_heads or 12, vocab_size=model.vocab_size or 30522)


def _batch(facts: ProjectFacts, model: ModelFacts, train_rows: int, sequence: int
           ) -> tuple[dict[str, Choice], int]:
    target = pick_by_table(defaults.CLASSIFICATION_EFFECTIVE_BATCH, train_rows)
    target_reason = f"an effective batch of {target} for {train_rows} training rows"
    hardware = facts.hardware
    eval_batch = {"per_device_eval_batch_size": None}
    if not hardware.gpus:
        per_device = min(target, 16)
        accumulation = max(1, target // per_device)
        reason = f"{target_reason}; on {hardware.accelerator.upper()} memory is not the limit"
        eval_batch = Choice(per_device * 2, "evaluation keeps no gradients, so twice the "
                                            "training batch fits")
        return {
            "per_device_train_batch_size": Choice(per_device, reason),
            "gradient_accumulation_steps": Choice(accumulation, reason),
            "per_device_eval_batch_size": eval_batch,
        }, per_device * accumulation
    gpu = hardware.gpus[0]
    setup = TrainingSetup(batch_size=1, sequence_length=sequence,
                          half_precision=gpu.compute_capability is not None)
    fit = fit_batch(model_shape(model), setup, target, gpu.memory_mib, len(hardware.gpus))
    if not fit.fits:
        raise UserError(
            f"Even one example of {sequence} tokens with gradient checkpointing needs about "
            f"{fit.estimate.total_mib:,.0f} MiB, more than 90 % of the {gpu.memory_mib:,} MiB of "
            f"{gpu.name}; no config was written.",
            suggest_for_no_fit(model, sequence, gpu.memory_mib))
    reason = (f"{target_reason}: {fit.per_device} per device x {fit.accumulation} accumulation "
              f"x {len(hardware.gpus)} GPU(s); estimated peak {fit.estimate.total_mib:,.0f} MiB "
              f"of {gpu.memory_mib:,} MiB on {gpu.name} at length {sequence}")
    choices = {
        "per_device_train_batch_size": Choice(fit.per_device, reason),
        "gradient_accumulation_steps": Choice(fit.accumulation, reason),
        "per_device_eval_batch_size": Choice(fit.per_device * 2, "evaluation keeps no "
                                             "gradients, so twice the training batch fits"),
    }
    if fit.gradient_checkpointing:
        choices["gradient_checkpointing"] = Choice(True, "without it not even one example fits "
                                                         f"in {gpu.memory_mib:,} MiB; it trades "
                                                         "about 30 % speed for activation memory")
    return choices, fit.per_device * fit.accumulation * len(hardware.gpus)


def suggest_for_no_fit(model: ModelFacts, sequence: int, memory_mib: int) -> str:
    from trainwright.planning.gpus import GPU_TABLE

    shape = model_shape(model)
    options = []
    shorter = sequence // 2
    while shorter >= 16:
        if fit_batch(shape, TrainingSetup(1, shorter, True), 1, memory_mib).fits:
            options.append(f"a shorter data.max_length ({shorter} fits)")
            break
        shorter //= 2
    bigger = next((key for key, spec in sorted(GPU_TABLE.items(), key=lambda g: g[1].memory_mib)
                   if fit_batch(shape, TrainingSetup(1, sequence, True), 1,
                                spec.memory_mib).fits), None)
    if bigger:
        options.append(f"a bigger GPU (--target-gpu {bigger} fits)")
    options.append("a smaller model (--model)")
    return "use " + "; or ".join(options) + "."


def plan_classification(facts: ProjectFacts, model: ModelFacts, options: Options,
                        token_lengths: list[int] | None = None) -> Plan:
    train, validation, test = select_splits(facts, needs_labels=True)
    problems = check_labels(train, options)
    if problems:
        raise UserError("The data cannot be used for classification:",
                        "fix the data file, or point trainwright at the right columns with "
                        "--text-column and --label-column.", problems=problems)
    labels = sorted_labels(train.label_counts)
    train_rows = train.rows or sum(train.label_counts.values())
    fraction = _default("validation_fraction")
    fit_rows = train_rows if validation else int(train_rows * (1 - fraction.value))
    imbalance = max(train.label_counts.values()) / min(train.label_counts.values())

    model_section = {"name_or_path": Choice(model.name_or_path, _model_reason(model, options)),
                     **attention_choice()}
    length = max_length(train, model, token_lengths)
    data = {
        "train_file": Choice(train.path, f"{train_rows:,} rows; {_split_reason(train)}"),
        "validation_file": Choice(validation.path if validation else None,
                                  "the project's validation split" if validation else
                                  "none in the project: carved from the training file"),
        "test_file": Choice(test.path if test else None,
                            "evaluated once after training" if test else
                            "no test split in the project"),
        "text_column": Choice(train.text_column, _column_reason(train.text_column, options
                                                                .text_column, "text")),
        "label_column": Choice(train.label_column, _column_reason(train.label_column,
                                                                  options.label_column,
                                                                  "label")),
        "labels": Choice(labels, "id order of the classes: "
                         + ", ".join(f"{label} ({train.label_counts[label]:,})"
                                     for label in labels)),
        "validation_fraction": fraction,
        "max_length": length,
    }
    keep_existing_values(facts, "classification", "data", data, given_on_command_line(options))

    batch, effective_batch = _batch(facts, model, fit_rows, data["max_length"].value)
    epochs_value = pick_by_table(defaults.CLASSIFICATION_EPOCHS, fit_rows)
    epochs = Choice(epochs_value, f"{fit_rows:,} training rows: small datasets need more "
                                  "passes; early stopping ends the run when the validation "
                                  "metric stops improving")
    steps = cadence(fit_rows, effective_batch, epochs_value)
    total_steps = steps.pop("_steps_per_epoch").value * epochs_value
    warmup_fraction = 0.1 if total_steps < 1000 else 0.06
    warmup_reason = (f"{warmup_fraction:g} of {total_steps:,} planned steps: short runs need a "
                     "larger share of warmup" if total_steps < 1000 else
                     f"6 % of {total_steps:,} planned steps, as in RoBERTa's fine-tuning")
    best_metric = "f1_macro" if imbalance >= TABLE["imbalance_ratio"][0] else "accuracy"
    best_reason = ("classes are imbalanced: macro-F1 weighs every class equally, accuracy "
                   "would reward predicting the majority" if best_metric == "f1_macro" else
                   "classes are balanced: accuracy is the clearest measure")
    fields = set(facts.dependencies.training_argument_fields)
    output_dir = options.output_dir or "outputs/classification"
    training: dict[str, Choice] = {
        "output_dir": Choice(output_dir, "checkpoints, the final model and metrics"
                             + (" (from --output-dir)" if options.output_dir else "")),
        "learning_rate": learning_rate(model),
        "num_train_epochs": epochs,
        **batch,
        **warmup_choice(fields, warmup_fraction, warmup_reason),
        "lr_scheduler_type": _default("lr_scheduler_type"),
        "weight_decay": _default("weight_decay"),
        "max_grad_norm": _default("max_grad_norm"),
        **steps,
        "save_total_limit": _default("save_total_limit"),
        "load_best_model_at_end": Choice(True, "the final model is the best evaluated one, not "
                                               "the last"),
        "metric_for_best_model": Choice(best_metric, best_reason),
        "greater_is_better": Choice(True, f"a higher {best_metric} is better"),
        **choose_precision(facts.hardware),
        **optimizer_choice(facts),
        **dataloader_choices(facts.hardware),
        **compile_choice(facts.hardware, fixed_shapes=False, total_steps=total_steps),
        **_length_grouping(fields),
        "report_to": report_to_choice(facts, options),
        "seed": _default("seed"),
    }
    training = {version_key(key, fields): choice for key, choice in training.items()}
    keep_existing_values(facts, "classification", "training", training,
                         given_on_command_line(options))

    sections = {
        "model": model_section,
        "data": data,
        "loss": {"class_weights": class_weights(train.label_counts, labels)},
        "early_stopping": {"patience": _default("early_stopping_patience"),
                           "threshold": _default("early_stopping_threshold")},
        "training": training,
    }
    config_path, script_path, layout_reason = file_layout(facts)
    return Plan(
        task="classification",
        sections=sections,
        search_space=search_space(training, best_metric, batch_fits=_fitting_batches(batch)),
        config_path=config_path,
        script_path=script_path,
        requirements=training_requirements(facts, training["report_to"].value),
        transformers_target=facts.dependencies.transformers_target,
        transformers_installed=facts.dependencies.transformers_installed,
        facts_summary=_facts_summary(facts, train, model, token_lengths, layout_reason),
        warnings=plan_warnings(facts, train),
        notes=(f"trainwright {__version__}",),
    )


def _model_reason(model: ModelFacts, options: Options) -> str:
    size = f"{format_count(model.num_parameters)} parameters, " if model.num_parameters else ""
    where = "a local folder" if model.local_path else "from the Hugging Face Hub"
    if options.model:
        return f"given with --model ({size}{where})"
    return f"{TABLE['model'][1]} ({where})"


def _split_reason(data: DataFile) -> str:
    return "named as the training split" if data.split == "train" else \
        "the largest labelled file in the project"


def _column_reason(found: str | None, given: str | None, role: str) -> str:
    if given:
        return f"given with --{role}-column"
    return f"inferred from the column names and values (override with --{role}-column)"


def _length_grouping(fields: set[str]) -> dict[str, Choice]:
    reason = ("batches of texts of similar length waste less padding, which speeds up "
              "training on skewed length distributions")
    if "train_sampling_strategy" in fields:
        return {"train_sampling_strategy": Choice("group_by_length", reason)}
    if "group_by_length" in fields:
        return {"group_by_length": Choice(True, reason)}
    return {}


def _fitting_batches(batch: dict[str, Choice]) -> tuple[int, ...]:
    per_device = batch["per_device_train_batch_size"].value
    return tuple(size for size in (per_device // 2, per_device) if size >= 1)


def search_space(training: dict[str, Choice], metric: str, batch_fits: tuple[int, ...]
                 ) -> SearchSpace:
    lr = training["learning_rate"].value
    epochs = training["num_train_epochs"].value
    parameters = (
        SearchParameter("training.learning_rate", "float", lr,
                        "log-uniform over a factor of 3 either side of the planned value",
                        low=float(f"{lr / 3:.2g}"), high=float(f"{lr * 3:.2g}"), log=True),
        SearchParameter("training.num_train_epochs", "int", epochs,
                        "from half to one and a half times the planned epochs",
                        low=max(1, epochs // 2), high=max(2, math.ceil(epochs * 1.5))),
        SearchParameter("training.weight_decay", "float", training["weight_decay"].value,
                        "none to strong regularisation", low=0.0, high=0.1),
        SearchParameter("training.per_device_train_batch_size", "categorical",
                        training["per_device_train_batch_size"].value,
                        "only batch sizes that the memory plan says fit",
                        choices=tuple(sorted(set(batch_fits)))),
    )
    return SearchSpace(metric=f"eval_{metric}", direction="maximize", n_trials=20,
                       sampler="tpe", pruner="median", parameters=parameters)


def _facts_summary(facts: ProjectFacts, train: DataFile, model: ModelFacts,
                   token_lengths: list[int] | None, layout_reason: str) -> dict:
    hardware = facts.hardware
    if hardware.gpus:
        device = ", ".join(f"{g.name} ({g.memory_mib:,} MiB)" for g in hardware.gpus)
    else:
        device = f"{hardware.accelerator.upper()}, {hardware.cpu_cores} cores, " \
                 f"{hardware.ram_mib:,} MiB RAM"
    return {
        "train_rows": train.rows,
        "label_counts": train.label_counts,
        "text_length_words": train.text_length_words,
        "token_length_source": "the model's tokenizer" if token_lengths else
        "words x 1.4 (tokenizer not available locally)",
        "model_parameters": model.num_parameters,
        "hardware": device,
        "framework": facts.framework.chosen or "none detected",
        "framework_explanation": facts.framework.explanation,
        "layout": layout_reason,
    }


