"""How much each data candidate looks like the project's training data, with the evidence.

Cheap and telling signs only, each with a weight (defaults.DATA_EVIDENCE): a split name, a
data folder, being mentioned by the project's scripts or configs, the number of rows, a text
(and, for classification, a label) column; a place for tests and fixtures counts against.
`trainwright inspect` shows this ranking; selection.py trains on its first entry, and asks
when the first two are about as plausible and hold different data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from trainwright.discovery.models import DataFile
from trainwright.discovery.walk import DATA_DIRS
from trainwright.planning.defaults import DATA_EVIDENCE

FIXTURE_DIRS = {"tests", "fixtures", "fixture", "testdata", "test_data", "mocks", "docs"}


@dataclass(frozen=True)
class Ranked:
    data: DataFile
    score: float
    evidence: tuple[str, ...]  # for people, in the order of the weights


def _folders(data: DataFile) -> tuple[str, ...]:
    first = (data.files or (data.path,))[0]
    return PurePosixPath(first).parts[:-1]


def _rows_text(data: DataFile) -> str:
    rows = f"{data.rows:,} rows" if data.rows is not None else "rows not counted"
    if len(data.files) > 1:
        kind = "shards" if any("-of-" in name for name in data.files) else "files"
        return f"{rows} in {len(data.files)} {kind}"
    return rows


def score(data: DataFile, needs_labels: bool = False) -> Ranked:
    """The weight of the evidence that `data` is training data, and that evidence."""
    weights = {key: value for key, (value, _) in DATA_EVIDENCE.items()}
    points, evidence = 0.0, []
    if data.format == "hub":
        points += weights["hub"]
        evidence.append(f"a Hub dataset, planned from the local datasets cache "
                        f"({data.hub_cache}); train.py loads its {data.split} split by name")
    if data.split == "train":
        points += weights["train_split"]
        evidence.append("named as the training split")
    elif data.split in {"validation", "test"}:
        points += weights["evaluation_split"]
        evidence.append(f"named as the {data.split} split")
    folders = _folders(data)
    data_folder = next((part for part in folders if part.lower() in DATA_DIRS), None)
    if data_folder:
        points += weights["data_folder"]
        evidence.append(f"in a data folder ({data_folder}/)")
    fixture = next((part for part in folders if part.lower() in FIXTURE_DIRS), None)
    if fixture:
        points += weights["fixture_folder"]
        evidence.append(f"in {fixture}/, where tests and fixtures live")
    if data.referenced_by:
        points += weights["referenced"]
        shown = ", ".join(data.referenced_by[:2])
        more = f" and {len(data.referenced_by) - 2} more" if len(data.referenced_by) > 2 else ""
        evidence.append(f"mentioned in {shown}{more}")
    rows = data.rows or 0
    points += min(weights["rows_cap"], weights["rows_per_decade"] * math.log10(rows + 1))
    if rows == 0 and data.rows is not None:
        points += weights["empty"]
    evidence.append(_rows_text(data))
    if data.text_column:
        points += weights["text_column"]
        evidence.append(f"text column '{data.text_column}'")
    if needs_labels and data.label_column:
        points += weights["label_column"]
        evidence.append(f"label column '{data.label_column}'")
    return Ranked(data, round(points, 2), tuple(evidence))


def rank(candidates: Sequence[DataFile], needs_labels: bool = False) -> list[Ranked]:
    """The readable candidates, most plausible first (ties: more rows, then the path)."""
    ranked = [score(data, needs_labels) for data in candidates if data.readable]
    return sorted(ranked, key=lambda r: (-r.score, -(r.data.rows or 0), r.data.path))


def too_close(first: Ranked, second: Ranked) -> bool:
    """Two candidates about as plausible that hold different data: a question, not a pick."""
    same_data = (first.data.columns, first.data.rows, first.data.size_bytes) == \
        (second.data.columns, second.data.rows, second.data.size_bytes)
    return first.score - second.score < DATA_EVIDENCE["ambiguity_margin"][0] and not same_data
