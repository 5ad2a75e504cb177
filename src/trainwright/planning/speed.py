"""Choices that make a run faster without changing what it learns: padding-free batches, a
bounded evaluation before training and the token count behind tokens/s. Pure: no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainwright.planning.corpus import count_tokens
from trainwright.planning.defaults import default
from trainwright.planning.lengths import estimated_lengths
from trainwright.planning.plan import Choice
from trainwright.planning.versions import version_tuple

if TYPE_CHECKING:
    from trainwright.planning.skeleton import PlanInputs

# transformers builds the block-diagonal mask of packed rows from position_ids for sdpa, eager
# and flex attention from 4.54 (masking_utils.find_packed_sequence_indices); its flash-attention
# path reads position_ids from 4.44, the release that added DataCollatorWithFlattening.
PACKED_MASKS = (4, 54)
FLASH_POSITION_IDS = (4, 44)
FLASH_KERNELS = {"flash_attention_2", "flash_attention_3"}
# Architectures whose forward takes no position_ids (ALiBi, state-space, recurrent): examples
# flattened into one row would attend to each other.
NO_POSITION_IDS = {"bloom", "mpt", "mamba", "mamba2", "falcon_mamba", "rwkv", "xlstm",
                   "cpmant"}
# sdpa and eager keep flattened examples apart with a (row x row) boolean mask, built once a
# forward pass: rows longer than this would hold more than 256 MiB of it.
MAX_MASKED_ROW = 16_384
# include_num_input_tokens_seen takes "all" / "non_padding" / "no" from 4.57 (the release
# table's annotation turns from bool to str | bool there); before, True counts every token.
NON_PADDING_COUNT = (4, 57)


# ---------------------------------------------------------------------------------------------
# Padding-free batches
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaddingStats:
    """What padding costs for random batches of ``batch`` of the sampled lengths."""

    batch: int
    examples: int  # sampled lengths
    mean: float  # tokens of an example
    mean_square: float  # E[length^2], for attention within each example
    longest: float  # expected longest example of a batch: every example is padded to it

    @property
    def share(self) -> float:
        """Share of padding among the tokens of batches padded to their longest."""
        return 1 - self.mean / self.longest if self.longest else 0.0


def padding_stats(lengths: Sequence[int], batch: int) -> PaddingStats:
    """Exact expected values over all batches of ``batch`` distinct sampled examples.

    The i-th shortest of n lengths (0-based) is a batch's longest in C(i, b-1) of the C(n, b)
    batches, so E[longest] = sum C(i, b-1) x length_i / C(n, b); over many batches the padding
    share is then 1 - mean / E[longest]."""
    ordered = sorted(lengths)
    count, size = len(ordered), max(1, min(batch, len(ordered)))
    longest = sum(math.comb(index, size - 1) * length
                  for index, length in enumerate(ordered)) / math.comb(count, size)
    return PaddingStats(batch=size, examples=count, mean=sum(ordered) / count,
                        mean_square=sum(length * length for length in ordered) / count,
                        longest=longest)


def compute_per_token(stats: PaddingStats, hidden_size: int, flash: bool) -> tuple[float, float]:
    """Relative compute per trained token, padded and padding-free.

    Per layer and token the linear layers cost about 24 h^2 FLOPs and the attention scores
    4 T h for a row of T tokens: 1 + T / (6 h) in units of the linear layers. Padded batches
    pay for every padding token at the length of the longest example; flash attention keeps
    each flattened example to itself (T = its own length), a mask over the row (sdpa, eager)
    makes every token score the whole row of batch x mean tokens."""
    padded = stats.longest / stats.mean * (1 + stats.longest / (6 * hidden_size))
    row = stats.mean_square / stats.mean if flash else stats.batch * stats.mean
    return padded, 1 + row / (6 * hidden_size)


def kernel_name(attention: str | None) -> str:
    return attention or "sdpa"


def example_lengths(token_lengths: list[int] | None, texts: tuple[str, ...], added: int,
                    max_length: int) -> tuple[list[int], str]:
    """Tokens of each sampled example as train.py feeds it (template added, cut at
    max_length), and how they were counted."""
    if token_lengths:
        measured, how = token_lengths, "measured with the model's tokenizer"
    else:
        measured, how = estimated_lengths(texts), "estimated from words"
    return [min(max_length, length + added) for length in measured], how


@dataclass(frozen=True)
class PaddingFacts:
    """What the padding-free rule reads, gathered by the fine-tuning planner."""

    lengths: list[int]  # sampled examples in tokens, as trained
    counted: str  # how the lengths were counted
    batch: int  # per-device training batch
    max_length: int
    hidden_size: int
    model_type: str | None
    attention: str | None  # the planned model.attn_implementation (None: sdpa)
    transformers_target: str


def _support(facts: PaddingFacts) -> str:
    """Why padding-free batches are not safe here; empty when they are."""
    kernel = kernel_name(facts.attention)
    target = version_tuple(facts.transformers_target)
    if facts.model_type in NO_POSITION_IDS:
        return (f"{facts.model_type} takes no position ids (ALiBi or a recurrent model), so "
                "examples sharing a row would attend to each other")
    needed = FLASH_POSITION_IDS if kernel in FLASH_KERNELS else PACKED_MASKS
    if target and target < needed:
        return (f"transformers {facts.transformers_target} builds no packed-sequence mask for "
                f"{kernel} (sdpa and eager from {'.'.join(map(str, PACKED_MASKS))}, "
                f"flash_attention_2 from {'.'.join(map(str, FLASH_POSITION_IDS))})")
    return ""


PADDED = "padded to the longest in the batch, grouped by length"
PADDING_FREE = "one row of examples a batch: no padding, position ids restart per example"


def padding_free_choice(facts: PaddingFacts) -> Choice:
    """data.padding_free for SFT: where the targeted transformers and the attention kernel
    keep flattened examples apart, and the padding it saves outweighs the longer rows."""
    kernel = kernel_name(facts.attention)
    stats = padding_stats(facts.lengths, facts.batch) if facts.lengths else None
    measured = ""
    if stats is not None:
        measured = (f"{100 * stats.share:.0f} % of the tokens of padded batches of "
                    f"{stats.batch} would be padding ({stats.examples:,} sampled examples "
                    f"{facts.counted}: {stats.mean:.0f} tokens on average, the longest of a "
                    f"batch {stats.longest:.0f})")
    unsafe = _support(facts)
    if unsafe:
        return Choice(False, f"{unsafe}: batches are padded to their longest example and "
                             "grouped by length instead" + (f"; {measured}" if measured else ""),
                      PADDED)
    flash = kernel in FLASH_KERNELS
    how = (f"{kernel} reads the position ids" if flash else
           f"{kernel} gets a block-diagonal mask built from the position ids")
    gain = ("; padding-free batches skip them: each batch is one row of its examples, "
            f"position ids restart per example and {how}, so no example attends to another")
    bound = (f". The memory plan still holds: a batch never has more than {facts.batch} x "
             f"{facts.max_length} tokens")
    if stats is None:
        return Choice(True, f"no example lengths were sampled; padding-free batches hold no "
                            f"padding whatever the lengths: each batch is one row of its "
                            f"examples, position ids restart per example and {how}" + bound,
                      PADDING_FREE)
    longest_row = facts.batch * facts.max_length
    if not flash and longest_row > MAX_MASKED_ROW:
        return Choice(False, f"{measured}; but {kernel} would keep the examples apart with a "
                             f"mask over rows of up to {facts.batch} x {facts.max_length} = "
                             f"{longest_row:,} tokens ({longest_row ** 2 / 2**20:,.0f} MiB); "
                             "flash_attention_2 (the flash-attn package) needs none: batches "
                             "are padded to their longest example and grouped by length "
                             "instead", PADDED)
    padded, free = compute_per_token(stats, facts.hidden_size, flash)
    cost = (f"about {free:.2f} units of compute a trained token against {padded:.2f} padded"
            + ("" if flash else f" ({kernel} scores the whole row of about "
                                f"{stats.batch * stats.mean:.0f} tokens)"))
    if free < padded:
        return Choice(True, measured + gain + f"; {cost}" + bound, PADDING_FREE)
    return Choice(False, f"{measured}; padding-free batches would cost {cost}: batches are "
                         "padded to their longest example and grouped by length instead",
                  PADDED)


def packed_blocks_choice(block_size: int) -> Choice:
    """data.padding_free for causal-LM fine-tuning: the blocks are full already."""
    return Choice(False, f"documents are joined with the EOS token and cut into full blocks of "
                         f"{block_size} tokens: no batch holds padding, so there is none to skip",
                  "full blocks of block_size tokens hold no padding")


# ---------------------------------------------------------------------------------------------
# The evaluation before training
# ---------------------------------------------------------------------------------------------

def evaluation_section(table: dict, validation: int | None, effective_batch: int,
                       step_cost: float, unit: str) -> dict[str, Choice]:
    """evaluation.before_training_samples: a bounded sample of the validation split (of
    ``validation`` examples; None when its size is unknown).

    ``step_cost`` is a training step in forward passes of its examples (3: forward and a
    backward of twice its cost; 2 when only adapters or the top layers train; one more with
    gradient checkpointing)."""
    cap = default(table, "before_training_samples")
    if not validation:
        return {"before_training_samples": Choice(
            cap.value, f"{cap.reason} (the size of the validation split is not known); 0 "
                       "switches it off", cap.comment)}
    value = min(validation, cap.value)
    steps = value / (step_cost * effective_batch)
    per_step = (f"(evaluating is a forward pass, about 1/{step_cost:g} of a training step of "
                f"{effective_batch} {unit})")
    if value < validation:
        full = validation / (step_cost * effective_batch)
        reason = (f"{cap.reason}: {value:,} of the {validation:,} validation {unit}; a full pass "
                  f"would cost about as much as {_count(full)} training steps {per_step}, the "
                  f"sample about {_count(steps)}; 0 switches it off")
    else:
        reason = (f"{cap.reason}: all {validation:,} validation {unit}, which cost about as "
                  f"much as {_count(steps)} training steps {per_step}; 0 switches it off")
    return {"before_training_samples": Choice(value, reason, cap.comment)}


def validation_blocks(inputs: PlanInputs, tokens: int, data: dict[str, Choice]) -> int:
    """Blocks of block_size tokens in the validation split, or in the share held out of the
    training corpus without one."""
    block = data["block_size"].value
    if inputs.data.validation is not None:
        held_out = count_tokens([inputs.data.validation], inputs.token_lengths,
                                inputs.data.train.sample_texts)[0]
    else:
        held_out = tokens - inputs.training_share(tokens, data)
    return max(1, held_out // block)


def validation_examples(inputs: PlanInputs, examples: int, data: dict[str, Choice]
                        ) -> int | None:
    """Rows of the validation split, or the share held out of the training examples."""
    if inputs.data.validation is not None:
        return inputs.data.validation.rows
    return examples - inputs.training_share(examples, data)


def _count(steps: float) -> str:
    return f"{steps:,.0f}" if steps >= 10 else f"{steps:.1f}"


def step_cost(method: str, training: dict[str, Choice]) -> int:
    """A training step in forward passes (see evaluation_section)."""
    checkpointing = training.get("gradient_checkpointing")
    return (3 if method == "full" else 2) + (1 if checkpointing and checkpointing.value else 0)


# ---------------------------------------------------------------------------------------------
# Tokens/s
# ---------------------------------------------------------------------------------------------

def tokens_seen_choice(target: str, fields: set[str], unpadded: bool) -> dict[str, Choice]:
    """include_num_input_tokens_seen, so train.py reports tokens/s next to samples/s.

    ``unpadded``: full blocks or padding-free rows, where every token is trained. There the
    count is "all": without an attention mask, "non_padding" compares the ids with the pad
    token, which is often the EOS token that ends every example."""
    key = "include_num_input_tokens_seen"
    if key not in fields:
        return {}
    if unpadded:
        counted = "all" if version_tuple(target) >= NON_PADDING_COUNT else True
        return {key: Choice(counted, "the batches hold no padding, so every token is trained "
                                     "and counted (non_padding would compare the ids with the "
                                     "pad token, often the EOS that ends each example): the "
                                     "results table and final_metrics.json report tokens/s next "
                                     "to samples/s", "counts trained tokens for tokens/s")}
    if version_tuple(target) >= NON_PADDING_COUNT:
        return {key: Choice("non_padding", "the Trainer counts the tokens each step trains on, "
                                           "padding left out: the results table and "
                                           "final_metrics.json report tokens/s of real tokens "
                                           "next to samples/s",
                            "counts trained tokens for tokens/s, padding left out")}
    return {key: Choice(True, f"transformers {target} counts every token of a batch, padding "
                              "included (a count without padding needs 4.57): tokens/s in the "
                              "results includes the padding",
                        "counts tokens for tokens/s (padding included before 4.57)")}
