"""The fine-tuning objective follows the data: conversations, prompt / completion pairs,
instruction rows or seq2seq pairs -> supervised fine-tuning of a causal LM with the loss on what
is learned only; labelled texts -> sequence classification with a new head; plain text -> causal
language modelling."""

from __future__ import annotations

from trainwright.discovery.data_shape import (
    CHAT_PROMPT_COMPLETION,
    CONVERSATION_FORMATS,
    PREFERENCE,
    SFT_FORMATS,
    SHAREGPT_ROLES,
)
from trainwright.discovery.models import DataFile, DataShape
from trainwright.errors import UserError
from trainwright.planning.fine_tuning.formats import FORMAT_NAMES
from trainwright.planning.plan import CAUSAL_LM, SEQUENCE_CLASSIFICATION, SFT, Choice

OBJECTIVES = {**dict.fromkeys(SFT_FORMATS, SFT), "labelled": SEQUENCE_CLASSIFICATION,
              "text": CAUSAL_LM}
COMMENTS = {"labelled": "text / label pairs: a new classification head",
            "text": "plain text: next-token prediction"}


def _sft_comment(kind: str) -> str:
    if kind in CONVERSATION_FORMATS:
        return "conversations: only the assistant turns carry loss"
    if kind == CHAT_PROMPT_COMPLETION:
        return "prompt / completion messages: only the completion carries loss"
    return "prompt / response pairs: only the response carries loss"


def objective_of(train: DataFile, shape: DataShape | None = None) -> Choice:
    """The training objective the chosen reading of the data (by default the file's first)
    calls for, and why; a UserError for unusable data."""
    shape = shape or train.shape
    kind = shape.kind if shape else "unknown"
    if kind == PREFERENCE:
        raise UserError(
            f"{train.path} holds preference data (columns {', '.join(train.columns)}): "
            "chosen / rejected answers, or completions labelled good or bad, train with "
            "preference optimisation (TRL's DPO or KTO), which trainwright does not plan.",
            "to fine-tune on the good answers only, keep those rows as prompt / completion "
            "pairs without the rejected answers and the label.")
    if kind == "instruction" and not shape.response_column:
        raise UserError(
            f"{train.path} looks like instruction data (column '{shape.prompt_column}') but has "
            f"no response column (its columns: {', '.join(train.columns)}).",
            "add the answers in a column named output, response, completion or answer; or, "
            "for plain text, rename the column to text.")
    if shape and shape.row_problems:
        raise UserError(f"{train.path} has rows that cannot be trained on, read as "
                        f"{FORMAT_NAMES.get(kind, kind)}:",
                        f"fix or remove those rows ({ROW_RULES.get(kind, ROW_RULES['pairs'])}).",
                        problems=list(shape.row_problems))
    if kind not in OBJECTIVES:
        raise UserError(
            f"{train.path} has no column trainwright can fine-tune on (columns: "
            f"{', '.join(train.columns) or 'none'}).",
            "use chat rows (a `messages` list of role / content, or ShareGPT `conversations`), "
            "prompt / completion, instruction / output or document / summary columns, "
            "text + label columns, or a text column; or pass --prompt-column and "
            "--response-column, or --text-column.")
    if kind in SFT_FORMATS:
        columns = ", ".join(f"'{column}'" for column in shape.columns)
        return Choice(SFT, f"the rows are {FORMAT_NAMES[kind]}, in {columns}: supervised "
                           "fine-tuning of a causal LM, the loss on the learned tokens only "
                           "(data.format says how the rows are read)", _sft_comment(kind))
    reasons = {
        "labelled": f"rows pair a text ('{train.text_column}') with a label "
                    f"('{train.label_column}'): sequence classification with a new head",
        "text": f"rows are plain text ('{train.text_column}'): causal language modelling",
    }
    return Choice(OBJECTIVES[kind], reasons[kind], COMMENTS[kind])


ROW_RULES = {
    "chat": "roles are system, user, assistant or tool; every conversation needs an assistant "
            "turn",
    "sharegpt": f"every message needs from and value, from one of {', '.join(SHAREGPT_ROLES)}; "
                "every conversation needs an assistant turn",
    "chat_prompt_completion": "prompt and completion are lists of role / content messages; "
                              "the completion needs an assistant turn",
    "pairs": "the prompt and the response are text; the response is not empty",
}


def model_head(objective: str) -> str:
    """The head the model is built with: a new classifier, or the language-model head."""
    return SEQUENCE_CLASSIFICATION if objective == SEQUENCE_CLASSIFICATION else CAUSAL_LM
