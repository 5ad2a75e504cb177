"""Reading the values of a run's JSON files: numbers that may be missing or of the wrong type."""

from __future__ import annotations

TIMING_SUFFIXES = ("_runtime", "_samples_per_second", "_steps_per_second",
                   "_model_preparation_time")


def evaluation_at(log: list[dict], step: int) -> dict[str, float]:
    """The eval_* values of the (last) evaluation at a step."""
    found: dict[str, float] = {}
    for entry in log:
        if entry.get("step") == step and any(key.startswith("eval_") for key in entry):
            found = {key: value for key, value in entry.items() if key.startswith("eval_")
                     and as_float(value) is not None}
    return found


def is_timing(key: str) -> bool:
    return key.endswith(TIMING_SUFFIXES)


def mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def as_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)
