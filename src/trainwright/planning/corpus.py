"""Text to model: the corpus files, its size in tokens, and the block size of packed training."""

from __future__ import annotations

import math
from pathlib import PurePosixPath

from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataFile, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning.defaults import GENERATION, default
from trainwright.planning.plan import Choice
from trainwright.planning.selection import DataSelection, validation_file_choice

CHARS_PER_TOKEN_GUESS = 4.0  # English BPE tokenizers average about 4 characters a token


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
    limit = min(context, GENERATION["max_block_size"][0])
    value = 2 ** int(math.log2(limit))
    reason = f"the model reads {context:,} positions; {value} keeps attention memory moderate"
    min_blocks = GENERATION["min_blocks"][0]
    while value > 64 and tokens / value < min_blocks:
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
    train_path, files = corpus_files(facts, train)
    tokens, chars_per_token, token_source = count_tokens(files, token_lengths,
                                                         train.sample_texts)
    data = {
        "train_file": Choice(train_path, f"about {tokens:,} tokens ({token_source})",
                             "the documents to model"),
        "validation_file": validation_file_choice(selection.validation,
                                                  "the training documents"),
        "text_column": Choice(train.text_column, "the text to model", "the text to model"),
        "validation_fraction": default(GENERATION, "validation_fraction"),
        "block_size": block_size(model, tokens),
    }
    measured = {"tokens": tokens, "chars_per_token": round(chars_per_token, 2),
                "token_source": token_source, "files": [f.path for f in files],
                "documents": sum((f.rows or 0) for f in files)}
    return data, tokens, measured
