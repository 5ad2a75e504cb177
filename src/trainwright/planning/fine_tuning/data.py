"""The data section of a fine-tuning run, per objective: the format and columns of the
examples for SFT, labelled texts for sequence classification, a corpus for causal language
modelling."""

from __future__ import annotations

from dataclasses import dataclass

from trainwright.discovery.data_shape import (
    CHAT_PROMPT_COMPLETION,
    CONVERSATION_FORMATS,
    INSTRUCTION,
    PROMPT_COMPLETION,
    SEQ2SEQ,
    SHAREGPT,
    SHAREGPT_ROLES,
)
from trainwright.discovery.models import DataShape
from trainwright.planning.corpus import corpus_data_section
from trainwright.planning.defaults import FINE_TUNING, default
from trainwright.planning.fine_tuning.formats import FORMAT_NAMES, describe
from trainwright.planning.fine_tuning.objective import CAUSAL_LM, SEQUENCE_CLASSIFICATION
from trainwright.planning.label_columns import SINGLE_LABEL
from trainwright.planning.labelled import labelled_data_section, planned_counts
from trainwright.planning.lengths import LengthRule, max_length
from trainwright.planning.plan import FLAG, Choice, Options
from trainwright.planning.selection import train_file_choice, validation_file_choice
from trainwright.planning.skeleton import PlanInputs

SFT_LENGTHS = LengthRule(cap=FINE_TUNING["max_length_cap"][0], multiple=64,
                         minimum=FINE_TUNING["min_length"], words_without_sample=200,
                         added_tokens=FINE_TUNING["template_tokens"][0],
                         added_for="the chat template", cut_note="Longer examples are cut. ")
# Standard prompt-completion is plain text: no chat template, only the end-of-sequence token.
TEXT_LENGTHS = LengthRule(cap=FINE_TUNING["max_length_cap"][0], multiple=64,
                          minimum=FINE_TUNING["min_length"], words_without_sample=200,
                          added_tokens=1, added_for="the end-of-sequence token",
                          cut_note="Longer examples are cut. ")
FORMAT_COMMENTS = {
    "chat": "role / content messages",
    SHAREGPT: "from / value messages, their roles mapped by role_map",
    CHAT_PROMPT_COMPLETION: "prompt messages are context, completion messages are learned",
    PROMPT_COMPLETION: "prompt text then completion text, no chat template",
    INSTRUCTION: "prompt / response columns, as a user and an assistant message",
    SEQ2SEQ: "source / target columns, as a user and an assistant message",
}
PROMPT_TEXTS = {CHAT_PROMPT_COMPLETION: "the messages that are context",
                PROMPT_COMPLETION: "the text the completion follows",
                INSTRUCTION: "the instruction or prompt",
                SEQ2SEQ: "the source text, as the user's message"}
RESPONSE_TEXTS = {CHAT_PROMPT_COMPLETION: "the messages that are learned"}


@dataclass(frozen=True)
class FineTuningData:
    section: dict[str, Choice]
    examples: int  # training examples (rows, or packed blocks) before the validation carve-out
    sequence: int  # tokens per example
    length_key: str


def _column(value: str | None, text: str, flag: str, given: str | None,
            comment: str = "") -> Choice:
    """A column or format read from the data, or given with its flag."""
    if given:
        return Choice(value, f"{text}; given with {flag}", comment or text, source=FLAG)
    return Choice(value, f"{text}; {flag} overrides", comment or text)


def _columns(shape: DataShape, options: Options) -> dict[str, Choice]:
    if shape.kind in CONVERSATION_FORMATS:
        columns = {"messages_column": Choice(shape.messages_column,
                                             "the list of messages per row",
                                             "the list of messages per row")}
        if shape.kind == SHAREGPT:
            columns["role_map"] = Choice(
                dict(SHAREGPT_ROLES), "ShareGPT's from values (compared in lower case) as chat "
                "roles: the human side is the user, the model's side and its function calls "
                "the assistant, function results the tool; a row with another value stops "
                "the script naming the row", "from value -> chat role; add the roles the rows use")
        return columns
    columns = {"prompt_column": _column(shape.prompt_column, PROMPT_TEXTS[shape.kind],
                                        "--prompt-column", options.prompt_column)}
    if shape.kind in {INSTRUCTION, SEQ2SEQ}:
        extra = "extra input appended to the prompt" if shape.input_column else \
            "no separate input column"
        columns["input_column"] = Choice(shape.input_column, extra, extra)
    columns["response_column"] = _column(
        shape.response_column, RESPONSE_TEXTS.get(shape.kind, "the answer to learn"),
        "--response-column", options.response_column)
    return columns


def _sft_section(inputs: PlanInputs) -> dict[str, Choice]:
    train = inputs.data.train
    shape = inputs.data.shape or train.shape
    assert shape is not None
    data = {
        "train_file": train_file_choice(inputs.data, f"{train.rows or 0:,} examples",
                                        "the examples to learn"),
        "validation_file": validation_file_choice(inputs.data.validation,
                                                  "the training examples"),
        "validation_fraction": default(FINE_TUNING, "validation_fraction"),
        "format": _column(shape.kind, f"{FORMAT_NAMES[shape.kind]}: {describe(shape)}",
                          "--data-format", inputs.options.data_format,
                          FORMAT_COMMENTS[shape.kind]),
        **_columns(shape, inputs.options),
    }
    data["max_length"] = max_length(train, inputs.model, inputs.token_lengths,
                                    sft_length_rule(shape.kind), "examples")
    return data


def sft_length_rule(data_format: str) -> LengthRule:
    """How max_length is sized for examples of this format (what the template adds)."""
    return TEXT_LENGTHS if data_format == PROMPT_COMPLETION else SFT_LENGTHS


def fine_tuning_data(inputs: PlanInputs, objective: str) -> FineTuningData:
    train = inputs.data.train
    if objective == SEQUENCE_CLASSIFICATION:
        # A new head for single-label classes; regression and multi-label are exit 2 naming
        # `trainwright init classification`, which plans them.
        section = labelled_data_section(inputs.data, inputs.options, inputs.model,
                                        inputs.token_lengths, kinds=(SINGLE_LABEL,))
        examples = train.rows or sum(planned_counts(train, section).values())
        return FineTuningData(section, examples, section["max_length"].value, "data.max_length")
    if objective == CAUSAL_LM:
        section, tokens, _ = corpus_data_section(inputs.facts, inputs.data, inputs.model,
                                                 inputs.token_lengths)
        block = section["block_size"].value
        return FineTuningData(section, max(1, tokens // block), block, "data.block_size")
    section = _sft_section(inputs)
    return FineTuningData(section, train.rows or 0, section["max_length"].value,
                          "data.max_length")
