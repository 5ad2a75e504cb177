"""How fine-tuning batches hold their examples: padding-free rows for SFT where the targeted
transformers and the attention kernel keep the examples apart, full blocks for causal LM."""

from __future__ import annotations

from trainwright.planning.existing import keep_existing_values
from trainwright.planning.fine_tuning.data import sft_length_rule
from trainwright.planning.fine_tuning.objective import CAUSAL_LM, SFT
from trainwright.planning.foreign import Imports
from trainwright.planning.plan import Choice
from trainwright.planning.skeleton import BatchPlan, PlanInputs
from trainwright.planning.speed import (
    PaddingFacts,
    example_lengths,
    packed_blocks_choice,
    padding_free_choice,
)


def planned_attention(model: dict[str, Choice], imports: Imports) -> str | None:
    """The kernel the padding-free rule must hold for: the planned one, or the strictest
    (sdpa) where a config of another tool names a different one."""
    planned = model["attn_implementation"].value
    imported = imports.get("model", "attn_implementation")
    return planned if imported is None or imported.value == planned else None


def padding_free(inputs: PlanInputs, objective: str, data: dict[str, Choice], batch: BatchPlan,
                 model: dict[str, Choice], imports: Imports) -> dict[str, Choice]:
    """data.padding_free for SFT and causal-LM objectives (kept from an existing config)."""
    if objective == CAUSAL_LM:
        choice = packed_blocks_choice(data["block_size"].value)
    elif objective == SFT:
        max_length = data["max_length"].value
        lengths, counted = example_lengths(
            inputs.token_lengths, inputs.data.sample_texts,
            sft_length_rule(data["format"].value).added_tokens, max_length)
        choice = padding_free_choice(PaddingFacts(
            lengths=lengths, counted=counted,
            batch=batch.choices["per_device_train_batch_size"].value, max_length=max_length,
            hidden_size=inputs.model.hidden_size or 768, model_type=inputs.model.model_type,
            attention=planned_attention(model, imports),
            transformers_target=inputs.facts.dependencies.transformers_target))
    else:
        return {}
    return keep_existing_values(inputs.facts, inputs.task, inputs.options, "data",
                                {"padding_free": choice})
