"""Plan causal language modelling on the project's text: what differs from the shared
skeleton. Pure: no I/O."""

from __future__ import annotations

from trainwright.planning.corpus import corpus_data_section
from trainwright.planning.defaults import (
    GENERATION,
    GENERATION_CONTINUED_LEARNING_RATES,
    GENERATION_EFFECTIVE_BATCH,
    GENERATION_EPOCHS,
    GENERATION_SCRATCH_LEARNING_RATES,
    SCRATCH_ARCHITECTURES,
    default,
    pick_by_table,
)
from trainwright.planning.existing import keep_existing_values
from trainwright.planning.hardware_rules import attention_choice, liger_choice
from trainwright.planning.memory import ModelShape, TrainingSetup
from trainwright.planning.plan import Choice, Plan, SearchParameter
from trainwright.planning.requirements import kernel_requirements
from trainwright.planning.skeleton import (
    Objective,
    PlanInputs,
    Workload,
    assemble_plan,
    early_stopping_section,
    format_count,
    plan_batch,
    script_for,
    search_space,
    training_section,
)
from trainwright.planning.speed import evaluation_section, step_cost, validation_blocks

TABLE = GENERATION
LOSS = Objective(Choice("loss", "validation loss (perplexity is its exp)",
                        "validation loss (perplexity is its exp)"), greater_is_better=False)


def scratch_architecture(tokens: int, vocab_size: int | None) -> dict:
    architecture = dict(pick_by_table(SCRATCH_ARCHITECTURES, tokens))
    architecture["num_key_value_heads"] = architecture["num_attention_heads"]
    architecture["model_type"] = "llama"
    if vocab_size:
        architecture["vocab_size"] = vocab_size
    return architecture


def _parameters_of(architecture: dict, vocab: int) -> int:
    hidden, layers = architecture["hidden_size"], architecture["num_hidden_layers"]
    mlp = 3 * hidden * architecture["intermediate_size"]
    return vocab * hidden + layers * (4 * hidden * hidden + mlp + 2 * hidden)


def prompts(sample_texts: tuple[str, ...]) -> list[str]:
    """The first words of a few training documents."""
    found = []
    for text in sample_texts:
        words = text.split()
        if len(words) >= 8:
            found.append(" ".join(words[:5]))
        if len(found) == 3:
            break
    return found or ["Once upon a time"]


def _model_section(inputs: PlanInputs, tokens: int) -> tuple[dict[str, Choice], ModelShape]:
    model, scratch = inputs.model, inputs.options.from_scratch
    name = inputs.model_choice
    section = {
        "name_or_path": Choice(model.name_or_path, "its tokenizer is used; "
                               + ("the weights are not (--from-scratch)" if scratch else
                                  f"continued training of {format_count(model.num_parameters)} "
                                  "parameters" if model.num_parameters else "continued training"),
                               "its tokenizer is used; " + ("not its weights" if scratch else
                                                            "training continues from its weights"),
                               source=name.source),
        "from_scratch": Choice(scratch, "given with --from-scratch" if scratch else
                               "the pretrained weights are the starting point",
                               "given with --from-scratch" if scratch else
                               "the pretrained weights are the starting point"),
        **attention_choice(inputs.facts),
    }
    shape = ModelShape(model.num_parameters or 135_000_000, model.hidden_size or 576,
                       model.num_layers or 30, model.num_heads or 9,
                       vocab_size=model.vocab_size or 49152, causal_lm=True)
    if scratch:
        architecture = scratch_architecture(tokens, model.vocab_size)
        parameters = _parameters_of(architecture, model.vocab_size or 32000)
        section["architecture"] = Choice(
            architecture, f"about {tokens:,} corpus tokens: a small Llama-style model of "
                          f"{format_count(parameters)} parameters (compute-optimal training "
                          "wants about 20 tokens a parameter; tiny corpora get tiny models)",
            "a small Llama-style model sized by the corpus")
        shape = ModelShape(parameters, architecture["hidden_size"],
                           architecture["num_hidden_layers"], architecture["num_attention_heads"],
                           vocab_size=model.vocab_size or 32000, causal_lm=True)
    return section, shape


def learning_rate(parameters: int, scratch: bool) -> Choice:
    rates = GENERATION_SCRATCH_LEARNING_RATES if scratch else GENERATION_CONTINUED_LEARNING_RATES
    rate, size_class = pick_by_table(rates, parameters)
    how = "from scratch" if scratch else "continued"
    return Choice(rate, f"{format_count(parameters)} parameters {how}: {size_class} train well "
                        f"at {rate:g}", f"peak rate after warmup, by model size ({how})")


def plan_generation(inputs: PlanInputs) -> Plan:
    scratch = inputs.options.from_scratch
    data, tokens, measured = corpus_data_section(inputs.facts, inputs.data, inputs.model,
                                                 inputs.token_lengths)
    data = keep_existing_values(inputs.facts, inputs.task, inputs.options, "data", data)
    model_section, shape = _model_section(inputs, tokens)
    block = data["block_size"].value
    blocks = max(1, inputs.training_share(tokens, data) // block)
    target = max(1, min(pick_by_table(GENERATION_EFFECTIVE_BATCH, blocks), blocks // 10 or 1))
    kernels = liger_choice(inputs.facts, "llama" if scratch else inputs.model.model_type,
                           block, shape.vocab_size)
    fused_loss = bool(kernels.get("use_liger_kernel") and kernels["use_liger_kernel"].value)
    batch = plan_batch(inputs, Workload(
        effective_batch=target,
        effective_batch_reason=f"an effective batch of {target} blocks of {block} tokens",
        sequence=block, length_key="data.block_size", shape=shape,
        setup=TrainingSetup(1, 0, True, fused_cross_entropy=fused_loss),
        ideas=("parameter-efficient fine-tuning (trainwright init fine-tuning)",)))
    epochs = pick_by_table(GENERATION_EPOCHS, tokens)
    training = training_section(
        inputs, batch, blocks, learning_rate=learning_rate(shape.parameters, scratch),
        epochs=Choice(epochs, f"about {tokens:,} tokens: small corpora are read several times; "
                              "early stopping ends the run when validation loss stops falling",
                      "passes over the corpus; early stopping may end sooner"),
        objective=LOSS, fixed_shapes=True,
        weight_decay=Choice(0.1, "0.1 regularises training from scratch (GPT-3, Llama)",
                            "regularises training from scratch (GPT-3, Llama)") if scratch else
        Choice(0.01, "light regularisation keeps continued training close to the pretrained "
                     "weights", "light: stays close to the pretrained weights"),
        kernels=kernels)
    generation = {key: default(TABLE, key) for key in (
        "max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty",
        "num_return_sequences")}
    generation["do_sample"] = Choice(True, "sampling, not greedy decoding, shows what the model "
                                           "learned", "sampling shows what the model learned")
    generation["prompts"] = Choice(prompts(inputs.data.train.sample_texts),
                                   "the first words of a few training documents; replace them "
                                   "with your own", "replace them with your own")
    sections = {
        "model": model_section,
        "data": data,
        "generation": generation,
        "early_stopping": early_stopping_section(inputs),
        "evaluation": keep_existing_values(
            inputs.facts, inputs.task, inputs.options, "evaluation", evaluation_section(
                TABLE, validation_blocks(inputs, tokens, data), batch.effective,
                step_cost("full", training), "blocks")),
        "training": training,
    }
    space = search_space(inputs, training, LOSS, (
        SearchParameter("training.warmup_steps" if "warmup_steps" in training else
                        "training.warmup_ratio", "float", TABLE["warmup"][0],
                        "no warmup to a tenth of the run", low=0.0, high=0.1),
    ))
    summary = {**measured, "document_words": inputs.data.train.text_length_words,
               "blocks": blocks, "model_parameters": shape.parameters}
    return assemble_plan(inputs, sections, space,
                         script_for(inputs, "generation/train.py.j2", "AutoModelForCausalLM"),
                         summary, requirements=kernel_requirements(inputs.facts, sections),
                         batch=batch)
