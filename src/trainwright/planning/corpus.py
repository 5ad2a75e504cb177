"""Text to model: the corpus files, its size in tokens, and the block size of packed training."""

from __future__ import annotations

import math

from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataFile, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning.defaults import GENERATION, default
from trainwright.planning.plan import Choice
from trainwright.planning.selection import (
    DataSelection,
    train_file_choice,
    validation_file_choice,
)

CHARS_PER_TOKEN_GUESS = 4.0  # English BPE tokenizers average about 4 characters a token
SMALLEST_BLOCK = GENERATION["smallest_block_size"][0]
MIN_TRAIN_BLOCKS = GENERATION["min_train_blocks"][0]


def check_corpus_size(train: DataFile, tokens: int, validation_tokens: int | None,
                      fraction: float, token_source: str) -> None:
    """Exit 2 when the corpus cannot fill the smallest blocks: a few to train on, and one to
    validate on (carved out of the corpus with `fraction`, or the validation split's own)."""
    if validation_tokens is None:
        needed = max(MIN_TRAIN_BLOCKS * SMALLEST_BLOCK, math.ceil(SMALLEST_BLOCK / fraction))
        how = (f"{needed // SMALLEST_BLOCK} blocks of {SMALLEST_BLOCK} tokens (the smallest "
               f"block size), so that the validation_fraction of {fraction:g} carved out of it "
               "holds a whole block")
    else:
        needed = MIN_TRAIN_BLOCKS * SMALLEST_BLOCK
        how = f"{MIN_TRAIN_BLOCKS} blocks of {SMALLEST_BLOCK} tokens, the smallest block size"
    fix = ("add text to the corpus, or pass a larger one with --data (files, a folder or a "
           "glob).")
    if tokens < needed:
        held = "no text at all" if tokens == 0 else f"about {tokens:,} tokens ({token_source})"
        raise UserError(f"{train.path} is too small to train a language model on: it holds "
                        f"{held}, and training needs at least {needed:,}: {how}; about "
                        f"{needed - tokens:,} tokens more.", fix)
    if validation_tokens is None and (train.rows or 0) < 2:
        raise UserError(f"{train.path} holds a single document, and train.py carves the "
                        "validation split out of whole documents.",
                        "split the text into several documents (one a line in .txt files, one a "
                        "file for .md), or pass a validation split with --data.")
    if validation_tokens is not None and validation_tokens < SMALLEST_BLOCK:
        raise UserError(f"The validation split holds about {validation_tokens:,} tokens, fewer "
                        f"than one block of {SMALLEST_BLOCK} (the smallest block size).",
                        "add text to the validation split, or remove it so that train.py carves "
                        "one out of the training corpus.")


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
    return int(characters / chars_per_token), chars_per_token, source


def block_size(model: ModelFacts, tokens: int) -> Choice:
    context = model.max_positions or 2048
    limit = min(context, GENERATION["max_block_size"][0])
    value = 2 ** int(math.log2(limit))
    reason = f"the model reads {context:,} positions; {value} keeps attention memory moderate"
    min_blocks = GENERATION["min_blocks"][0]
    while value > SMALLEST_BLOCK and tokens / value < min_blocks:
        value //= 2
        reason = (f"the corpus has about {tokens:,} tokens: blocks of {value} give at least "
                  f"{min_blocks} training blocks (the model reads {context:,} positions)")
    return Choice(value, reason + "; documents are packed into full blocks with the EOS token "
                                  "between them, so no batch holds padding",
                  "tokens per packed block; documents are joined with EOS, no padding")


def corpus_data_section(facts: ProjectFacts, selection: DataSelection, model: ModelFacts,
                        token_lengths: list[int] | None
                        ) -> tuple[dict[str, Choice], int, dict]:
    """The data section of a language-modelling run, its token count and what was measured."""
    train = selection.train
    if not train.text_column:
        raise UserError(f"{train.path} has no text column among {', '.join(train.columns)}.",
                        "pass --text-column NAME, or put plain .txt / .md files under data/.")
    tokens, chars_per_token, token_source = count_tokens([train], token_lengths,
                                                         train.sample_texts)
    fraction = default(GENERATION, "validation_fraction")
    validation_tokens = None
    if selection.validation is not None:
        validation_tokens = count_tokens([selection.validation], token_lengths,
                                         train.sample_texts)[0]
    check_corpus_size(train, tokens, validation_tokens, fraction.value, token_source)
    data = {
        "train_file": train_file_choice(selection, f"about {tokens:,} tokens ({token_source})",
                                        "the documents to model"),
        "validation_file": validation_file_choice(selection.validation,
                                                  "the training documents"),
        "text_column": Choice(train.text_column, "the text to model", "the text to model"),
        "validation_fraction": fraction,
        "block_size": block_size(model, tokens),
    }
    measured = {"tokens": tokens, "chars_per_token": round(chars_per_token, 2),
                "token_source": token_source, "files": list(train.files or (train.path,)),
                "documents": train.rows or 0}
    return data, tokens, measured
