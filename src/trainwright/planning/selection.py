"""Which data files train, validate and test: chosen once per init and passed along."""

from __future__ import annotations

from dataclasses import dataclass

from trainwright.discovery.models import DataFile, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning.plan import Choice


@dataclass(frozen=True)
class DataSelection:
    train: DataFile
    validation: DataFile | None
    test: DataFile | None
    objective: Choice | None = None  # fine-tuning: what the data calls for (sft, ...)


def select_splits(facts: ProjectFacts, needs_labels: bool
                  ) -> tuple[DataFile, DataFile | None, DataFile | None]:
    """Choose the train / validation / test files; raise a UserError naming every problem."""
    if not facts.data:
        raise UserError(
            f"No data files found in {facts.root} (looked for csv, tsv, json, jsonl, parquet, "
            "txt and save_to_disk folders at the root and under data/ or datasets/).",
            "put the data under data/ or pass it with --data path/to/train.csv.",
        )
    usable = [data for data in facts.data if data.readable]
    if not usable:
        unreadable = [str(problem) for data in facts.data for problem in data.problems]
        raise UserError("No data file can be read:", "pass a CSV, JSON Lines or Parquet file "
                        "with --data.", problems=unreadable)
    by_split = {split: [d for d in usable if d.split == split]
                for split in ("train", "validation", "test")}
    train = by_split["train"] or [d for d in usable if d.split is None] or usable
    labelled = [d for d in train if d.label_column] if needs_labels else train
    train_file = max(labelled or train, key=lambda d: (d.rows or 0, d.size_bytes))
    validation = by_split["validation"][0] if by_split["validation"] else None
    test = by_split["test"][0] if by_split["test"] else None
    return train_file, validation, test


def select_data(task: str, facts: ProjectFacts) -> DataSelection:
    from trainwright.planning.fine_tuning.objective import objective_of

    train, validation, test = select_splits(facts, needs_labels=task == "classification")
    objective = objective_of(train) if task == "fine-tuning" else None
    return DataSelection(train, validation, test, objective)


def validation_file_choice(validation: DataFile | None, carved_from: str) -> Choice:
    if validation:
        return Choice(validation.path, "the project's validation split",
                      "the project's validation split")
    return Choice(None, f"none in the project: carved from {carved_from}",
                  f"none in the project: carved from {carved_from}")
