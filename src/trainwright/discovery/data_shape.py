"""What a data file's rows hold for fine-tuning: chat conversations, instruction / response
pairs, labelled texts or plain text. Read from the sampled rows only."""

from __future__ import annotations

from trainwright.discovery.models import DataShape

MESSAGES_NAMES = ("messages", "conversations", "conversation", "chat", "dialog", "dialogue")
PROMPT_NAMES = ("instruction", "prompt", "question", "query")
INPUT_NAMES = ("input", "context")
RESPONSE_NAMES = ("output", "response", "completion", "answer")
ROLES = ("system", "user", "assistant", "tool")
MAX_ROW_PROBLEMS = 10


def _by_lower(columns: list[str]) -> dict[str, str]:
    return {column.lower(): column for column in columns}


def _first_named(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = _by_lower(columns)
    return next((lower[name] for name in names if name in lower), None)


def _looks_like_messages(rows: list[dict], column: str) -> bool:
    values = [row.get(column) for row in rows[:50] if row.get(column) is not None]
    return bool(values) and all(isinstance(v, list) for v in values)


def conversation_problems(messages: object, row: int) -> list[str]:
    """What keeps one chat row from training: not a list of role / content messages, an unknown
    role, or no assistant turn to learn from."""
    where = f"row {row}"
    if not isinstance(messages, list) or not messages:
        return [f"{where}: the messages are not a non-empty list"]
    problems = []
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            keys = ", ".join(message) if isinstance(message, dict) else type(message).__name__
            problems.append(f"{where}, message {index}: needs 'role' and 'content' (has {keys})")
            continue
        if message["role"] not in ROLES:
            problems.append(f"{where}, message {index}: role '{message['role']}' is not one of "
                            f"{', '.join(ROLES)}")
    if not problems and not any(m["role"] == "assistant" for m in messages):
        problems.append(f"{where}: no assistant turn, so there is no response to learn")
    return problems


def infer_shape(rows: list[dict], columns: list[str], text_column: str | None,
                label_column: str | None) -> DataShape:
    messages = _first_named(columns, MESSAGES_NAMES)
    if messages and _looks_like_messages(rows, messages):
        problems: list[str] = []
        for number, row in enumerate(rows, start=1):
            problems += conversation_problems(row.get(messages), number)
            if len(problems) >= MAX_ROW_PROBLEMS:
                break
        return DataShape("chat", messages_column=messages, row_problems=tuple(problems))
    prompt = _first_named(columns, PROMPT_NAMES)
    response = _first_named(columns, RESPONSE_NAMES)
    if prompt and response:
        extra = _first_named([c for c in columns if c not in {prompt, response}], INPUT_NAMES)
        empty = [f"row {number}: the response '{response}' is empty"
                 for number, row in enumerate(rows, start=1)
                 if not str(row.get(response) or "").strip()][:MAX_ROW_PROBLEMS]
        return DataShape("instruction", prompt_column=prompt, input_column=extra,
                         response_column=response, row_problems=tuple(empty))
    if prompt and not label_column:
        # A prompt with nothing to answer it: instruction data without its response column.
        return DataShape("instruction", prompt_column=prompt)
    if text_column and label_column:
        return DataShape("labelled")
    if text_column:
        return DataShape("text")
    return DataShape("unknown")


def sample_text_of(row: dict, shape: DataShape) -> str:
    """The text a row contributes to a training example, for measuring token lengths."""
    if shape.kind == "chat" and shape.messages_column:
        messages = row.get(shape.messages_column) or []
        return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    if shape.kind == "instruction" and shape.prompt_column:
        parts = (shape.prompt_column, shape.input_column, shape.response_column)
        return "\n\n".join(str(row.get(c) or "") for c in parts if c)
    return ""
