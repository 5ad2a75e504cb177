"""Labelled texts, for classification and LoRA sequence classification: the label checks, the
data section, the loss weights and the best-model metric of each kind of label.

The columns and the kind come from label_columns.py; this module turns them into the data and
loss sections."""

from __future__ import annotations

from trainwright.discovery.models import DataFile
from trainwright.errors import UserError
from trainwright.planning.defaults import CLASSIFICATION, default
from trainwright.planning.label_columns import (
    INFERRED,
    LABEL_KINDS,
    MULTI_LABEL,
    REGRESSION,
    SINGLE_LABEL,
    LabelledColumns,
    check_class_rows,
    choose_columns,
    class_counts,
    column_of,
    counts_text,
    sorted_labels,
    stratified_fraction,
)
from trainwright.planning.lengths import LengthRule, max_length
from trainwright.planning.plan import Choice, Options
from trainwright.planning.selection import (
    DataSelection,
    test_file_choice,
    train_file_choice,
    validation_file_choice,
)

__all__ = ["best_metric", "class_weights", "has_class_label_ids", "labelled_data_section",
           "planned_counts", "pos_weight", "sorted_labels"]

IMBALANCE_RATIO = CLASSIFICATION["imbalance_ratio"][0]
LENGTHS = LengthRule(cap=CLASSIFICATION["max_length_cap"][0], multiple=8,
                     minimum=CLASSIFICATION["min_length"], words_without_sample=64,
                     estimate_extra=2)


def check_labels(train: DataFile, options: Options) -> list[str]:
    """What keeps the file from being read as labelled texts at all: no rows, or a column
    given with a flag that it does not have."""
    if train.rows == 0 or (train.rows is None and not train.columns):
        return [f"{train.path} has no data rows"]
    return [f"{train.path} has no {role} column '{given}' (its columns: "
            f"{', '.join(train.columns)}); pass --{role}-column with one of them"
            for role, given in (("text", options.text_column), ("label", options.label_column))
            if given and given not in train.columns]


def imbalance(label_counts: dict[str, int]) -> float:
    return max(label_counts.values()) / max(1, min(label_counts.values()))


def class_weights(label_counts: dict[str, int], labels: list[str]) -> Choice:
    ratio = imbalance(label_counts)
    if ratio < IMBALANCE_RATIO:
        return Choice(None, f"classes are balanced enough (largest/smallest = {ratio:.1f} < "
                            f"{IMBALANCE_RATIO}); plain cross-entropy",
                      "classes are balanced enough: plain cross-entropy")
    total = sum(label_counts.values())
    weights = {label: round(total / (len(labels) * max(1, label_counts.get(label, 0))), 4)
               for label in labels}
    return Choice(weights, f"largest/smallest class = {ratio:.1f}: weights n / (k * count) "
                           "(scikit-learn's 'balanced') so rare classes count as much as common "
                           "ones", "n / (k * count), so rare classes count as much as common ones")


def pos_weight(label_counts: dict[str, int], rows: int) -> Choice:
    """Multi-label: BCEWithLogitsLoss's pos_weight, negatives / positives of each label."""
    cap = CLASSIFICATION["max_pos_weight"]
    weights = {label: round(min(cap, (rows - count) / max(1, count)), 4)
               for label, count in label_counts.items()}
    rarest = min(label_counts, key=label_counts.get)
    return Choice(weights, f"negatives / positives of each label over {rows:,} rows (the rarest "
                           f"label, '{rarest}', is in {label_counts[rarest]:,}): the positives "
                           "of a rare label count as much as its negatives; capped at "
                           f"{cap:g}", "negatives / positives of each label, from the counts")


def best_metric(label_counts: dict[str, int], kind: str = SINGLE_LABEL) -> tuple[Choice, bool]:
    """The metric the best checkpoint is judged by, and whether higher is better."""
    if kind == REGRESSION:
        return Choice("rmse", "regression: root mean squared error, in the target's units, the "
                              "square root of the loss trained on", "regression: RMSE, in the "
                                                                     "target's units"), False
    if kind == MULTI_LABEL:
        if imbalance(label_counts) >= IMBALANCE_RATIO:
            return Choice("f1_macro", "labels of unequal frequency: macro-F1 weighs every label "
                                      "equally, micro-F1 would follow the frequent ones",
                          "unequal labels: macro-F1 weighs every label equally"), True
        return Choice("f1_micro", "labels of similar frequency: micro-F1 over every yes/no "
                                  "decision", "similar labels: micro-F1 over every decision"), True
    if imbalance(label_counts) >= IMBALANCE_RATIO:
        return Choice("f1_macro", "classes are imbalanced: macro-F1 weighs every class equally, "
                                  "accuracy would reward predicting the majority",
                      "imbalanced classes: macro-F1 weighs every class equally"), True
    return Choice("accuracy", "classes are balanced: accuracy is the clearest measure",
                  "balanced classes: accuracy is the clearest measure"), True


def planned_counts(train: DataFile, data: dict[str, Choice]) -> dict[str, int]:
    """Rows per class (per label for multi-label) of the planned label column, in the order of
    data.labels; {} for regression."""
    kind = data["label_kind"].value if "label_kind" in data else SINGLE_LABEL
    facts = column_of(train, data["label_column"].value)
    if kind == REGRESSION or facts is None:
        return {}
    counts = class_counts(facts, kind)
    labels = [str(label) for label in data["labels"].value]
    return {label: counts.get(label, 0) for label in labels}


def has_class_label_ids(train: DataFile, data: dict[str, Choice]) -> bool:
    """Whether the planned label column stores ClassLabel ids that the script names."""
    facts = column_of(train, data["label_column"].value)
    return bool(facts and facts.class_names)


def _labels_choice(columns: LabelledColumns, counts: dict[str, int]) -> Choice:
    facts = columns.facts
    listed = ", ".join(f"{label} ({count:,})" for label, count in counts.items())
    if facts.class_names:
        return Choice(list(counts), f"the ClassLabel names stored with the data, in their id "
                                    f"order: {listed}", "the classes, in id order")
    if columns.kind.value == MULTI_LABEL:
        return Choice(list(counts), f"the labels, one output each, with the rows that have "
                                    f"them: {listed}", "the labels, one output each")
    return Choice(list(counts), f"id order of the classes: {listed}", "the classes, in id order")


def _fraction(selection: DataSelection, kind: str, counts: dict[str, int], rows: int) -> Choice:
    fraction = default(CLASSIFICATION, "validation_fraction")
    if selection.validation is not None:
        return fraction
    if kind == SINGLE_LABEL:
        return stratified_fraction(selection.train, counts, rows, fraction)
    how = ("at random: rows with several labels cannot be stratified by one"
           if kind == MULTI_LABEL else "at random")
    return Choice(fraction.value, f"{fraction.value:.0%} of the training rows, {how}, when the "
                  "project has no validation split", "share of the training rows held out "
                  "without a split")


def labelled_data_section(selection: DataSelection, options: Options, model, token_lengths,
                          kinds: tuple[str, ...] = LABEL_KINDS) -> dict[str, Choice]:
    """The data section of a labelled-text run; a UserError names every problem, an
    AmbiguousChoice the candidates of a column nothing singles out."""
    train, validation, test = selection.train, selection.validation, selection.test
    problems = check_labels(train, options)
    if problems:
        raise UserError("The data cannot be used for classification:",
                        "fix the data file, or point trainwright at the right columns with "
                        "--text-column and --label-column.", problems=problems)
    columns = choose_columns(train, options)
    kind = columns.kind.value
    if kind not in kinds:
        raise UserError(f"{train.path}: '{columns.label.value}' is a {kind} target "
                        f"({columns.kind.reason.removeprefix(INFERRED).split(';')[0]}); "
                        "fine-tuning's sequence "
                        "classification trains one class a row.",
                        "use `trainwright init classification`, which plans regression and "
                        "multi-label runs end to end.")
    counts = class_counts(columns.facts, kind) if kind != REGRESSION else {}
    if counts:
        check_class_rows(train, columns, counts)
    rows = train.rows or sum(counts.values())
    section = {
        "train_file": train_file_choice(selection, f"{rows:,} rows"),
        "validation_file": validation_file_choice(validation, "the training file"),
        "test_file": test_file_choice(test),
        "text_column": columns.text,
        "label_column": columns.label,
    }
    if len(kinds) > 1:
        section["label_kind"] = columns.kind
    if counts:
        section["labels"] = _labels_choice(columns, counts)
    if kind == MULTI_LABEL and columns.facts.delimiter:
        section["label_delimiter"] = Choice(
            columns.facts.delimiter, f"each value of '{columns.label.value}' lists its labels "
            f"separated by '{columns.facts.delimiter}'", "separates the labels of a row")
    section["validation_fraction"] = _fraction(selection, kind, counts, rows)
    section["max_length"] = max_length(train, model, token_lengths, LENGTHS, "texts")
    return section


def class_summary(train: DataFile, data: dict[str, Choice]) -> str:
    """The classes (or labels, or the target's range) in one line, for README-TRAINING.md."""
    kind = data["label_kind"].value if "label_kind" in data else SINGLE_LABEL
    if kind == REGRESSION:
        facts = column_of(train, data["label_column"].value)
        numbers = facts.numbers if facts else None
        if numbers is None:
            return "a numeric target"
        return (f"a numeric target from {numbers.minimum:g} to {numbers.maximum:g} (mean "
                f"{numbers.mean:.3g}, std {numbers.std:.3g} in the sample)")
    counts = planned_counts(train, data)
    return counts_text(dict(sorted(counts.items(), key=lambda item: -item[1])),
                       "labels" if kind == MULTI_LABEL else "classes")
