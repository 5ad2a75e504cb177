"""The data section of a fine-tuning run, per objective: chat / instruction examples for SFT,
labelled texts for sequence classification, a corpus for causal language modelling."""

from __future__ import annotations

from dataclasses import dataclass

from trainwright.planning.corpus import corpus_data_section
from trainwright.planning.defaults import FINE_TUNING, default
from trainwright.planning.fine_tuning.objective import CAUSAL_LM, SEQUENCE_CLASSIFICATION
from trainwright.planning.labelled import labelled_data_section
from trainwright.planning.lengths import LengthRule, max_length
from trainwright.planning.plan import Choice
from trainwright.planning.selection import validation_file_choice
from trainwright.planning.skeleton import PlanInputs

SFT_LENGTHS = LengthRule(cap=FINE_TUNING["max_length_cap"][0], multiple=64,
                         minimum=FINE_TUNING["min_length"], words_without_sample=200,
                         added_tokens=FINE_TUNING["template_tokens"][0],
                         added_for="the chat template", cut_note="Longer examples are cut; ")


@dataclass(frozen=True)
class FineTuningData:
    section: dict[str, Choice]
    examples: int  # training examples (rows, or packed blocks) before the validation carve-out
    sequence: int  # tokens per example
    length_key: str


def _sft_section(inputs: PlanInputs) -> dict[str, Choice]:
    train = inputs.data.train
    shape = train.shape
    assert shape is not None
    chat = shape.kind == "chat"
    data = {
        "train_file": Choice(train.path, f"{train.rows or 0:,} examples", "the examples to learn"),
        "validation_file": validation_file_choice(inputs.data.validation,
                                                  "the training examples"),
        "validation_fraction": default(FINE_TUNING, "validation_fraction"),
        "format": Choice(shape.kind, "conversations as role / content messages" if chat else
                         "prompt / response columns, turned into a user and an assistant message",
                         "role / content messages" if chat else
                         "prompt / response columns, as a user and an assistant message"),
    }
    if chat:
        data["messages_column"] = Choice(shape.messages_column, "the list of messages per row",
                                         "the list of messages per row")
    else:
        data["prompt_column"] = Choice(shape.prompt_column, "the instruction or prompt",
                                       "the instruction or prompt")
        extra = "extra input appended to the prompt" if shape.input_column else \
            "no separate input column"
        data["input_column"] = Choice(shape.input_column, extra, extra)
        data["response_column"] = Choice(shape.response_column, "the answer to learn",
                                         "the answer to learn")
    data["max_length"] = max_length(train, inputs.model, inputs.token_lengths, SFT_LENGTHS,
                                    "examples")
    return data


def fine_tuning_data(inputs: PlanInputs, objective: str) -> FineTuningData:
    train = inputs.data.train
    if objective == SEQUENCE_CLASSIFICATION:
        section = labelled_data_section(inputs.data, inputs.options, inputs.model,
                                        inputs.token_lengths)
        examples = train.rows or sum(train.label_counts.values())
        return FineTuningData(section, examples, section["max_length"].value, "data.max_length")
    if objective == CAUSAL_LM:
        section, tokens, _ = corpus_data_section(inputs.facts, inputs.data, inputs.model,
                                                 inputs.token_lengths)
        block = section["block_size"].value
        return FineTuningData(section, max(1, tokens // block), block, "data.block_size")
    section = _sft_section(inputs)
    return FineTuningData(section, train.rows or 0, section["max_length"].value,
                          "data.max_length")
