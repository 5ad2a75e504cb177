"""Plan causal language modelling on the project's text: facts + options -> Plan. Pure."""

from __future__ import annotations

import math
from pathlib import PurePosixPath

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
    liger_choice,
    optimizer_choice,
)
from trainwright.planning.memory import ModelShape, TrainingSetup, fit_batch
from trainwright.planning.plan import Choice, Options, Plan, SearchParameter, SearchSpace
from trainwright.planning.precision import choose_precision
from trainwright.planning.requirements import training_requirements

TABLE = defaults.GENERATION
CHARS_PER_TOKEN_GUESS = 4.0  # English BPE tokenizers average about 4 characters a token


def _default(key: str) -> Choice:
    value, reason = TABLE[key]
    return Choice(value, reason)


def corpus_files(facts: ProjectFacts, train: DataFile) -> tuple[str, list[DataFile]]:
    """The training file, or a glob over a folder of text files that belong together."""
    if train.format not in {"txt", "md"}:
        return train.path, [train]
    folder = str(PurePosixPath(train.path).parent)
    siblings = [d for d in facts.data if d.format == train.format and d.split in (None, "train")
                and str(PurePosixPath(d.path).parent) == folder]
    if len(siblings) < 2:
        return train.path, [train]
    return f"{folder}/*.{train.format}", siblings


def count_tokens(files: list[DataFile], token_lengths: list[int] | None,
                 samples: tuple[str, ...]) -> tuple[int, float, str]:
    """Estimated corpus tokens, characters per token, and how that was measured."""
    if token_lengths and samples:
        chars_per_token = sum(len(t) for t in samples) / max(1, sum(token_lengths))
        source = f"{chars_per_token:.2f} characters a token, measured with the model's tokenizer"
    else:
        chars_per_token = CHARS_PER_TOKEN_GUESS
        source = "about 4 characters a token (the model's tokenizer is not available locally)"
    characters = 0
    for data in files:
        if data.format in {"txt", "md"}:
            characters += data.size_bytes
        else:
            characters += (data.rows or 0) * data.text_length_chars.get("p50", 0)
    return max(1, int(characters / chars_per_token)), chars_per_token, source


def block_size(model: ModelFacts, tokens: int) -> Choice:
    context = model.max_positions or 2048
    limit = min(context, TABLE["max_block_size"][0])
    value = 2 ** int(math.log2(limit))
    reason = f"the model reads {context:,} positions; {value} keeps attention memory moderate"
    min_blocks = TABLE["min_blocks"][0]
    while value > 64 and tokens / value < min_blocks:
        value //= 2
        reason = (f"the corpus has about {tokens:,} tokens: blocks of {value} give at least "
                  f"{min_blocks} training blocks (the model reads {context:,} positions)")
    return Choice(value, reason + "; documents are packed into full blocks with the EOS token "
                                  "between them, so no batch holds padding")


def scratch_architecture(tokens: int, vocab_size: int | None) -> dict:
    architecture = dict(pick_by_table(defaults.SCRATCH_ARCHITECTURES, tokens))
    architecture["num_key_value_heads"] = architecture["num_attention_heads"]
    architecture["model_type"] = "llama"
    if vocab_size:
        architecture["vocab_size"] = vocab_size
    return architecture


def _parameters_of(architecture: dict, vocab: int) -> int:
    hidden, layers = architecture["hidden_size"], architecture["num_hidden_layers"]
    mlp = 3 * hidden * architecture["intermediate_size"]
    return vocab * hidden + layers * (4 * hidden * hidden + mlp + 2 * hidden)


def _prompts(train: DataFile) -> list[str]:
    prompts = []
    for text in train.sample_texts:
        words = text.split()
        if len(words) >= 8:
            prompts.append(" ".join(words[:5]))
        if len(prompts) == 3:
            break
    return prompts or ["Once upon a time"]


def plan_generation(facts: ProjectFacts, model: ModelFacts, options: Options,
                    token_lengths: list[int] | None = None) -> Plan:
    train, validation, _ = select_splits(facts, needs_labels=False)
    if not train.text_column:
        raise UserError(f"{train.path} has no text column among {', '.join(train.columns)}.",
                        "pass --text-column NAME, or put plain .txt / .md files under data/.")
    train_path, files = corpus_files(facts, train)
    tokens, chars_per_token, token_source = count_tokens(files, token_lengths, train.sample_texts)
    fraction = _default("validation_fraction")
    train_tokens = tokens if validation else int(tokens * (1 - fraction.value))
    block = block_size(model, tokens)
    blocks = max(1, train_tokens // block.value)

    scratch = options.from_scratch
    model_section = {
        "name_or_path": Choice(model.name_or_path, "its tokenizer is used; "
                               + ("the weights are not (--from-scratch)" if scratch else
                                  f"continued training of {format_count(model.num_parameters)} "
                                  "parameters" if model.num_parameters else "continued training")),
        "from_scratch": Choice(scratch, "given with --from-scratch" if scratch else
                               "the pretrained weights are the starting point"),
        **attention_choice(),
    }
    parameters = model.num_parameters or 135_000_000
    shape = ModelShape(parameters, model.hidden_size or 576, model.num_layers or 30,
                       model.num_heads or 9, vocab_size=model.vocab_size or 49152, causal_lm=True)
    if scratch:
        architecture = scratch_architecture(tokens, model.vocab_size)
        parameters = _parameters_of(architecture, model.vocab_size or 32000)
        model_section["architecture"] = Choice(
            architecture, f"about {tokens:,} corpus tokens: a small Llama-style model of "
                          f"{format_count(parameters)} parameters (compute-optimal training "
                          "wants about 20 tokens a parameter; tiny corpora get tiny models)")
        shape = ModelShape(parameters, architecture["hidden_size"],
                           architecture["num_hidden_layers"], architecture["num_attention_heads"],
                           vocab_size=model.vocab_size or 32000, causal_lm=True)
    rates = (defaults.GENERATION_SCRATCH_LEARNING_RATES if scratch
             else defaults.GENERATION_CONTINUED_LEARNING_RATES)
    rate, size_class = pick_by_table(rates, parameters)
    learning_rate = Choice(rate, f"{format_count(parameters)} parameters "
                                 f"{'from scratch' if scratch else 'continued'}: {size_class} "
                                 f"train well at {rate:g}")

    data = {
        "train_file": Choice(train_path, f"about {tokens:,} tokens ({token_source})"),
        "validation_file": Choice(validation.path if validation else None,
                                  "the project's validation split" if validation else
                                  "none in the project: carved from the training documents"),
        "text_column": Choice(train.text_column, "the text to model"),
        "validation_fraction": fraction,
        "block_size": block,
    }
    keep_existing_values(facts, "generation", "data", data, given_on_command_line(options))

    target = 8 if blocks < 2000 else 32
    batch, effective = _batch(facts, shape, target, data["block_size"].value, blocks)
    epochs_value = pick_by_table(defaults.GENERATION_EPOCHS, tokens)
    epochs = Choice(epochs_value, f"about {tokens:,} tokens: small corpora are read several "
                                  "times; early stopping ends the run when validation loss "
                                  "stops falling")
    steps = cadence(blocks, effective, epochs_value)
    total_steps = steps.pop("_steps_per_epoch").value * epochs_value
    fields = set(facts.dependencies.training_argument_fields)
    output_dir = options.output_dir or "outputs/generation"
    training = {
        "output_dir": Choice(output_dir, "checkpoints, the final model, samples and metrics"),
        "learning_rate": learning_rate,
        "num_train_epochs": epochs,
        **batch,
        **warmup_choice(fields, TABLE["warmup"][0], TABLE["warmup"][1]),
        "lr_scheduler_type": _default("lr_scheduler_type"),
        "weight_decay": Choice(0.1 if scratch else 0.01, "0.1 regularises training from "
                               "scratch (GPT-3, Llama)" if scratch else
                               "light regularisation keeps continued training close to the "
                               "pretrained weights"),
        "max_grad_norm": _default("max_grad_norm"),
        **steps,
        "save_total_limit": _default("save_total_limit"),
        "load_best_model_at_end": Choice(True, "the final model is the one with the lowest "
                                               "validation loss"),
        "metric_for_best_model": Choice("loss", "validation loss (perplexity is its exp)"),
        "greater_is_better": Choice(False, "a lower loss is better"),
        **choose_precision(facts.hardware),
        **optimizer_choice(facts),
        **dataloader_choices(facts.hardware),
        **compile_choice(facts.hardware, fixed_shapes=True, total_steps=total_steps),
        **liger_choice(facts, "llama" if scratch else model.model_type),
        "report_to": report_to_choice(facts, options),
        "seed": _default("seed"),
    }
    training = {version_key(key, fields): choice for key, choice in training.items()}
    keep_existing_values(facts, "generation", "training", training, given_on_command_line(options))
    generation = {
        key: _default(key) for key in ("max_new_tokens", "temperature", "top_p", "top_k",
                                       "repetition_penalty", "num_return_sequences")
    }
    generation["do_sample"] = Choice(True, "sampling, not greedy decoding, shows what the model "
                                           "learned")
    generation["prompts"] = Choice(_prompts(train), "the first words of a few training "
                                                    "documents; replace them with your own")
    sections = {
        "model": model_section,
        "data": data,
        "generation": generation,
        "early_stopping": {"patience": _default("early_stopping_patience"),
                           "threshold": Choice(0.0, "any improvement counts")},
        "training": training,
    }
    config_path, script_path, layout_reason = file_layout(facts)
    return Plan(
        task="generation",
        sections=sections,
        search_space=_search_space(training),
        config_path=config_path,
        script_path=script_path,
        requirements=training_requirements(facts, training["report_to"].value),
        transformers_target=facts.dependencies.transformers_target,
        transformers_installed=facts.dependencies.transformers_installed,
        facts_summary={
            "tokens": tokens, "chars_per_token": round(chars_per_token, 2),
            "token_source": token_source, "documents": sum((f.rows or 0) for f in files),
            "document_words": train.text_length_words, "files": [f.path for f in files],
            "blocks": blocks, "model_parameters": parameters,
            "hardware": hardware_text(facts), "framework": facts.framework.chosen or "none",
            "framework_explanation": facts.framework.explanation, "layout": layout_reason,
        },
        warnings=plan_warnings(facts, train),
    )


def _batch(facts: ProjectFacts, shape: ModelShape, target: int, block: int, blocks: int
           ) -> tuple[dict[str, Choice], int]:
    target = max(1, min(target, blocks // 10 or 1))
    hardware = facts.hardware
    reason = f"an effective batch of {target} blocks of {block} tokens"
    if not hardware.gpus:
        per_device = min(target, 8)
        accumulation = max(1, target // per_device)
        return {
            "per_device_train_batch_size": Choice(per_device, reason + "; on CPU memory is not "
                                                  "the limit"),
            "gradient_accumulation_steps": Choice(accumulation, reason),
            "per_device_eval_batch_size": Choice(per_device, "the same as training"),
        }, per_device * accumulation
    gpu = hardware.gpus[0]
    fit = fit_batch(shape, TrainingSetup(1, block, gpu.compute_capability is not None), target,
                    gpu.memory_mib, len(hardware.gpus))
    if not fit.fits:
        raise UserError(f"Even one block of {block} tokens needs about "
                        f"{fit.estimate.total_mib:,.0f} MiB, more than 90 % of the "
                        f"{gpu.memory_mib:,} MiB of {gpu.name}; no config was written.",
                        "use a smaller model (--model), a bigger GPU (--target-gpu), or "
                        "parameter-efficient fine-tuning (trainwright init fine-tuning).")
    reason += (f": {fit.per_device} per device x {fit.accumulation} accumulation x "
               f"{len(hardware.gpus)} GPU(s); estimated peak {fit.estimate.total_mib:,.0f} MiB "
               f"of {gpu.memory_mib:,} MiB (the fp32 logits of a {shape.vocab_size:,}-token "
               "vocabulary included)")
    choices = {
        "per_device_train_batch_size": Choice(fit.per_device, reason),
        "gradient_accumulation_steps": Choice(fit.accumulation, reason),
        "per_device_eval_batch_size": Choice(fit.per_device, "the same as training"),
    }
    if fit.gradient_checkpointing:
        choices["gradient_checkpointing"] = Choice(True, "needed for even one block to fit")
    return choices, fit.per_device * fit.accumulation * len(hardware.gpus)


def hardware_text(facts: ProjectFacts) -> str:
    hardware = facts.hardware
    if hardware.gpus:
        return ", ".join(f"{g.name} ({g.memory_mib:,} MiB)" for g in hardware.gpus)
    return f"{hardware.accelerator.upper()}, {hardware.cpu_cores} cores"


def _search_space(training: dict[str, Choice]) -> SearchSpace:
    lr = training["learning_rate"].value
    return SearchSpace(
        metric="eval_loss", direction="minimize", n_trials=12, sampler="tpe", pruner="median",
        parameters=(
            SearchParameter("training.learning_rate", "float", lr,
                            "log-uniform over a factor of 3 either side of the planned value",
                            low=float(f"{lr / 3:.2g}"), high=float(f"{lr * 3:.2g}"), log=True),
            SearchParameter("training.weight_decay", "float", training["weight_decay"].value,
                            "none to strong regularisation", low=0.0, high=0.1),
            SearchParameter("training.warmup_steps" if "warmup_steps" in training else
                            "training.warmup_ratio", "float", TABLE["warmup"][0],
                            "no warmup to a tenth of the run", low=0.0, high=0.1),
        ))
