"""What the values of each column look like, from the sampled rows (and, for the columns with
few distinct values, counts over the whole file): the facts planning ranks text and label
columns on. Nothing here chooses a column.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

from trainwright.discovery.models import ColumnFacts, NumericSummary

TEXT_NAMES = ("text", "sentence", "review", "content", "body", "document", "utterance",
              "comment", "message", "tweet", "question", "description", "title", "input", "prompt")
LABEL_NAMES = ("label", "labels", "class", "category", "categories", "target", "sentiment",
               "intent", "y", "topic", "topics", "tag", "tags", "class_label", "gold_label",
               "rating", "score", "emotion", "stars")
IDENTIFIER = re.compile(r"(.*[_\- ])?(id|idx|index|uuid|guid|key)", re.IGNORECASE)
# A column with more distinct values than this in the sample is not counted over the file:
# it is no label of classes, and a regression target needs no counts.
COUNT_LIMIT = 1000
MAX_COUNTED_COLUMNS = 8
DELIMITERS = ("|", ";", ",")
MIN_DELIMITED_SHARE = 0.1  # of the values: below it, a delimiter inside a value is incidental
MAX_ITEM_WORDS = 3

NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _name_role(name: str) -> tuple[str | None, int | None]:
    lower = name.lower()
    if lower in LABEL_NAMES:
        return "label", LABEL_NAMES.index(lower)
    if lower in TEXT_NAMES:
        return "text", TEXT_NAMES.index(lower)
    if IDENTIFIER.fullmatch(lower):
        return "identifier", None
    return None, None


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def as_text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float" if math.isfinite(value) else "mixed"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"true", "false"}:
            return "boolean"
        if NUMBER.fullmatch(text):
            return "integer" if re.fullmatch(r"[-+]?\d+", text) else "float"
        return "text"
    return "mixed"


def _value_type(types: Counter) -> str:
    if not types:
        return "empty"
    if set(types) <= {"integer", "float"}:
        return "float" if "float" in types else "integer"
    return next(iter(types)) if len(types) == 1 else "mixed"


def _numbers(values: list[object]) -> NumericSummary | None:
    numbers = [float(v) for v in values if _type_of(v) in {"integer", "float"}]
    if len(numbers) < 2:
        return None
    mean = sum(numbers) / len(numbers)
    std = math.sqrt(sum((n - mean) ** 2 for n in numbers) / len(numbers))
    return NumericSummary(min(numbers), max(numbers), mean, std,
                          all(n.is_integer() for n in numbers))


def split_items(value: str, delimiter: str) -> list[str]:
    return [item.strip() for item in value.split(delimiter) if item.strip()]


def _delimiter(counts: Counter) -> tuple[str | None, float, Counter]:
    """The delimiter that splits the column's short strings into recurring items."""
    total = sum(counts.values())
    best: tuple[str | None, float, Counter] = (None, 0.0, Counter())
    for delimiter in DELIMITERS:
        holding = sum(n for value, n in counts.items() if delimiter in value)
        share = holding / total if total else 0.0
        if share < MIN_DELIMITED_SHARE or share <= best[1]:
            continue
        items: Counter = Counter()
        for value, n in counts.items():
            for item in split_items(value, delimiter):
                items[item] += n
        words = [len(item.split()) for item in items]
        if (len(items) < len(counts) and len(items) <= COUNT_LIMIT
                and sum(words) / len(words) <= MAX_ITEM_WORDS):
            best = (delimiter, share, items)
    return best


def _keyed(value: object, names: tuple[str, ...]) -> str:
    """A value as counted: a ClassLabel id as its name."""
    if names and _type_of(value) == "integer" and 0 <= int(value) < len(names):
        return names[int(value)]
    return as_text(value)


def profile_column(name: str, values: list[object], class_names: tuple[str, ...] = ()
                   ) -> ColumnFacts:
    """The facts of one column from its sampled values."""
    present = [v for v in values if not is_empty(v)]
    value_type = _value_type(Counter(_type_of(v) for v in present))
    role, rank = _name_role(name)
    words = [len(as_text(v).split()) for v in present if not isinstance(v, (list, tuple))]
    mean_words = sum(words) / len(words) if words else 0.0
    if value_type == "list":
        combos = Counter(json.dumps([_keyed(i, class_names) for i in v]) for v in present)
        items = Counter(_keyed(i, class_names) for v in present for i in v)
        return ColumnFacts(name, value_type, len(values), len(present), len(combos), {}, "sample",
                           mean_words, role, rank, class_names,
                           dict(items.most_common()) if len(items) <= COUNT_LIMIT else {})
    counts = Counter(_keyed(v, class_names) for v in present)
    delimiter, share, items = (_delimiter(counts) if value_type == "text" else (None, 0.0, {}))
    return ColumnFacts(
        name, value_type, len(values), len(present), len(counts),
        dict(counts.most_common()) if len(counts) <= COUNT_LIMIT else {}, "sample", mean_words,
        role, rank, class_names, dict(Counter(items).most_common()), delimiter, round(share, 4),
        _numbers(present) if value_type in {"integer", "float"} else None)


def profile_columns(rows: list[dict], columns: list[str],
                    class_names: dict[str, tuple[str, ...]] | None = None
                    ) -> tuple[ColumnFacts, ...]:
    class_names = class_names or {}
    return tuple(profile_column(column, [row.get(column) for row in rows],
                                class_names.get(column, ())) for column in columns)


def counted_columns(profiles: tuple[ColumnFacts, ...], given: str | None) -> list[str]:
    """The columns worth counting over the whole file: few distinct values in the sample, or
    lists (and the column given with --label-column)."""
    names = [given] if given else []
    for facts in profiles:
        few = facts.counts or (facts.value_type == "list" and facts.items)
        if facts.name not in names and few and facts.value_type != "empty":
            names.append(facts.name)
    return names[:MAX_COUNTED_COLUMNS]


def with_file_counts(facts: ColumnFacts, counts: Counter, rows: int) -> ColumnFacts:
    """The column's facts with counts over the whole file (lists: items counted per row, the
    empty ones under "")."""
    counts = Counter({_keyed(value, facts.class_names) if facts.class_names else value: n
                      for value, n in counts.items()})
    empty = counts.pop("", 0)
    if facts.value_type == "list":
        return _replace(facts, rows=rows, non_empty=rows - empty, counted="file",
                        items=dict(counts.most_common()) if len(counts) <= COUNT_LIMIT else {})
    items: dict[str, int] = {}
    if facts.delimiter:
        split: Counter = Counter()
        for value, n in counts.items():
            for item in split_items(value, facts.delimiter):
                split[item] += n
        items = dict(split.most_common())
    return _replace(facts, rows=rows, non_empty=sum(counts.values()), distinct=len(counts),
                    counts=dict(counts.most_common()) if len(counts) <= COUNT_LIMIT else {},
                    counted="file", items=items or facts.items)


def _replace(facts: ColumnFacts, **changes) -> ColumnFacts:
    from dataclasses import replace

    return replace(facts, **changes)


# ---------------------------------------------------------------------------------------------
# ClassLabel names from the metadata `datasets` writes
# ---------------------------------------------------------------------------------------------

def _names_of(feature: object) -> tuple[str, ...]:
    """A ClassLabel's names, also inside a List / Sequence of ClassLabel (multi-label)."""
    if not isinstance(feature, dict):
        return ()
    if feature.get("_type") == "ClassLabel" and isinstance(feature.get("names"), list):
        return tuple(str(name) for name in feature["names"])
    if feature.get("_type") in {"List", "Sequence", "LargeList"}:
        return _names_of(feature.get("feature"))
    return ()


def class_names_from_metadata(metadata: dict | None) -> dict[str, tuple[str, ...]]:
    """column -> ClassLabel names, from an arrow schema's `huggingface` metadata."""
    raw = (metadata or {}).get(b"huggingface")
    if not raw:
        return {}
    try:
        features = json.loads(raw).get("info", {}).get("features", {})
    except (ValueError, AttributeError):
        return {}
    if not isinstance(features, dict):
        return {}
    return {column: names for column, feature in features.items() if (names := _names_of(feature))}


def class_names_from_folder(folder: Path) -> dict[str, tuple[str, ...]]:
    """The same from a save_to_disk folder's dataset_info.json."""
    for info in (folder / "dataset_info.json", *sorted(folder.glob("*/dataset_info.json"))):
        if info.is_file():
            try:
                features = json.loads(info.read_text(encoding="utf-8")).get("features", {})
            except (ValueError, OSError, AttributeError):
                return {}
            return {column: names for column, feature in features.items()
                    if (names := _names_of(feature))} if isinstance(features, dict) else {}
    return {}
