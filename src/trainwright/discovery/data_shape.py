"""How a data file's rows can be read for fine-tuning, from its sampled rows only.

The supervised fine-tuning formats, named as TRL's dataset formats guide names them
(trl docs/source/dataset_formats.md):

- chat: conversational language modeling, a list of role / content messages a row
  (`messages`); every assistant turn is learned;
- sharegpt: the same conversations as from / value messages (`conversations`), whose roles
  SHAREGPT_ROLES maps to chat roles;
- chat_prompt_completion: conversational prompt-completion, `prompt` and `completion` each a
  list of messages; the prompt is context, the completion is learned;
- prompt_completion: standard prompt-completion, `prompt` and `completion` strings; the text
  is the prompt followed by the completion (no chat template), the completion is learned;
- instruction: Alpaca's instruction / input / output, as a user and an assistant message;
- seq2seq: a source text and its target (document / summary, source / target, ...), as a user
  and an assistant message.

Discovery reports every reading the columns fit (DataFile.shape, then other_shapes); planning
chooses one, and asks when several fit. Preference data (chosen / rejected) is reported as such:
it is not supervised fine-tuning data.
"""

from __future__ import annotations

from collections.abc import Mapping

from trainwright.discovery.models import DataShape

CHAT, SHAREGPT = "chat", "sharegpt"
CHAT_PROMPT_COMPLETION, PROMPT_COMPLETION = "chat_prompt_completion", "prompt_completion"
INSTRUCTION, SEQ2SEQ = "instruction", "seq2seq"
SFT_FORMATS = (CHAT, SHAREGPT, CHAT_PROMPT_COMPLETION, PROMPT_COMPLETION, INSTRUCTION, SEQ2SEQ)
CONVERSATION_FORMATS = (CHAT, SHAREGPT)  # one column of messages
TEXT_PAIR_FORMATS = (PROMPT_COMPLETION, INSTRUCTION, SEQ2SEQ)  # a prompt string, a response string
PREFERENCE = "preference"

MESSAGES_NAMES = ("messages", "conversations", "conversation", "chat", "dialog", "dialogue")
INSTRUCTION_NAMES = ("instruction", "prompt", "query")
INPUT_NAMES = ("input", "context")
RESPONSE_NAMES = ("output", "response", "completion", "answer")
TRL_PAIR = ("prompt", "completion")
SEQ2SEQ_PAIRS = (("document", "summary"), ("article", "highlights"), ("article", "summary"),
                 ("dialogue", "summary"), ("text", "summary"), ("source", "target"),
                 ("src", "tgt"), ("question", "answer"), ("input", "output"),
                 ("input", "target"))
ROLES = ("system", "user", "assistant", "tool")
# ShareGPT's `from` values (lower-cased) as chat roles: the human side is the user, the model's
# side (and its function calls) the assistant, function results the tool.
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                  "assistant": "assistant", "chatgpt": "assistant",
                  "function_call": "assistant", "tool": "tool", "function": "tool",
                  "observation": "tool"}
CHAT_ROLES = {role: role for role in ROLES}
BOOLEANS = {True, False, "true", "false", "True", "False"}
MAX_ROW_PROBLEMS = 10


def _by_lower(columns: list[str]) -> dict[str, str]:
    return {column.lower(): column for column in columns}


def _first_named(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = _by_lower(columns)
    return next((lower[name] for name in names if name in lower), None)


def _values(rows: list[dict], column: str) -> list:
    return [row.get(column) for row in rows[:50] if row.get(column) is not None]


def _holds_lists(rows: list[dict], column: str) -> bool:
    values = _values(rows, column)
    return bool(values) and all(isinstance(v, list) for v in values)


def _from_value(rows: list[dict], column: str) -> bool:
    """Whether the messages are ShareGPT's from / value dicts rather than role / content."""
    messages = [m for v in _values(rows, column) for m in v[:1] if isinstance(m, dict)]
    return bool(messages) and sum("from" in m and "value" in m for m in messages) * 2 > \
        len(messages)


# ---------------------------------------------------------------------------------------------
# What keeps a row from training
# ---------------------------------------------------------------------------------------------

def message_problems(messages: object, where: str, keys: tuple[str, str] = ("role", "content"),
                     roles: Mapping[str, str] = CHAT_ROLES) -> list[str]:
    """A list of messages with a role and a content each, every role one of ``roles``."""
    if not isinstance(messages, list) or not messages:
        return [f"{where}: the messages are not a non-empty list"]
    role_key, content_key = keys
    problems = []
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or role_key not in message or content_key not in message:
            found = ", ".join(message) if isinstance(message, dict) else type(message).__name__
            problems.append(f"{where}, message {index}: needs '{role_key}' and "
                            f"'{content_key}' (has {found})")
        elif _role_of(message, role_key, roles) is None:
            problems.append(f"{where}, message {index}: role '{message[role_key]}' is not one "
                            f"of {', '.join(roles)}")
    return problems


def _role_of(message: dict, role_key: str, roles: Mapping[str, str]) -> str | None:
    role = message[role_key]
    if role_key == "from" and isinstance(role, str):
        role = role.strip().lower()  # ShareGPT files write Human / GPT as well
    return roles.get(role) if isinstance(role, str) else None


def _needs_assistant(messages: object, where: str, role_key: str, roles: Mapping[str, str]
                     ) -> list[str]:
    """Call after message_problems found none: ``messages`` is a list of messages."""
    assert isinstance(messages, list)
    if any(_role_of(m, role_key, roles) == "assistant" for m in messages):
        return []
    return [f"{where}: no assistant turn, so there is no response to learn"]


def conversation_problems(messages: object, row: int) -> list[str]:
    """What keeps one chat row from training: not a list of role / content messages, an unknown
    role, or no assistant turn to learn from."""
    where = f"row {row}"
    return message_problems(messages, where) or _needs_assistant(messages, where, "role",
                                                                 CHAT_ROLES)


def _row_problems(shape: DataShape, row: dict, number: int) -> list[str]:
    where = f"row {number}"
    if shape.kind == CHAT:
        return conversation_problems(row.get(shape.messages_column), number)
    if shape.kind == SHAREGPT:
        messages = row.get(shape.messages_column)
        problems = message_problems(messages, where, ("from", "value"), SHAREGPT_ROLES)
        return problems or _needs_assistant(messages, where, "from", SHAREGPT_ROLES)
    if shape.kind == CHAT_PROMPT_COMPLETION:
        prompt, completion = row.get(shape.prompt_column), row.get(shape.response_column)
        problems = message_problems(prompt, f"{where} '{shape.prompt_column}'")
        learned = message_problems(completion, f"{where} '{shape.response_column}'")
        return problems + (learned or _needs_assistant(
            completion, f"{where} '{shape.response_column}'", "role", CHAT_ROLES))
    problems = [f"{where}: '{column}' holds a {type(row.get(column)).__name__}, not text"
                for column in shape.columns
                if row.get(column) is not None and not isinstance(row.get(column), str)]
    if not problems and not str(row.get(shape.response_column) or "").strip():
        problems.append(f"{where}: the response '{shape.response_column}' is empty")
    return problems


def _checked(shape: DataShape, rows: list[dict]) -> DataShape:
    """The reading with the problems of its rows and the text of each sampled example."""
    if shape.kind not in SFT_FORMATS:
        return shape
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        if len(problems) >= MAX_ROW_PROBLEMS:
            break
        problems += _row_problems(shape, row, number)
    return DataShape(shape.kind, shape.messages_column, shape.prompt_column, shape.input_column,
                     shape.response_column, row_problems=tuple(problems[:MAX_ROW_PROBLEMS]),
                     sample_texts=tuple(sample_text_of(row, shape) for row in rows),
                     sample_parts=tuple(sample_parts_of(row, shape) for row in rows))


# ---------------------------------------------------------------------------------------------
# The readings
# ---------------------------------------------------------------------------------------------

def _conversations(rows: list[dict], columns: list[str]) -> list[DataShape]:
    column = _first_named(columns, MESSAGES_NAMES)
    if not column or not _holds_lists(rows, column):
        return []
    return [DataShape(SHAREGPT if _from_value(rows, column) else CHAT, messages_column=column)]


def _pair(kind: str, rows: list[dict], columns: list[str], prompt: str, response: str
          ) -> DataShape:
    if _holds_lists(rows, prompt) or _holds_lists(rows, response):
        return DataShape(CHAT_PROMPT_COMPLETION, prompt_column=prompt, response_column=response)
    extra = None
    if kind in {INSTRUCTION, SEQ2SEQ}:
        extra = _first_named([c for c in columns if c not in {prompt, response}], INPUT_NAMES)
    return DataShape(kind, prompt_column=prompt, input_column=extra, response_column=response)


def _kind_of_pair(prompt: str, response: str) -> str:
    pair = (prompt.lower(), response.lower())
    if pair == TRL_PAIR:
        return PROMPT_COMPLETION
    return SEQ2SEQ if pair in SEQ2SEQ_PAIRS else INSTRUCTION


def _pairs(rows: list[dict], columns: list[str]) -> list[DataShape]:
    """Every named (prompt, response) pair of columns, each read once."""
    lower = _by_lower(columns)
    named = [TRL_PAIR, *SEQ2SEQ_PAIRS,
             *((prompt, response) for prompt in INSTRUCTION_NAMES for response in RESPONSE_NAMES)]
    pairs = dict.fromkeys((lower[p], lower[r]) for p, r in named if p in lower and r in lower)
    return [_pair(_kind_of_pair(p, r), rows, columns, p, r) for p, r in pairs]


def _without_narrower(readings: list[DataShape]) -> list[DataShape]:
    """Drop a reading whose columns another reading of the same response extends (Alpaca's
    instruction / input / output is not also an input -> output pair)."""
    return [a for a in readings
            if not any(b.response_column == a.response_column and set(a.columns) < set(b.columns)
                       for b in readings)]


def _preference(rows: list[dict], columns: list[str], label_column: str | None
                ) -> DataShape | None:
    """TRL's preference (chosen / rejected) and unpaired preference (prompt, completion and a
    boolean label) rows: data for preference optimisation, not supervised fine-tuning."""
    lower = _by_lower(columns)
    if "chosen" in lower and "rejected" in lower:
        return DataShape(PREFERENCE, prompt_column=lower.get("prompt"),
                         response_column=lower["chosen"])
    label = lower.get("label") or label_column
    if "prompt" in lower and "completion" in lower and label:
        values = _values(rows, label)
        if values and all(isinstance(v, (bool, str)) and v in BOOLEANS for v in values):
            return DataShape(PREFERENCE, prompt_column=lower["prompt"],
                             response_column=lower["completion"])
    return None


def infer_shapes(rows: list[dict], columns: list[str], text_column: str | None,
                 label_column: str | None, prompt_column: str | None = None,
                 response_column: str | None = None) -> tuple[DataShape, ...]:
    """Every reading of the rows for fine-tuning (never none): the supervised fine-tuning
    formats the columns fit, each with its row problems; else labelled text, plain text or
    unknown. ``prompt_column`` and ``response_column`` (both given with flags) are the one
    pair read."""
    if prompt_column and response_column and {prompt_column, response_column} <= set(columns):
        kind = _kind_of_pair(prompt_column, response_column)
        return (_checked(_pair(kind, rows, columns, prompt_column, response_column), rows),)
    preference = _preference(rows, columns, label_column)
    if preference:
        return (preference,)
    readings = _without_narrower(_conversations(rows, columns) + _pairs(rows, columns))
    if readings:
        return tuple(_checked(reading, rows) for reading in readings)
    prompt = _first_named(columns, INSTRUCTION_NAMES)
    if prompt and not label_column:
        # A prompt with nothing to answer it: instruction data without its response column.
        return (DataShape(INSTRUCTION, prompt_column=prompt),)
    if text_column and label_column:
        return (DataShape("labelled"),)
    return (DataShape("text" if text_column else "unknown"),)


def infer_shape(rows: list[dict], columns: list[str], text_column: str | None,
                label_column: str | None) -> DataShape:
    """The first reading of infer_shapes."""
    return infer_shapes(rows, columns, text_column, label_column)[0]


def _contents(messages: object, content_key: str = "content") -> list[str]:
    if not isinstance(messages, list):
        return []
    return [str(m.get(content_key) or "") for m in messages if isinstance(m, dict)]


def sample_text_of(row: dict, shape: DataShape) -> str:
    """The text a row contributes to a training example, for measuring token lengths (the chat
    template's markers are added by the planner)."""
    if shape.kind == CHAT:
        return "\n".join(_contents(row.get(shape.messages_column)))
    if shape.kind == SHAREGPT:
        return "\n".join(_contents(row.get(shape.messages_column), "value"))
    if shape.kind == CHAT_PROMPT_COMPLETION:
        return "\n".join(_contents(row.get(shape.prompt_column))
                         + _contents(row.get(shape.response_column)))
    if shape.kind == PROMPT_COMPLETION:
        return str(row.get(shape.prompt_column) or "") + str(row.get(shape.response_column) or "")
    if shape.kind in {INSTRUCTION, SEQ2SEQ}:
        parts = (shape.prompt_column, shape.input_column, shape.response_column)
        return "\n\n".join(str(row.get(c) or "") for c in parts if c)
    return ""


def _split_turns(messages: object, role_key: str, content_key: str,
                 roles: Mapping[str, str]) -> tuple[str, str]:
    """The contents of a conversation's other turns and of its assistant turns."""
    if not isinstance(messages, list):
        return "", ""
    context, learned = [], []
    for message in messages:
        if not isinstance(message, dict) or role_key not in message:
            continue
        assistant = _role_of(message, role_key, roles) == "assistant"
        (learned if assistant else context).append(str(message.get(content_key) or ""))
    return "\n".join(context), "\n".join(learned)


def sample_parts_of(row: dict, shape: DataShape) -> tuple[str, str]:
    """A row's example as its context and the part that is learned (the response, or the
    assistant's turns), for measuring each one's length."""
    if shape.kind == CHAT:
        return _split_turns(row.get(shape.messages_column), "role", "content", CHAT_ROLES)
    if shape.kind == SHAREGPT:
        return _split_turns(row.get(shape.messages_column), "from", "value", SHAREGPT_ROLES)
    if shape.kind == CHAT_PROMPT_COMPLETION:
        return ("\n".join(_contents(row.get(shape.prompt_column))),
                "\n".join(_contents(row.get(shape.response_column))))
    if shape.kind in {PROMPT_COMPLETION, INSTRUCTION, SEQ2SEQ}:
        context = "\n\n".join(str(row.get(c) or "") for c in (shape.prompt_column,
                                                              shape.input_column) if c)
        return context, str(row.get(shape.response_column) or "")
    return "", ""
