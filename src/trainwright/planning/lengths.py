"""max_length from the real length distribution of the texts, not the model's maximum."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataFile
from trainwright.planning.plan import Choice

TOKENS_PER_WORD = 1.4  # English subword tokenizers average about 1.4 tokens a word


@dataclass(frozen=True)
class LengthRule:
    cap: int  # the longest max_length planned (and the model's positions)
    multiple: int  # rounded up to a multiple of this
    minimum: int
    words_without_sample: int  # assumed 99th percentile in words when nothing was measured
    added_tokens: int = 0  # added to every example (a chat template's markers)
    added_for: str = ""
    estimate_extra: int = 0  # added to a word-based estimate (an encoder's [CLS] / [SEP])
    cut_note: str = ""


def p99(values: list[int]) -> int:
    """The 99th percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def max_length(train: DataFile, model: ModelFacts, token_lengths: list[int] | None,
               rule: LengthRule, what: str) -> Choice:
    cap = min(model.max_positions or rule.cap, rule.cap)
    if token_lengths:
        longest = p99(token_lengths)
        source = (f"the 99th percentile of {len(token_lengths)} sampled {what} is {longest} "
                  "tokens (measured with the model's tokenizer)")
    else:
        words = train.text_length_words.get("p99", rule.words_without_sample)
        longest = math.ceil(words * TOKENS_PER_WORD) + rule.estimate_extra
        source = (f"the 99th percentile is {words} words, about {longest} tokens "
                  f"({TOKENS_PER_WORD} tokens a word; the model's tokenizer was not available "
                  "locally)")
    if rule.added_tokens:
        source += f", plus {rule.added_tokens} for {rule.added_for}"
    needed = longest + rule.added_tokens
    value = min(cap, max(rule.minimum, math.ceil(needed / rule.multiple) * rule.multiple))
    cuts = _cuts(token_lengths, value - rule.added_tokens, what) if token_lengths else ""
    if value == cap and needed > cap:
        limit = (f"the model's {cap:,} positions" if cap == model.max_positions
                 else f"{cap:,} tokens, the longest planned")
        text = f"{source}: more than {limit}, so capped at {cap}" + (
            f", which {cuts}" if cuts else "")
    else:
        text = f"{source}; rounded up to a multiple of {rule.multiple}" + (
            f", which {cuts}" if cuts else "")
    return Choice(value, f"{text}. {rule.cut_note}Batches are padded only to their longest "
                         f"{what[:-1]}",
                  "99th percentile of the measured lengths; longer ones are cut")


def estimated_lengths(texts: tuple[str, ...] | list[str], rule: LengthRule | None = None
                      ) -> list[int]:
    """Token counts estimated from words, as max_length estimates them without a tokenizer."""
    extra = rule.estimate_extra if rule else 0
    return [math.ceil(len(text.split()) * TOKENS_PER_WORD) + extra for text in texts]


def cut_count(token_lengths: list[int], room: int) -> int:
    """How many of the lengths do not fit in ``room`` tokens."""
    return sum(length > room for length in token_lengths)


def _cuts(token_lengths: list[int], room: int, what: str) -> str:
    """How many of the measured texts do not fit in ``room`` tokens."""
    cut = cut_count(token_lengths, room)
    if not cut:
        return f"cuts none of the {len(token_lengths):,} sampled {what}"
    return (f"cuts {cut:,} of {len(token_lengths):,} sampled {what} "
            f"({100 * cut / len(token_lengths):.1f} %)")
