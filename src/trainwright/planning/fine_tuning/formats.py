"""Which reading of the training file fine-tunes: the one the columns fit, the one the flags
(--data-format, --prompt-column, --response-column) name, or a question when several fit."""

from __future__ import annotations

from dataclasses import replace

from trainwright.discovery.data_shape import (
    CHAT,
    CHAT_PROMPT_COMPLETION,
    INSTRUCTION,
    PROMPT_COMPLETION,
    SEQ2SEQ,
    SFT_FORMATS,
    SHAREGPT,
    TEXT_PAIR_FORMATS,
)
from trainwright.discovery.models import DataFile, DataShape
from trainwright.errors import AmbiguousChoice, Candidate, UserError
from trainwright.planning.plan import Options

# What each format is, for reasons and questions (TRL's names in brackets).
FORMAT_NAMES = {
    CHAT: "conversations (TRL's conversational language modeling)",
    SHAREGPT: "ShareGPT conversations",
    CHAT_PROMPT_COMPLETION: "TRL's conversational prompt-completion",
    PROMPT_COMPLETION: "TRL's standard prompt-completion",
    INSTRUCTION: "instruction / input / output rows",
    SEQ2SEQ: "a source text and its target (seq2seq pairs)",
}


def learned_column(shape: DataShape) -> str | None:
    """The column whose content the model learns to write."""
    return shape.response_column or shape.messages_column


def describe(shape: DataShape) -> str:
    """One reading of the rows, as a user would check it against the file."""
    if shape.kind == CHAT:
        return (f"'{shape.messages_column}' holds role / content messages; every assistant "
                "turn is learned")
    if shape.kind == SHAREGPT:
        return (f"'{shape.messages_column}' holds from / value messages, converted to role / "
                "content through data.role_map; every assistant turn is learned")
    if shape.kind == CHAT_PROMPT_COMPLETION:
        return (f"'{shape.prompt_column}' and '{shape.response_column}' hold lists of "
                f"messages: the prompt is context, the completion is learned")
    if shape.kind == PROMPT_COMPLETION:
        return (f"'{shape.prompt_column}' then '{shape.response_column}', as plain text (no "
                "chat template): the completion is learned")
    extra = f" (with '{shape.input_column}' appended)" if shape.input_column else ""
    return (f"'{shape.prompt_column}'{extra} as the user's message, '{shape.response_column}' "
            "as the assistant's reply, which is learned")


def readings(train: DataFile) -> list[DataShape]:
    return [shape for shape in (train.shape, *train.other_shapes) if shape is not None]


def choose_shape(train: DataFile, options: Options) -> DataShape | None:
    """The reading of the training file that fine-tunes; None for a file discovery could not
    read. A UserError when the flags fit no reading, AmbiguousChoice when several fit."""
    found = readings(train)
    if not found:
        return None
    if not (options.data_format or options.prompt_column or options.response_column):
        if len(found) > 1:
            raise _ambiguity(train, found)
        return found[0]
    absent = [f"--{flag} {column}" for flag, column in (
        ("prompt-column", options.prompt_column), ("response-column", options.response_column))
        if column and column not in train.columns]
    if absent:
        raise UserError(f"{train.path} has no column named by {' and '.join(absent)} (its "
                        f"columns: {', '.join(train.columns) or 'none'}).",
                        "pass the name of one of its columns.")
    fitting = _fitting(found, options)
    if not fitting:
        raise UserError(
            f"{train.path} cannot be read as {_asked(options)}.",
            "pass flags that fit one of its readings, or --prompt-column and "
            "--response-column together to name the pair.",
            problems=[f"{shape.kind}: {describe(shape)}" for shape in found
                      if shape.kind in SFT_FORMATS]
            or [f"its columns: {', '.join(train.columns) or 'none'}"])
    if len(fitting) > 1:
        raise _ambiguity(train, fitting)
    return fitting[0]


def _fitting(found: list[DataShape], options: Options) -> list[DataShape]:
    fitting = [shape for shape in found if shape.kind in SFT_FORMATS]
    if options.prompt_column:
        fitting = [s for s in fitting if options.prompt_column in (s.prompt_column,
                                                                  s.messages_column)]
    if options.response_column:
        fitting = [s for s in fitting if learned_column(s) == options.response_column]
    wanted = options.data_format
    if wanted:
        same = [shape for shape in fitting if shape.kind == wanted]
        if not same and wanted in TEXT_PAIR_FORMATS:
            # A prompt string and a response string read either way: the flag says which.
            same = [replace(shape, kind=wanted, input_column=None if wanted == PROMPT_COMPLETION
                            else shape.input_column)
                    for shape in fitting if shape.kind in TEXT_PAIR_FORMATS]
        fitting = same
    return fitting


def _asked(options: Options) -> str:
    asked = [f"--{flag} {value}" for flag, value in (
        ("data-format", options.data_format), ("prompt-column", options.prompt_column),
        ("response-column", options.response_column)) if value]
    return " with ".join(asked)


def _ambiguity(train: DataFile, shapes: list[DataShape]) -> AmbiguousChoice:
    """The question that tells the readings apart: their formats, else the learned column,
    else the prompt column."""
    for option, flag, what, value_of in (
            ("data_format", "--data-format", "fine-tuning format", lambda s: s.kind),
            ("response_column", "--response-column", "column to learn", learned_column),
            ("prompt_column", "--prompt-column", "prompt column", lambda s: s.prompt_column)):
        values = [value_of(shape) for shape in shapes]
        if None not in values and len(set(values)) == len(values):
            return AmbiguousChoice(
                f"The {what} of {train.path}", option, flag,
                [Candidate(value, describe(shape)) for value, shape in zip(values, shapes,
                                                                            strict=True)])
    raise AssertionError("two readings of one file differ in format or columns")
