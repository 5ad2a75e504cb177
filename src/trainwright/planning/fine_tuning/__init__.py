"""Plan fine-tuning of a pretrained model: what differs from the shared skeleton. Pure.

The objective follows the data (objective.py), the method the hardware and the memory model
(method.py), the LoRA targets the model's modules (targets.py), the data section the objective
(data.py).
"""

from __future__ import annotations

from dataclasses import replace

from trainwright.discovery.architecture import Architecture
from trainwright.discovery.data_shape import PROMPT_COMPLETION
from trainwright.discovery.model import ModelFacts
from trainwright.errors import UserError
from trainwright.planning.classification import learning_rate as classification_learning_rate
from trainwright.planning.defaults import (
    FINE_TUNING,
    FINE_TUNING_LORA_LEARNING_RATES,
    GENERATION_CONTINUED_LEARNING_RATES,
    default,
    pick_by_table,
)
from trainwright.planning.existing import keep_existing_values
from trainwright.planning.fine_tuning.data import fine_tuning_data
from trainwright.planning.fine_tuning.method import (
    ADAPTERS,
    adapter_section,
    choose_method,
    method_warnings,
    model_section,
    optimizer,
    quantization_section,
)
from trainwright.planning.fine_tuning.objective import (
    CAUSAL_LM,
    SEQUENCE_CLASSIFICATION,
    SFT,
)
from trainwright.planning.fine_tuning.padding import padding_free
from trainwright.planning.fine_tuning.targets import lora_parameters, lora_targets
from trainwright.planning.foreign import (
    METHOD,
    Imported,
    apply_imports,
    imported_choice,
    imports_for,
)
from trainwright.planning.hardware_rules import liger_choice
from trainwright.planning.labelled import (
    best_metric,
    class_weights,
    has_class_label_ids,
    planned_counts,
)
from trainwright.planning.memory import ModelShape, TrainingSetup, fit_batch
from trainwright.planning.plan import Choice, Plan, SearchParameter
from trainwright.planning.requirements import kernel_requirements, requirement_line
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
from trainwright.planning.speed import (
    evaluation_section,
    step_cost,
    validation_blocks,
    validation_examples,
)

TABLE = FINE_TUNING
MODEL_CLASSES = {SFT: "AutoModelForCausalLM", CAUSAL_LM: "AutoModelForCausalLM",
                 SEQUENCE_CLASSIFICATION: "AutoModelForSequenceClassification"}
LOSS_REASONS = {SFT: "validation loss on the response tokens",
                CAUSAL_LM: "validation loss (perplexity is its exp)"}


def _model_shape(model: ModelFacts, architecture: Architecture, objective: str) -> ModelShape:
    causal = objective != SEQUENCE_CLASSIFICATION
    return ModelShape(parameters=architecture.total_parameters,
                      hidden_size=model.hidden_size or 768,
                      num_layers=architecture.num_layers, num_heads=model.num_heads or 12,
                      vocab_size=(model.vocab_size or 32000) if causal else 0, causal_lm=causal,
                      # kept in 16 bit by QLoRA: the embeddings and an untied output head
                      embedding_parameters=architecture.embedding_parameters
                      + architecture.head_parameters)


def _memory_setup(method: str, share: float) -> TrainingSetup:
    qlora = method == "qlora"
    return TrainingSetup(1, 0, half_precision=True, method=method, trainable_fraction=share,
                         eight_bit_optimizer=qlora, gradient_checkpointing=qlora)


def _fits_with_lora(inputs: PlanInputs, shape: ModelShape, sequence: int, share: float,
                    target: int) -> bool:
    """Whether LoRA on a 16-bit base fits at batch 1 (always, where memory is no limit)."""
    hardware = inputs.facts.hardware
    if not hardware.gpus:
        return True
    setup = replace(_memory_setup("lora", share), sequence_length=sequence)
    return fit_batch(shape, setup, target, hardware.gpus[0].memory_mib, len(hardware.gpus)).fits


def trained_warmup(total_steps: int) -> Choice:
    """Freezing layers and full fine-tuning train the model's own weights: a short warmup."""
    return default(TABLE, "trained_warmup")


def _learning_rate(method: str, objective: str, model: ModelFacts, parameters: int) -> Choice:
    if method in ADAPTERS:
        rate, size_class = pick_by_table(FINE_TUNING_LORA_LEARNING_RATES, parameters)
        return Choice(rate, f"{format_count(parameters)} parameters with adapters: {size_class}",
                      "peak rate: adapters take larger steps")
    if objective == SEQUENCE_CLASSIFICATION:
        return classification_learning_rate(model)
    rate, size_class = pick_by_table(GENERATION_CONTINUED_LEARNING_RATES, parameters)
    return Choice(rate, f"{format_count(parameters)} parameters, {method} fine-tuning: "
                        f"{size_class} train well at {rate:g}", "peak rate after warmup, by size")


def _objective(objective: str, inputs: PlanInputs, data: dict[str, Choice]) -> Objective:
    if objective == SEQUENCE_CLASSIFICATION:
        return Objective(*best_metric(planned_counts(inputs.data.train, data)))
    reason = LOSS_REASONS[objective]
    return Objective(Choice("loss", reason, reason), greater_is_better=False)


def _chat_template_note(model: ModelFacts) -> str:
    if model.has_chat_template is None:
        return ("the tokenizer's own when it has one (the model is not available locally, so "
                "this was not checked), else a plain ### User / ### Assistant format")
    if model.has_chat_template:
        return "the tokenizer's own"
    return ("none in the tokenizer, so a plain ### System / ### User / ### Assistant format, "
            "saved with the tokenizer")


def imported_rank(imported: Imported | None) -> Choice:
    """LoRA's rank: the table's, or the one a config of another tool sets."""
    planned = default(TABLE, "lora_r")
    if imported is None or not isinstance(imported.value, int) or imported.value < 1:
        return planned
    return imported_choice(imported, planned)


def plan_fine_tuning(inputs: PlanInputs) -> Plan:
    facts, options, model, architecture = (inputs.facts, inputs.options, inputs.model,
                                           inputs.architecture)
    objective_choice = inputs.data.objective
    if architecture is None or objective_choice is None:
        raise UserError(f"The modules of {model.name_or_path} could not be read, so LoRA "
                        "targets cannot be chosen.",
                        "pass --model with a local model folder (config.json), or install "
                        "torch and transformers.")
    objective = objective_choice.value
    data = fine_tuning_data(inputs, objective)
    section = keep_existing_values(facts, inputs.task, options, "data",
                                   {"objective": objective_choice, **data.section})
    sequence = section.get("max_length", section.get("block_size")).value
    examples = inputs.training_share(data.examples, section)

    # Method, adapter and memory
    head_saved = objective == SEQUENCE_CLASSIFICATION
    imports = imports_for(facts, inputs.task, options.import_from)
    rank = imported_rank(imports.get("adapter", "r"))
    targets = lora_targets(architecture, options, imports.get("adapter", "target_modules"))
    shape = _model_shape(model, architecture, objective)
    target = pick_by_table(TABLE["effective_batch"], examples)
    lora_share = (lora_parameters(architecture, targets.value, rank.value)
                  / max(1, architecture.total_parameters))
    method = choose_method(facts, options,
                           _fits_with_lora(inputs, shape, sequence, lora_share, target),
                           imports.get(*METHOD))
    adapter = apply_imports(facts, imports, "adapter",
                            adapter_section(method, targets, rank, examples, architecture,
                                            head_saved),
                            skip={"method", "r", "target_modules", "trainable_parameters"})
    trainable = adapter["trainable_parameters"].value
    share = trainable / max(1, architecture.total_parameters)
    qlora = method.value == "qlora"
    kernels = liger_choice(facts, model.model_type, sequence, shape.vocab_size) \
        if objective != SEQUENCE_CLASSIFICATION else {}
    fused_loss = bool(kernels.get("use_liger_kernel") and kernels["use_liger_kernel"].value)
    batch = plan_batch(inputs, Workload(
        effective_batch=target,
        effective_batch_reason=f"an effective batch of {target} examples of up to {sequence} "
                               "tokens",
        sequence=sequence, length_key=data.length_key, shape=shape,
        setup=replace(_memory_setup(method.value, share), fused_cross_entropy=fused_loss),
        ideas=() if qlora else ("QLoRA (--method qlora, a 4-bit base model)",),
        gradient_checkpointing=Choice(True, "QLoRA recipe: recomputing activations keeps long "
                                            "sequences in memory",
                                      "QLoRA recipe: recomputed activations save memory")
        if qlora else None))

    # Batches: padding-free rows for SFT where the kernel keeps examples apart
    causal = objective != SEQUENCE_CLASSIFICATION
    model_choices = model_section(facts, model_name_choice(inputs), method.value, causal)
    section.update(padding_free(inputs, objective, section, batch, model_choices, imports))
    flattened = bool(section.get("padding_free") and section["padding_free"].value)

    judged_by = _objective(objective, inputs, section)
    epochs = pick_by_table(TABLE["epochs"], examples)
    label_names = "a PEFT model's forward() hides the label argument from Trainer's signature " \
                  "check; named here so evaluation reports a loss"
    training = training_section(
        inputs, batch, examples,
        learning_rate=_learning_rate(method.value, objective, model,
                                     architecture.total_parameters),
        epochs=Choice(epochs, f"{examples:,} training examples: small sets need more passes; "
                              "early stopping ends the run when the validation metric stops "
                              "improving", "passes over the data; early stopping may end sooner"),
        objective=judged_by, fixed_shapes=objective == CAUSAL_LM, padding_free=flattened,
        kernels=kernels or None,
        optimizer=optimizer(method.value),
        warmup=None if method.value in ADAPTERS else trained_warmup,
        weight_decay=None if method.value in ADAPTERS else default(TABLE, "trained_weight_decay"),
        max_grad_norm=None if method.value in ADAPTERS else default(TABLE,
                                                                    "trained_max_grad_norm"),
        extra={"label_names": Choice(["labels"], label_names,
                                     "named, so that evaluation reports a loss")})

    sections: dict[str, dict[str, Choice]] = {
        "model": model_choices,
        "data": section,
        "adapter": adapter,
    }
    if qlora:
        sections["quantization"] = quantization_section(facts)
    if objective == SEQUENCE_CLASSIFICATION:
        sections["loss"] = {"class_weights": class_weights(
            planned_counts(inputs.data.train, section), section["labels"].value)}
    if objective == SFT:
        sections["generation"] = {key: default(TABLE, key)
                                  for key in ("num_prompts", "max_new_tokens", "do_sample")}
    sections["early_stopping"] = early_stopping_section(inputs)
    if causal:
        validation = (validation_blocks(inputs, data.examples * sequence, section)
                      if objective == CAUSAL_LM else
                      validation_examples(inputs, data.examples, section))
        sections["evaluation"] = keep_existing_values(
            facts, inputs.task, options, "evaluation", evaluation_section(
                TABLE, validation, batch.effective, step_cost(method.value, training),
                "blocks" if objective == CAUSAL_LM else "examples"))
    sections["training"] = training

    search = ()
    if "r" in adapter:
        search = (
            SearchParameter("adapter.r", "categorical", adapter["r"].value,
                            "adapter ranks around the planned one: half, same, double",
                            choices=tuple(sorted({max(1, adapter["r"].value // 2),
                                                  adapter["r"].value,
                                                  2 * adapter["r"].value}))),
            SearchParameter("adapter.lora_dropout", "float", adapter["lora_dropout"].value,
                            "no dropout to strong dropout", low=0.0, high=0.2),
        )
    dependencies = facts.dependencies
    requirements = ()
    if method.value in ADAPTERS:
        requirements += (requirement_line("peft", "0.13", dependencies.version("peft")),)
    if qlora:
        requirements += (requirement_line("bitsandbytes", "0.43",
                                          dependencies.version("bitsandbytes")),)
    requirements += kernel_requirements(facts, sections)
    summary = {
        "objective": objective,
        "examples": data.examples,
        "model_parameters": architecture.total_parameters,
        "trainable_parameters": trainable,
        "trainable_share": share,
        "architecture_source": architecture.source,
        "chat_template": _chat_template_note(model) if objective == SFT
        and section["format"].value != PROMPT_COMPLETION else None,
        "memory": batch.fit.estimate.components if batch.fit is not None else None,
    }
    return assemble_plan(inputs, sections, search_space(inputs, training, judged_by, search),
                         replace(script_for(inputs, f"fine-tuning/{objective}.py.j2",
                                            MODEL_CLASSES[objective]),
                                 class_label_ids=objective == SEQUENCE_CLASSIFICATION
                                 and has_class_label_ids(inputs.data.train, section)),
                         summary, warnings=method_warnings(method, options, facts),
                         requirements=requirements, batch=batch)

