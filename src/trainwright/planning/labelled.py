"""Labelled texts, for classification and LoRA sequence classification: the label checks, the
data section, class weights and the best-model metric."""

from __future__ import annotations

from trainwright.discovery.models import DataFile
from trainwright.errors import UserError
from trainwright.planning.defaults import CLASSIFICATION, default
from trainwright.planning.lengths import LengthRule, max_length
from trainwright.planning.plan import FLAG, Choice, Options
from trainwright.planning.selection import DataSelection, validation_file_choice

IMBALANCE_RATIO = CLASSIFICATION["imbalance_ratio"][0]
LENGTHS = LengthRule(cap=CLASSIFICATION["max_length_cap"][0], multiple=8,
                     minimum=CLASSIFICATION["min_length"], words_without_sample=64,
                     estimate_extra=2)


def check_labels(train: DataFile, options: Options) -> list[str]:
    problems = []
    if train.rows == 0 or (train.rows is None and not train.columns):
        problems.append(f"{train.path} has no data rows")
        return problems
    for role, given in (("text", options.text_column), ("label", options.label_column)):
        if given and given not in train.columns:
            problems.append(f"{train.path} has no {role} column '{given}' (its columns: "
                            f"{', '.join(train.columns)}); pass --{role}-column with one of them")
    if problems:
        return problems
    if not train.text_column:
        problems.append(f"{train.path}: no text column found among "
                        f"{', '.join(train.columns)}; pass --text-column NAME")
    if not train.label_column:
        problems.append(f"{train.path}: no plausible label column among "
                        f"{', '.join(train.columns)} (a label column has a name like 'label' "
                        "or a few distinct short values); pass --label-column NAME")
    elif len(train.label_counts) < 2:
        only = next(iter(train.label_counts), "none")
        problems.append(f"{train.path}: the label column '{train.label_column}' has a single "
                        f"class ('{only}'); classification needs at least two")
    return problems


def sorted_labels(label_counts: dict[str, int]) -> list[str]:
    labels = list(label_counts)
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def imbalance(label_counts: dict[str, int]) -> float:
    return max(label_counts.values()) / min(label_counts.values())


def class_weights(label_counts: dict[str, int], labels: list[str]) -> Choice:
    ratio = imbalance(label_counts)
    if ratio < IMBALANCE_RATIO:
        return Choice(None, f"classes are balanced enough (largest/smallest = {ratio:.1f} < "
                            f"{IMBALANCE_RATIO}); plain cross-entropy",
                      "classes are balanced enough: plain cross-entropy")
    total = sum(label_counts.values())
    weights = {label: round(total / (len(labels) * label_counts[label]), 4) for label in labels}
    return Choice(weights, f"largest/smallest class = {ratio:.1f}: weights n / (k * count) "
                           "(scikit-learn's 'balanced') so rare classes count as much as common "
                           "ones", "n / (k * count), so rare classes count as much as common ones")


def best_metric(label_counts: dict[str, int]) -> tuple[Choice, bool]:
    """macro-F1 on imbalanced classes, accuracy otherwise; always higher is better."""
    if imbalance(label_counts) >= IMBALANCE_RATIO:
        return Choice("f1_macro", "classes are imbalanced: macro-F1 weighs every class equally, "
                                  "accuracy would reward predicting the majority",
                      "imbalanced classes: macro-F1 weighs every class equally"), True
    return Choice("accuracy", "classes are balanced: accuracy is the clearest measure",
                  "balanced classes: accuracy is the clearest measure"), True


def _column_choice(found: str | None, given: str | None, role: str) -> Choice:
    if given:
        return Choice(found, f"given with --{role}-column", f"given with --{role}-column",
                      source=FLAG)
    return Choice(found, f"inferred from the column names and values (override with "
                         f"--{role}-column)", f"inferred from the data; --{role}-column overrides")


def labelled_data_section(selection: DataSelection, options: Options, model, token_lengths
                          ) -> dict[str, Choice]:
    """The data section of a labelled-text run; a UserError names every problem."""
    train, validation, test = selection.train, selection.validation, selection.test
    problems = check_labels(train, options)
    if problems:
        raise UserError("The data cannot be used for classification:",
                        "fix the data file, or point trainwright at the right columns with "
                        "--text-column and --label-column.", problems=problems)
    labels = sorted_labels(train.label_counts)
    rows = train.rows or sum(train.label_counts.values())
    split = ("named as the training split" if train.split == "train" else
             "the largest labelled file in the project")
    return {
        "train_file": Choice(train.path, f"{rows:,} rows; {split}", split),
        "validation_file": validation_file_choice(validation, "the training file"),
        "test_file": Choice(test.path if test else None,
                            "evaluated once after training" if test else
                            "no test split in the project"),
        "text_column": _column_choice(train.text_column, options.text_column, "text"),
        "label_column": _column_choice(train.label_column, options.label_column, "label"),
        "labels": Choice(labels, "id order of the classes: "
                         + ", ".join(f"{label} ({train.label_counts[label]:,})"
                                     for label in labels), "the classes, in id order"),
        "validation_fraction": default(CLASSIFICATION, "validation_fraction"),
        "max_length": max_length(train, model, token_lengths, LENGTHS, "texts"),
    }

