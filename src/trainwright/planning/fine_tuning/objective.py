"""The fine-tuning objective follows the data: chat or instruction rows -> supervised
fine-tuning of a causal LM with the loss on the responses only; labelled texts -> sequence
classification with a new head; plain text -> causal language modelling."""

from __future__ import annotations

from trainwright.discovery.models import DataFile
from trainwright.errors import UserError
from trainwright.planning.plan import Choice

SFT, SEQUENCE_CLASSIFICATION, CAUSAL_LM = "sft", "sequence_classification", "causal_lm"
OBJECTIVES = {"chat": SFT, "instruction": SFT, "labelled": SEQUENCE_CLASSIFICATION,
              "text": CAUSAL_LM}
COMMENTS = {"chat": "conversations: only the assistant turns carry loss",
            "instruction": "prompt / response pairs: only the response carries loss",
            "labelled": "text / label pairs: a new classification head",
            "text": "plain text: next-token prediction"}


def objective_of(train: DataFile) -> Choice:
    """The training objective the data calls for, and why; a UserError for unusable data."""
    shape = train.shape
    kind = shape.kind if shape else "unknown"
    if kind == "instruction" and not shape.response_column:
        raise UserError(
            f"{train.path} looks like instruction data (column '{shape.prompt_column}') but has "
            f"no response column (its columns: {', '.join(train.columns)}).",
            "add the answers in a column named output, response, completion or answer; or, "
            "for plain text, rename the column to text.")
    if shape and shape.row_problems:
        raise UserError(f"{train.path} has rows that cannot be trained on:",
                        "fix or remove those rows (roles are system, user, assistant or tool; "
                        "every conversation needs an assistant turn).",
                        problems=list(shape.row_problems))
    if kind not in OBJECTIVES:
        raise UserError(
            f"{train.path} has no column trainwright can fine-tune on (columns: "
            f"{', '.join(train.columns) or 'none'}).",
            "use chat rows (a `messages` list of role / content), instruction / output "
            "columns, text + label columns, or a text column; or pass --text-column.")
    reasons = {
        "chat": f"rows hold conversations ('{shape.messages_column}'): supervised fine-tuning "
                "of a causal LM; only the assistant turns carry loss",
        "instruction": f"rows pair a prompt ('{shape.prompt_column}') with a response "
                       f"('{shape.response_column}'): supervised fine-tuning of a causal LM; "
                       "only the response carries loss",
        "labelled": f"rows pair a text ('{train.text_column}') with a label "
                    f"('{train.label_column}'): sequence classification with a new head",
        "text": f"rows are plain text ('{train.text_column}'): causal language modelling",
    }
    return Choice(OBJECTIVES[kind], reasons[kind], COMMENTS[kind])


def model_head(objective: str) -> str:
    """The head the model is built with: a new classifier, or the language-model head."""
    return SEQUENCE_CLASSIFICATION if objective == SEQUENCE_CLASSIFICATION else CAUSAL_LM
