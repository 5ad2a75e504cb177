"""Plan parameter-efficient fine-tuning: facts + the model's modules + options -> Plan. Pure.

The objective follows the data: chat or instruction rows -> supervised fine-tuning of a causal
LM with the loss on the responses only; labelled texts -> sequence classification with a new
head; plain text -> causal language modelling. The method (LoRA, QLoRA, frozen layers, full)
follows the hardware and the memory model.
"""

from __future__ import annotations

import math

from trainwright import __version__
from trainwright.discovery.architecture import Architecture
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataFile, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning import defaults
from trainwright.planning.classification import (
    check_labels,
    class_weights,
    sorted_labels,
)
from trainwright.planning.classification import (
    learning_rate as classification_learning_rate,
)
from trainwright.planning.classification import (
    max_length as classification_max_length,
)
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
from trainwright.planning.generation import (
    block_size,
    corpus_files,
    count_tokens,
    hardware_text,
)
from trainwright.planning.hardware_rules import (
    attention_choice,
    compile_choice,
    dataloader_choices,
    optimizer_choice,
)
from trainwright.planning.memory import ModelShape, TrainingSetup, fit_batch
from trainwright.planning.plan import Choice, Options, Plan, SearchParameter, SearchSpace
from trainwright.planning.precision import choose_precision
from trainwright.planning.requirements import requirement_line, training_requirements

TABLE = defaults.FINE_TUNING
METHODS = ("lora", "qlora", "freeze", "full")
OBJECTIVES = {
    "chat": "sft", "instruction": "sft", "labelled": "sequence_classification",
    "text": "causal_lm",
}


def _default(key: str) -> Choice:
    value, reason = TABLE[key]
    return Choice(value, reason)


# ---------------------------------------------------------------------------------------------
# Objective
# ---------------------------------------------------------------------------------------------

def objective_of(train: DataFile) -> tuple[str, str]:
    """The training objective the data calls for, and why; a UserError for unusable data."""
    shape = train.shape
    kind = shape.kind if shape else "unknown"
    if kind == "instruction" and not shape.response_column:
        raise UserError(
            f"{train.path} looks like instruction data (column '{shape.prompt_column}') but has "
            f"no response column (its columns: {', '.join(train.columns)}).",
            "add the answers in a column named output, response, completion or answer; or, "
            "for plain text, rename the column to text.")
    if shape and shape.row_problems:
        raise UserError(f"{train.path} has rows that cannot be trained on:",
                        "fix or remove those rows (roles are system, user, assistant or tool; "
                        "every conversation needs an assistant turn).",
                        problems=list(shape.row_problems))
    if kind not in OBJECTIVES:
        raise UserError(
            f"{train.path} has no column trainwright can fine-tune on (columns: "
            f"{', '.join(train.columns) or 'none'}).",
            "use chat rows (a `messages` list of role / content), instruction / output "
            "columns, text + label columns, or a text column; or pass --text-column.")
    reasons = {
        "chat": f"rows hold conversations ('{shape.messages_column}'): supervised fine-tuning "
                "of a causal LM; only the assistant turns carry loss",
        "instruction": f"rows pair a prompt ('{shape.prompt_column}') with a response "
                       f"('{shape.response_column}'): supervised fine-tuning of a causal LM; "
                       "only the response carries loss",
        "labelled": f"rows pair a text ('{train.text_column}') with a label "
                    f"('{train.label_column}'): sequence classification with a new head",
        "text": f"rows are plain text ('{train.text_column}'): causal language modelling",
    }
    return OBJECTIVES[kind], reasons[kind]


# ---------------------------------------------------------------------------------------------
# Method
# ---------------------------------------------------------------------------------------------

def _qlora_available(facts: ProjectFacts, planned_for_target: bool) -> tuple[bool, str]:
    if not facts.hardware.gpus:
        return False, ("QLoRA's 4-bit kernels (bitsandbytes) need a CUDA GPU and this machine "
                       "has none")
    if planned_for_target or facts.dependencies.version("bitsandbytes"):
        return True, ""
    return False, "bitsandbytes is not installed (pip install bitsandbytes enables QLoRA)"


def choose_method(facts: ProjectFacts, options: Options, fits_with_lora: bool,
                  planned_for_target: bool) -> Choice:
    qlora_ok, why_not = _qlora_available(facts, planned_for_target)
    asked = options.method
    if asked == "qlora" and not qlora_ok:
        return Choice("lora", f"--method qlora was asked for, but {why_not}: planned as LoRA "
                              "on a 16/32-bit base model instead")
    if asked:
        return Choice(asked, f"given with --method {asked}")
    if fits_with_lora or not qlora_ok:
        return Choice("lora", _default("method").reason)
    return Choice("qlora", "LoRA on a 16-bit base does not fit even at batch 1 with gradient "
                           "checkpointing; the 4-bit base model of QLoRA does")


def lora_targets(architecture: Architecture, options: Options) -> Choice:
    if options.target_modules:
        given = list(options.target_modules)
        missing = architecture.unmatched_targets(given)
        if missing:
            raise UserError(
                f"The model {architecture.model_class} has no module named "
                f"{', '.join(repr(m) for m in missing)}.",
                "pass --target-modules with names it has: "
                f"{', '.join(architecture.available_targets())}.")
        return Choice(given, "given with --target-modules")
    targets = architecture.targets_in_blocks()
    return Choice(targets, f"every linear layer of the attention and MLP blocks "
                           f"({len(architecture.block_linears)} in {architecture.num_layers} "
                           "blocks; QLoRA paper: adapting all of them matches full "
                           "fine-tuning, adapting only q/v does not); the output head is left "
                           f"out. Read from {architecture.source}")


def lora_parameters(architecture: Architecture, targets: list[str], rank: int) -> int:
    return sum(rank * (layer.in_features + layer.out_features)
               for layer in architecture.matched(targets))


def frozen_modules(architecture: Architecture) -> tuple[list[str], int, str]:
    """Embeddings and the lower blocks; the top quarter (at least one block) is trained."""
    layers = architecture.num_layers
    trained = max(1, math.ceil(layers * TABLE["trained_layer_share"][0]))
    frozen = layers - trained
    names = list(architecture.embedding_modules)
    names += [f"{architecture.layers_module}.{index}" for index in range(frozen)]
    reason = (f"the embeddings and the first {frozen} of {layers} blocks are frozen, the top "
              f"{trained} trained: {TABLE['trained_layer_share'][1]}")
    return names, frozen, reason


def _trainable_count(method: str, architecture: Architecture, targets: list[str], rank: int,
                     frozen: int, head_saved: bool) -> int:
    head = architecture.head_parameters if head_saved else 0
    if method in {"lora", "qlora"}:
        return lora_parameters(architecture, targets, rank) + head
    if method == "freeze":  # a head tied to the embeddings is frozen with them
        return (architecture.total_parameters - architecture.embedding_parameters
                - frozen * architecture.layer_parameters)
    return architecture.total_parameters


# ---------------------------------------------------------------------------------------------
# Data sections per objective
# ---------------------------------------------------------------------------------------------

def sft_max_length(train: DataFile, model: ModelFacts, token_lengths: list[int] | None) -> Choice:
    cap = min(model.max_positions or TABLE["max_length_cap"][0], TABLE["max_length_cap"][0])
    overhead = TABLE["template_tokens"][0]
    if token_lengths:
        longest = p99(token_lengths)
        source = (f"the 99th percentile of {len(token_lengths)} sampled examples is {longest} "
                  "tokens (the model's tokenizer)")
    else:
        words = train.text_length_words.get("p99", 200)
        longest = math.ceil(words * 1.4)
        source = (f"the 99th percentile is {words} words, about {longest} tokens (1.4 tokens a "
                  "word; the tokenizer is not available locally)")
    value = min(cap, max(64, math.ceil((longest + overhead) / 64) * 64))
    capped = f"; capped at {cap}" if value == cap and longest + overhead > cap else ""
    return Choice(value, f"{source}, plus {overhead} for the chat template; rounded up to a "
                         f"multiple of 64{capped}. Longer examples are cut, batches are padded "
                         "only to their longest example")


def _sft_data(train: DataFile, validation: DataFile | None, model: ModelFacts,
              token_lengths: list[int] | None) -> dict[str, Choice]:
    shape = train.shape
    assert shape is not None
    data = {
        "train_file": Choice(train.path, f"{train.rows or 0:,} examples"),
        "validation_file": Choice(validation.path if validation else None,
                                  "the project's validation split" if validation else
                                  "none in the project: carved from the training examples"),
        "validation_fraction": _default("validation_fraction"),
        "format": Choice(shape.kind, "conversations as role / content messages" if
                         shape.kind == "chat" else "prompt / response columns, turned into a "
                                                   "user and an assistant message"),
    }
    if shape.kind == "chat":
        data["messages_column"] = Choice(shape.messages_column, "the list of messages per row")
    else:
        data["prompt_column"] = Choice(shape.prompt_column, "the instruction or prompt")
        data["input_column"] = Choice(shape.input_column, "extra input appended to the prompt"
                                      if shape.input_column else "no separate input column")
        data["response_column"] = Choice(shape.response_column, "the answer to learn")
    data["max_length"] = sft_max_length(train, model, token_lengths)
    return data


def _classification_data(train: DataFile, validation: DataFile | None, test: DataFile | None,
                         model: ModelFacts, options: Options,
                         token_lengths: list[int] | None) -> dict[str, Choice]:
    problems = check_labels(train, options)
    if problems:
        raise UserError("The data cannot be used for classification:",
                        "fix the data file, or pass --text-column and --label-column.",
                        problems=problems)
    labels = sorted_labels(train.label_counts)
    return {
        "train_file": Choice(train.path, f"{train.rows or 0:,} rows"),
        "validation_file": Choice(validation.path if validation else None,
                                  "the project's validation split" if validation else
                                  "none in the project: carved from the training file"),
        "test_file": Choice(test.path if test else None, "evaluated once after training"
                            if test else "no test split in the project"),
        "text_column": Choice(train.text_column, "the text to classify"),
        "label_column": Choice(train.label_column, "the class of each text"),
        "labels": Choice(labels, "id order of the classes: " + ", ".join(
            f"{label} ({train.label_counts[label]:,})" for label in labels)),
        "validation_fraction": Choice(0.1, "10 % of the training rows, stratified by label, "
                                           "when the project has no validation split"),
        "max_length": classification_max_length(train, model, token_lengths),
    }


def _causal_lm_data(facts: ProjectFacts, train: DataFile, validation: DataFile | None,
                    model: ModelFacts, token_lengths: list[int] | None
                    ) -> tuple[dict[str, Choice], int]:
    train_path, files = corpus_files(facts, train)
    tokens, _, token_source = count_tokens(files, token_lengths, train.sample_texts)
    return {
        "train_file": Choice(train_path, f"about {tokens:,} tokens ({token_source})"),
        "validation_file": Choice(validation.path if validation else None,
                                  "the project's validation split" if validation else
                                  "none in the project: carved from the training documents"),
        "text_column": Choice(train.text_column, "the text to model"),
        "validation_fraction": Choice(0.05, "5 % of the documents when the project has no "
                                            "validation split"),
        "block_size": block_size(model, tokens),
    }, tokens


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------

def plan_fine_tuning(facts: ProjectFacts, model: ModelFacts, options: Options,
                     token_lengths: list[int] | None = None,
                     architecture: Architecture | None = None) -> Plan:
    train, validation, test = select_splits(facts, needs_labels=False)
    objective, objective_reason = objective_of(train)
    if architecture is None:
        raise UserError(f"The modules of {model.name_or_path} could not be read, so LoRA "
                        "targets cannot be chosen.",
                        "pass --model with a local model folder (config.json), or install "
                        "torch and transformers.")
    if objective == "sft":
        data = _sft_data(train, validation, model, token_lengths)
        examples = train.rows or 0
        sequence = data["max_length"].value
    elif objective == "sequence_classification":
        data = _classification_data(train, validation, test, model, options, token_lengths)
        examples = train.rows or sum(train.label_counts.values())
        sequence = data["max_length"].value
    else:
        data, tokens = _causal_lm_data(facts, train, validation, model, token_lengths)
        examples = max(1, tokens // data["block_size"].value)
        sequence = data["block_size"].value
    data = {"objective": Choice(objective, objective_reason), **data}
    keep_existing_values(facts, "fine-tuning", "data", data, given_on_command_line(options))
    fit_examples = examples if validation else int(examples * (1 - TABLE["validation_fraction"][0]))

    # Method, adapter and memory
    head_saved = objective == "sequence_classification"
    rank = TABLE["lora_r"][0]
    targets = lora_targets(architecture, options)
    planned_for_target = bool(options.target_gpu or options.target_gpu_memory)
    shape = _model_shape(model, architecture, objective)
    effective_target = pick_by_table(TABLE["effective_batch"], fit_examples)
    lora_fraction = (lora_parameters(architecture, targets.value, rank)
                     / max(1, architecture.total_parameters))
    lora_fit = _fit(facts, shape, sequence, "lora", lora_fraction, effective_target)
    method = choose_method(facts, options, lora_fit is None or lora_fit.fits, planned_for_target)
    frozen_names, frozen_count, frozen_reason = frozen_modules(architecture)
    trainable = _trainable_count(method.value, architecture, targets.value, rank, frozen_count,
                                 head_saved)
    share = trainable / max(1, architecture.total_parameters)
    adapter = _adapter_section(method, targets, rank, fit_examples, architecture, head_saved,
                               frozen_names, frozen_reason, trainable, share)
    fit = _fit(facts, shape, sequence, method.value, share, effective_target)
    if fit is not None and not fit.fits:
        gpu = facts.hardware.gpus[0]
        raise UserError(
            f"Fine-tuning {model.name_or_path} with {method.value} needs about "
            f"{fit.estimate.total_mib:,.0f} MiB even at batch 1 with gradient checkpointing, more "
            f"than 90 % of the {gpu.memory_mib:,} MiB of {gpu.name}; no config was written.",
            _no_fit_suggestion(method.value, facts, shape, sequence, share))

    output_dir = options.output_dir or "outputs/fine-tuning"
    fields = set(facts.dependencies.training_argument_fields)
    batch, effective = _batch_choices(facts, fit, effective_target, sequence, method.value)
    epochs_value = pick_by_table(TABLE["epochs"], fit_examples)
    steps = cadence(fit_examples, effective, epochs_value)
    total_steps = steps.pop("_steps_per_epoch").value * epochs_value
    metric, greater, metric_reason = _best_metric(objective, train)
    precision = choose_precision(facts.hardware)
    training = {
        "output_dir": Choice(output_dir, "checkpoints, the adapter (or model) and metrics"),
        "learning_rate": _learning_rate(method.value, objective, model, architecture),
        "num_train_epochs": Choice(epochs_value, f"{fit_examples:,} training examples: small "
                                   "sets need more passes; early stopping ends the run when the "
                                   "validation metric stops improving"),
        **batch,
        **warmup_choice(fields, TABLE["warmup"][0], TABLE["warmup"][1]),
        "lr_scheduler_type": _default("lr_scheduler_type"),
        "weight_decay": _default("weight_decay"),
        "max_grad_norm": _default("max_grad_norm"),
        **steps,
        "save_total_limit": Choice(2, "keeps the best and the latest checkpoint"),
        "load_best_model_at_end": Choice(True, "the final adapter is the best evaluated one"),
        "metric_for_best_model": Choice(metric, metric_reason),
        "greater_is_better": Choice(greater, f"a {'higher' if greater else 'lower'} {metric} "
                                             "is better"),
        "label_names": Choice(["labels"], "a PEFT model's forward() hides the label argument "
                                          "from Trainer's signature check; named here so "
                                          "evaluation reports a loss"),
        **precision,
        **_optimizer(facts, method.value),
        **dataloader_choices(facts.hardware),
        **compile_choice(facts.hardware, fixed_shapes=objective == "causal_lm",
                         total_steps=total_steps),
        **_length_grouping(fields, objective),
        "report_to": report_to_choice(facts, options),
        "seed": Choice(42, "fixed so that two runs of the same config are comparable"),
    }
    if method.value == "qlora":
        training["gradient_checkpointing"] = Choice(True, "QLoRA recipe: recomputing "
                                                    "activations keeps long sequences in memory")
    training = {version_key(key, fields): choice for key, choice in training.items()}
    keep_existing_values(facts, "fine-tuning", "training", training,
                         given_on_command_line(options))

    sections: dict[str, dict[str, Choice]] = {
        "model": _model_section(model, method.value, precision, options),
        "data": data,
        "adapter": adapter,
    }
    if method.value == "qlora":
        sections["quantization"] = _quantization_section(facts)
    if objective == "sequence_classification":
        sections["loss"] = {"class_weights": class_weights(train.label_counts,
                                                           data["labels"].value)}
    if objective == "sft":
        sections["generation"] = {
            "num_prompts": Choice(3, "the first validation prompts are answered after training"),
            "max_new_tokens": Choice(64, "long enough to judge an answer, short enough to read"),
            "do_sample": Choice(False, "greedy decoding: the same answer on every run"),
        }
    sections["early_stopping"] = {
        "patience": Choice(3, "stops after 3 evaluations without improvement"),
        "threshold": Choice(0.0, "any improvement counts"),
    }
    sections["training"] = training
    config_path, script_path, layout_reason = file_layout(facts)
    return Plan(
        task="fine-tuning",
        sections=sections,
        search_space=_search_space(training, metric, greater, adapter),
        config_path=config_path,
        script_path=script_path,
        requirements=_requirements(facts, training["report_to"].value, method.value),
        transformers_target=facts.dependencies.transformers_target,
        transformers_installed=facts.dependencies.transformers_installed,
        facts_summary={
            "objective": objective,
            "examples": examples,
            "model_parameters": architecture.total_parameters,
            "trainable_parameters": trainable,
            "trainable_share": share,
            "architecture_source": architecture.source,
            "chat_template": _chat_template_note(model) if objective == "sft" else None,
            "hardware": hardware_text(facts),
            "framework": facts.framework.chosen or "none",
            "framework_explanation": facts.framework.explanation,
            "layout": layout_reason,
            "memory": fit.estimate.components if fit is not None else None,
        },
        warnings=plan_warnings(facts, train) + _method_warnings(method, options, facts),
        notes=(f"trainwright {__version__}",),
    )


def _model_shape(model: ModelFacts, architecture: Architecture, objective: str) -> ModelShape:
    causal = objective != "sequence_classification"
    return ModelShape(parameters=architecture.total_parameters,
                      hidden_size=model.hidden_size or 768,
                      num_layers=architecture.num_layers, num_heads=model.num_heads or 12,
                      vocab_size=(model.vocab_size or 32000) if causal else 0, causal_lm=causal,
                      # kept in 16 bit by QLoRA: the embeddings and an untied output head
                      embedding_parameters=architecture.embedding_parameters
                      + architecture.head_parameters)


def _fit(facts: ProjectFacts, shape: ModelShape, sequence: int, method: str, share: float,
         target: int):
    """The batch that fits on the GPU (None on CPU, where memory is not the limit)."""
    hardware = facts.hardware
    if not hardware.gpus:
        return None
    gpu = hardware.gpus[0]
    setup = TrainingSetup(1, sequence, half_precision=True, method=method,
                          trainable_fraction=share, eight_bit_optimizer=method == "qlora",
                          gradient_checkpointing=method == "qlora")
    return fit_batch(shape, setup, target, gpu.memory_mib, len(hardware.gpus))


def _batch_choices(facts: ProjectFacts, fit, target: int, sequence: int, method: str
                   ) -> tuple[dict[str, Choice], int]:
    reason = f"an effective batch of {target} examples of up to {sequence} tokens"
    if fit is None:
        per_device = min(target, 8)
        accumulation = max(1, target // per_device)
        return {
            "per_device_train_batch_size": Choice(per_device, reason + "; on CPU memory is not "
                                                  "the limit"),
            "gradient_accumulation_steps": Choice(accumulation, reason),
            "per_device_eval_batch_size": Choice(per_device, "the same as training"),
        }, per_device * accumulation
    gpu, count = facts.hardware.gpus[0], len(facts.hardware.gpus)
    reason += (f": {fit.per_device} per device x {fit.accumulation} accumulation x {count} "
               f"GPU(s); estimated peak {fit.estimate.total_mib:,.0f} MiB of "
               f"{gpu.memory_mib:,} MiB on {gpu.name} with {method}")
    choices = {
        "per_device_train_batch_size": Choice(fit.per_device, reason),
        "gradient_accumulation_steps": Choice(fit.accumulation, reason),
        "per_device_eval_batch_size": Choice(fit.per_device, "the same as training"),
    }
    if fit.gradient_checkpointing and method != "qlora":
        choices["gradient_checkpointing"] = Choice(True, "needed for even one example to fit")
    return choices, fit.per_device * fit.accumulation * count


def _no_fit_suggestion(method: str, facts: ProjectFacts, shape: ModelShape, sequence: int,
                       share: float) -> str:
    from trainwright.planning.gpus import GPU_TABLE

    ideas = []
    if method != "qlora":
        ideas.append("QLoRA (--method qlora, a 4-bit base model)")
    shorter = sequence // 2
    gpu = facts.hardware.gpus[0]
    while shorter >= 64:
        if _fit(facts, shape, shorter, method, share, 1).fits:
            ideas.append(f"shorter examples (data.max_length {shorter} fits)")
            break
        shorter //= 2
    setup = TrainingSetup(1, sequence, True, method, True, trainable_fraction=share,
                          eight_bit_optimizer=method == "qlora")
    bigger = next((key for key, spec in sorted(GPU_TABLE.items(), key=lambda g: g[1].memory_mib)
                   if spec.memory_mib > gpu.memory_mib
                   and fit_batch(shape, setup, 1, spec.memory_mib).fits), None)
    if bigger:
        ideas.append(f"a bigger GPU (--target-gpu {bigger} fits)")
    ideas.append("a smaller model (--model)")
    return "use " + "; or ".join(ideas) + "."


def _adapter_section(method: Choice, targets: Choice, rank: int, examples: int,
                     architecture: Architecture, head_saved: bool, frozen_names: list[str],
                     frozen_reason: str, trainable: int, share: float) -> dict[str, Choice]:
    adapter = {"method": method}
    if method.value in {"lora", "qlora"}:
        dropout = 0.1 if examples < 10_000 else 0.05
        adapter.update({
            "r": Choice(rank, TABLE["lora_r"][1]),
            "lora_alpha": Choice(2 * rank, "alpha = 2 r: the adapter's update is scaled by "
                                           "alpha / r = 2, a common, stable choice"),
            "lora_dropout": Choice(dropout, f"{examples:,} training examples: "
                                   + ("0.1 regularises small sets (QLoRA paper, up to 13B)"
                                      if dropout == 0.1 else "0.05 suffices for large sets")),
            "target_modules": targets,
            "modules_to_save": Choice(list(architecture.head_modules) if head_saved else None,
                                      "the new classification head is trained in full and "
                                      "saved with the adapter" if head_saved else
                                      "no new head: only the adapter is saved"),
        })
        if any(layer.transposed for layer in architecture.matched(targets.value)):
            adapter["fan_in_fan_out"] = Choice(True, "GPT-2 style Conv1D layers store their "
                                                     "weights transposed")
    elif method.value == "freeze":
        adapter["frozen_modules"] = Choice(frozen_names, frozen_reason)
    adapter["trainable_parameters"] = Choice(trainable, f"{share:.2%} of the model's "
                                             f"{format_count(architecture.total_parameters)} "
                                             "parameters are trained; train.py checks this count")
    return adapter


def _model_section(model: ModelFacts, method: str, precision: dict[str, Choice],
                   options: Options) -> dict[str, Choice]:
    size = f" ({format_count(model.num_parameters)} parameters)" if model.num_parameters else ""
    name = Choice(model.name_or_path, ("given with --model" if options.model else
                                       TABLE["model"][1]) + size)
    half = "bfloat16" if precision["bf16"].value else "float16" if precision["fp16"].value \
        else None
    if method == "lora" and half and "use_cpu" not in precision:
        dtype = Choice(half, "the frozen base weights are held in 16 bit; the adapter trains "
                             "in fp32 under autocast")
    elif method == "qlora":
        dtype = Choice(half or "float16", "the non-quantised parts (norms, embeddings) in the "
                                          "compute dtype")
    else:
        dtype = Choice("float32", "trained weights stay in fp32; mixed precision autocasts "
                                  "the compute" if method in {"freeze", "full"} else
                                  "no GPU: fp32 weights")
    return {"name_or_path": name, "dtype": dtype, **attention_choice()}


def _quantization_section(facts: ProjectFacts) -> dict[str, Choice]:
    gpu = facts.hardware.gpus[0]
    compute = "bfloat16" if gpu.supports_bf16 else "float16"
    return {
        "load_in_4bit": Choice(True, "the base model is stored in 4 bit (QLoRA)"),
        "bnb_4bit_quant_type": Choice("nf4", "NormalFloat4: optimal for normally distributed "
                                             "weights (QLoRA paper)"),
        "bnb_4bit_use_double_quant": Choice(True, "quantises the quantisation constants too: "
                                                  "about 0.37 bits a parameter saved"),
        "bnb_4bit_compute_dtype": Choice(compute, f"{gpu.name} " + (
            "computes bf16 natively (compute capability >= 8.0)" if compute == "bfloat16" else
            "has no fast bf16 (compute capability < 8.0): fp16")),
    }


def _optimizer(facts: ProjectFacts, method: str) -> dict[str, Choice]:
    if method == "qlora":
        return {"optim": Choice("paged_adamw_8bit", "QLoRA's paged 8-bit AdamW: optimizer "
                                "states in 8 bit, paged to CPU memory on spikes")}
    return optimizer_choice(facts)


def _learning_rate(method: str, objective: str, model: ModelFacts, architecture: Architecture
                   ) -> Choice:
    parameters = architecture.total_parameters
    if method in {"lora", "qlora"}:
        rate, size_class = pick_by_table(defaults.FINE_TUNING_LORA_LEARNING_RATES, parameters)
        return Choice(rate, f"{format_count(parameters)} parameters with adapters: {size_class}")
    if objective == "sequence_classification":
        return classification_learning_rate(model)
    rate, size_class = pick_by_table(defaults.GENERATION_CONTINUED_LEARNING_RATES, parameters)
    return Choice(rate, f"{format_count(parameters)} parameters, {method} fine-tuning: "
                        f"{size_class} train well at {rate:g}")


def _best_metric(objective: str, train: DataFile) -> tuple[str, bool, str]:
    if objective != "sequence_classification":
        return "loss", False, "validation loss on the response tokens" if objective == "sft" \
            else "validation loss (perplexity is its exp)"
    counts = train.label_counts
    if counts and max(counts.values()) / min(counts.values()) >= 1.5:
        return "f1_macro", True, "classes are imbalanced: macro-F1 weighs every class equally"
    return "accuracy", True, "classes are balanced: accuracy is the clearest measure"


def _length_grouping(fields: set[str], objective: str) -> dict[str, Choice]:
    if objective == "causal_lm":
        return {}  # packed blocks all have the same length
    reason = "batches of examples of similar length waste less padding"
    if "train_sampling_strategy" in fields:
        return {"train_sampling_strategy": Choice("group_by_length", reason)}
    if "group_by_length" in fields:
        return {"group_by_length": Choice(True, reason)}
    return {}


def _requirements(facts: ProjectFacts, report_to: str, method: str) -> tuple[str, ...]:
    lines = list(training_requirements(facts, report_to))
    lines.append(requirement_line("peft", "0.13", facts.dependencies.version("peft")))
    if method == "qlora":
        lines.append(requirement_line("bitsandbytes", "0.43",
                                      facts.dependencies.version("bitsandbytes")))
    return tuple(lines)


def _chat_template_note(model: ModelFacts) -> str:
    if model.has_chat_template is None:
        return ("the tokenizer's own when it has one (the model is not available locally, so "
                "this was not checked), else a plain ### User / ### Assistant format")
    if model.has_chat_template:
        return "the tokenizer's own"
    return ("none in the tokenizer, so a plain ### System / ### User / ### Assistant format, "
            "saved with the tokenizer")


def _method_warnings(method: Choice, options: Options, facts: ProjectFacts
                     ) -> tuple[str, ...]:
    warnings = []
    if options.method and method.value != options.method:
        warnings.append(method.reason)
    needed = ("peft", "bitsandbytes") if method.value == "qlora" else ("peft",)
    missing = facts.dependencies.missing(needed)
    if missing and method.value in {"lora", "qlora"}:
        warnings.append(f"Not installed: {', '.join(missing)}. train.py needs it for "
                        f"{method.value}: pip install -r requirements-training.txt")
    return tuple(warnings)


def _search_space(training: dict[str, Choice], metric: str, greater: bool,
                  adapter: dict[str, Choice]) -> SearchSpace:
    lr = training["learning_rate"].value
    parameters = [
        SearchParameter("training.learning_rate", "float", lr,
                        "log-uniform over a factor of 3 either side of the planned value",
                        low=float(f"{lr / 3:.2g}"), high=float(f"{lr * 3:.2g}"), log=True),
        SearchParameter("training.weight_decay", "float", training["weight_decay"].value,
                        "none to strong regularisation", low=0.0, high=0.1),
    ]
    if "r" in adapter:
        parameters.append(SearchParameter("adapter.r", "categorical", adapter["r"].value,
                                          "adapter ranks around the planned one",
                                          choices=(8, 16, 32)))
        parameters.append(SearchParameter("adapter.lora_dropout", "float",
                                          adapter["lora_dropout"].value,
                                          "no dropout to strong dropout", low=0.0, high=0.2))
    return SearchSpace(metric=f"eval_{metric}", direction="maximize" if greater else "minimize",
                       n_trials=12, sampler="tpe", pruner="median", parameters=tuple(parameters))
