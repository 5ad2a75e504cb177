"""Which columns hold the text and the label, and what kind of label it is: ranked from the
column facts discovery measured, each choice with its evidence and the flag that overrides it.

A column named like a label wins and the other candidates are named in its reason; when no
column is and several qualify, the choice is ambiguous (the CLI asks, or stops with exit 2 and
the candidates). A column that cannot be a label (an identifier, free text, a single value,
classes with too few rows) is a UserError with its numbers, never a plausible-looking plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainwright.discovery.models import ColumnFacts, DataFile
from trainwright.errors import AmbiguousChoice, Candidate, UserError
from trainwright.planning.defaults import LABELS
from trainwright.planning.plan import FLAG, Choice, Options

SINGLE_LABEL, MULTI_LABEL, REGRESSION = "single-label", "multi-label", "regression"
LABEL_KINDS = (SINGLE_LABEL, MULTI_LABEL, REGRESSION)
KIND_FLAG = "--label-kind"

MAX_CLASSES = LABELS["max_classes"]
NUMERIC_CLASS_LIMIT = LABELS["numeric_class_limit"]
IDENTIFIER_SHARE = LABELS["identifier_share"]
IDENTIFIER_MIN_ROWS = LABELS["identifier_min_rows"]
MAX_LABEL_WORDS = LABELS["max_label_words"]
MIN_TEXT_WORDS = LABELS["min_text_words"]
SHOWN_CLASSES = 5
INFERRED = "inferred from the data: "
TEXT_COMMENT = "the column of texts; --text-column overrides"
LABEL_COMMENT = "the column of labels; --label-column overrides"


@dataclass(frozen=True)
class Assessment:
    """What one column's values make of it as a label: a kind, or why it is none."""

    column: ColumnFacts
    kind: str | None  # single-label | multi-label | regression; None: not a label
    evidence: str  # "4 classes: billing 120, tech 95, ..." or why it is no label


@dataclass(frozen=True)
class LabelledColumns:
    """The planned text column, label column and label kind, and the chosen label's facts."""

    text: Choice
    label: Choice
    kind: Choice
    facts: ColumnFacts


def columns_of(train: DataFile) -> tuple[ColumnFacts, ...]:
    """The file's column facts. A DataFile built without them (by a library caller) has its
    text and label columns as facts of its counts, the label as if named like one."""
    if train.column_facts:
        return train.column_facts
    rows = train.rows or sum(train.label_counts.values())
    facts = []
    if train.text_column:
        words = float(train.text_length_words.get("p50", MIN_TEXT_WORDS))
        facts.append(ColumnFacts(train.text_column, "text", rows, rows, rows, {}, "file", words,
                                 "text", 0))
    if train.label_column:
        counts = dict(train.label_counts)
        facts.append(ColumnFacts(train.label_column, "text", rows, sum(counts.values()),
                                 len(counts), counts, "file", 1.0, "label", 0))
    return tuple(facts)


def column_of(train: DataFile, name: str | None) -> ColumnFacts | None:
    return next((facts for facts in columns_of(train) if facts.name == name), None)


# ---------------------------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------------------------

def counts_text(counts: dict[str, int], noun: str = "classes") -> str:
    shown = ", ".join(f"{value} {count:,}" for value, count in list(counts.items())[:SHOWN_CLASSES])
    return f"{len(counts):,} {noun}: {shown}{', ...' if len(counts) > SHOWN_CLASSES else ''}"


def _where(column: ColumnFacts) -> str:
    return "" if column.counted == "file" else f" (in a sample of {column.rows:,} rows)"


def _numbers_text(column: ColumnFacts) -> str:
    numbers = column.numbers
    assert numbers is not None
    return (f"numbers from {numbers.minimum:g} to {numbers.maximum:g} (mean {numbers.mean:.3g}, "
            f"std {numbers.std:.3g}), {column.distinct:,} distinct values in "
            f"{column.non_empty:,} rows")


def _identifier(column: ColumnFacts) -> bool:
    if column.name_role == "identifier" and column.value_type in {"integer", "text"}:
        return True
    return (column.value_type in {"integer", "text", "mixed"}
            and column.non_empty >= IDENTIFIER_MIN_ROWS
            and column.unique_share >= IDENTIFIER_SHARE)


def _identifier_text(column: ColumnFacts) -> str:
    return (f"{column.distinct:,} distinct values in {column.non_empty:,} rows: nearly every "
            "value is unique, like an identifier")


# ---------------------------------------------------------------------------------------------
# One column as a label
# ---------------------------------------------------------------------------------------------

def assess(column: ColumnFacts, kind: str | None = None) -> Assessment:
    """The column as a label of the given kind, or of the kind its values call for."""
    if column.non_empty == 0:
        return Assessment(column, None, "has no values")
    if kind == REGRESSION:
        return _as_regression(column)
    if kind == MULTI_LABEL:
        return _as_multi_label(column)
    if kind == SINGLE_LABEL:
        return _as_single_label(column)
    if column.value_type == "list" or (column.delimiter and not column.class_names):
        return _as_multi_label(column)
    if column.class_names or column.value_type == "boolean":
        return _as_single_label(column)
    if column.value_type in {"integer", "float"} and column.numbers is not None:
        if column.distinct <= NUMERIC_CLASS_LIMIT:
            return _as_single_label(column)
        if column.value_type == "integer" and _identifier(column):
            return Assessment(column, None, _identifier_text(column))
        return _as_regression(column)
    return _as_single_label(column)


def _as_single_label(column: ColumnFacts) -> Assessment:
    if column.value_type == "list":
        return Assessment(column, None, "holds lists of labels, not one label a row "
                                        f"(pass {KIND_FLAG} multi-label)")
    if column.mean_words > MAX_LABEL_WORDS:
        return Assessment(column, None, f"free text ({column.mean_words:.0f} words a value on "
                                        "average), not labels")
    if not column.class_names and _identifier(column):
        return Assessment(column, None, _identifier_text(column))
    if not column.counts:
        return Assessment(column, None, f"more than {MAX_CLASSES} distinct values: too many "
                                        "classes")
    counts = column.counts
    if len(counts) > MAX_CLASSES:
        return Assessment(column, None, f"{len(counts):,} distinct values: more classes than "
                                        f"the {MAX_CLASSES} a classifier is planned for")
    if len(counts) < 2 and not column.class_names:
        only = next(iter(counts), "none")
        return Assessment(column, None, f"a single class ('{only}') in every row: "
                                        "classification needs at least two")
    named = f"ClassLabel names; {counts_text(counts)}" if column.class_names else \
        counts_text(counts)
    return Assessment(column, SINGLE_LABEL, named + _where(column))


def _as_multi_label(column: ColumnFacts) -> Assessment:
    if column.value_type != "list" and not column.delimiter:
        return Assessment(column, None, "holds one value a row, neither lists nor labels "
                                        "joined by a delimiter such as '|'")
    items = column.items
    if not items:
        return Assessment(column, None, f"lists of more than {MAX_CLASSES} distinct labels")
    if len(items) > MAX_CLASSES:
        return Assessment(column, None, f"{len(items):,} distinct labels: more than the "
                                        f"{MAX_CLASSES} a classifier is planned for")
    if len(items) < 2:
        return Assessment(column, None, f"a single label ('{next(iter(items))}') in its lists")
    how = ("lists of labels" if column.value_type == "list" else
           f"labels joined by '{column.delimiter}' ({column.delimited_share:.0%} of the rows "
           "hold several)")
    return Assessment(column, MULTI_LABEL, f"{how}: {counts_text(items, 'labels')} "
                                           f"({column.distinct:,} combinations){_where(column)}")


def _as_regression(column: ColumnFacts) -> Assessment:
    if column.value_type not in {"integer", "float"} or column.numbers is None:
        return Assessment(column, None, f"holds {column.value_type} values, not numbers: "
                                        "regression needs a numeric target")
    if column.numbers.std == 0:
        return Assessment(column, None, f"the same number ({column.numbers.minimum:g}) in "
                                        "every row")
    return Assessment(column, REGRESSION, _numbers_text(column))


# ---------------------------------------------------------------------------------------------
# The text column
# ---------------------------------------------------------------------------------------------

def _text_candidates(train: DataFile) -> list[ColumnFacts]:
    return [column for column in columns_of(train)
            if column.value_type == "text" and column.mean_words >= MIN_TEXT_WORDS]


def choose_text(train: DataFile, options: Options) -> Choice:
    """The column discovery measured as the text (a usual text name, else the one with the
    most words) unless another is as plausible."""
    flag = "--text-column"
    if options.text_column:
        return Choice(options.text_column, f"given with {flag}", f"given with {flag}",
                      source=FLAG)
    measured = column_of(train, train.text_column)
    if measured is None:
        raise UserError(f"{train.path}: no text column among {', '.join(train.columns)} (a text "
                        "column holds sentences: several words a row).",
                        f"pass {flag} NAME.")
    others = [c for c in _text_candidates(train) if c.name != measured.name]
    words = f"{measured.mean_words:.0f} words a row on average"
    listed = ", ".join(f"{c.name} ({c.mean_words:.0f} words)" for c in others)
    also = f"; other text columns: {listed}" if others else ""
    if measured.name_role == "text":
        return Choice(measured.name, f"{INFERRED}named like a text column, {words}{also}; "
                      f"{flag} overrides", TEXT_COMMENT)
    rivals = [c for c in others if c.name_role != "identifier"
              and c.mean_words * 2 > measured.mean_words]
    if rivals:
        raise AmbiguousChoice(
            f"Which column of {train.path} holds the text", "text_column", flag,
            [Candidate(c.name, f"{c.mean_words:.0f} words a row on average")
             for c in (measured, *rivals)])
    return Choice(measured.name, f"{INFERRED}the column with the most words ({words}){also}; "
                  f"{flag} overrides", TEXT_COMMENT)


# ---------------------------------------------------------------------------------------------
# The label column and its kind
# ---------------------------------------------------------------------------------------------

def _not_a_label(train: DataFile, assessment: Assessment, how: str) -> UserError:
    name = assessment.column.name
    fix = "pass --label-column with the column that holds the label"
    if assessment.column.value_type in {"integer", "float"}:
        fix += f", or {KIND_FLAG} regression if '{name}' is a quantity to predict"
    return UserError(f"{train.path}: the label column '{name}' ({how}) cannot be trained on: "
                     f"{assessment.evidence}.", fix + ".")


def choose_label(train: DataFile, text_column: str, options: Options
                 ) -> tuple[Assessment, Choice]:
    flag = "--label-column"
    columns = [c for c in columns_of(train) if c.name != text_column]
    if options.label_column:
        column = column_of(train, options.label_column)
        assert column is not None  # a missing column was reported before
        assessment = assess(column, options.label_kind)
        if assessment.kind is None:
            raise _not_a_label(train, assessment, f"given with {flag}")
        return assessment, Choice(column.name, f"given with {flag}; {assessment.evidence}",
                                  f"given with {flag}", source=FLAG)
    assessed = [assess(column, options.label_kind) for column in columns]
    qualified = [a for a in assessed if a.kind]
    named = sorted((a for a in assessed if a.column.name_role == "label"),
                   key=lambda a: a.column.name_rank or 0)
    if named:
        pick = named[0]
        if pick.kind is None:
            raise _not_a_label(train, pick, "named like a label")
        others = [a for a in qualified if a is not pick]
        also = ("; other candidates: " + "; ".join(f"{a.column.name} ({a.evidence})"
                                                   for a in others) if others else "")
        return pick, Choice(pick.column.name, f"{INFERRED}named like a label; "
                            f"{pick.evidence}{also}; {flag} overrides", LABEL_COMMENT)
    if len(qualified) > 1:
        raise AmbiguousChoice(f"Which column of {train.path} holds the label", "label_column",
                              flag, [Candidate(a.column.name, a.evidence) for a in qualified])
    if not qualified:
        raise UserError(f"{train.path}: no plausible label column among "
                        f"{', '.join(train.columns)} (a label column has a name like 'label', a "
                        "few distinct short values, lists of labels, or numbers):",
                        f"pass {flag} NAME (and {KIND_FLAG} regression for a numeric target), "
                        "or add a label column.",
                        problems=[f"{a.column.name}: {a.evidence}" for a in assessed]
                        or [f"the only column is the text ('{text_column}')"])
    pick = qualified[0]
    rejected = [a for a in assessed if a.kind is None]
    why_not = ("; not labels: " + "; ".join(f"{a.column.name} ({a.evidence})" for a in rejected)
               if rejected else "")
    return pick, Choice(pick.column.name, f"{INFERRED}the only column whose values can be a "
                        f"label: {pick.evidence}{why_not}; {flag} overrides", LABEL_COMMENT)


def label_candidates(train: DataFile) -> tuple[list[Assessment], bool]:
    """The columns that can be the label (besides the measured text column), the one named
    like a label first; and whether a name singles it out (else init asks among several)."""
    assessed = [assess(column) for column in columns_of(train)
                if column.name != train.text_column]
    qualified = [a for a in assessed if a.kind]
    named = sorted((a for a in qualified if a.column.name_role == "label"),
                   key=lambda a: a.column.name_rank or 0)
    if named:
        return [named[0], *(a for a in qualified if a is not named[0])], True
    return qualified, False


KIND_REASONS = {
    SINGLE_LABEL: "single-label: one class a row, a softmax over the classes and cross-entropy",
    MULTI_LABEL: "multi-label: any number of labels a row, one yes/no output per label and "
                 "binary cross-entropy",
    REGRESSION: "regression: a quantity to predict, one output and mean squared error",
}


def kind_choice(assessment: Assessment, options: Options) -> Choice:
    kind = assessment.kind
    assert kind is not None
    comment = f"the script is written for this kind; init {KIND_FLAG} changes it"
    if options.label_kind:
        return Choice(kind, f"given with {KIND_FLAG}: {KIND_REASONS[kind]}", comment,
                      source=FLAG)
    column = assessment.column
    if kind == REGRESSION:
        why = (f"'{column.name}' holds {_numbers_text(column)}: more than "
               f"{NUMERIC_CLASS_LIMIT} values make a quantity to predict, not classes")
    elif kind == MULTI_LABEL:
        why = (f"'{column.name}' holds {assessment.evidence.split(':')[0]}: each row may have "
               "several labels, so the combinations are not classes")
    else:
        why = f"'{column.name}' holds one of {len(column.counts):,} values a row"
    return Choice(kind, f"{INFERRED}{why}; {KIND_REASONS[kind]}; {KIND_FLAG} overrides",
                  comment)


def choose_columns(train: DataFile, options: Options) -> LabelledColumns:
    """The text column, the label column and the label's kind, with their evidence."""
    text = choose_text(train, options)
    assessment, label = choose_label(train, text.value, options)
    return LabelledColumns(text, label, kind_choice(assessment, options), assessment.column)


# ---------------------------------------------------------------------------------------------
# What each kind needs of the rows
# ---------------------------------------------------------------------------------------------

def class_counts(facts: ColumnFacts, kind: str) -> dict[str, int]:
    """Rows per class (single-label) or per label (multi-label), in id order of the plan."""
    if kind == MULTI_LABEL:
        if facts.class_names:
            return {name: facts.items.get(name, 0) for name in facts.class_names}
        return {label: facts.items[label] for label in sorted_labels(facts.items)}
    if facts.class_names:
        return {name: facts.counts.get(name, 0) for name in facts.class_names}
    return {label: facts.counts[label] for label in sorted_labels(facts.counts)}


def sorted_labels(label_counts: dict[str, int]) -> list[str]:
    labels = list(label_counts)
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def check_class_rows(train: DataFile, columns: LabelledColumns, counts: dict[str, int]) -> None:
    """Every class (or label) needs rows to learn from and to split by."""
    minimum = LABELS["min_class_rows"]
    rare = {label: count for label, count in counts.items() if count < minimum}
    if not rare:
        return
    noun = "labels" if columns.kind.value == MULTI_LABEL else "classes"
    shown = ", ".join(f"{label} {count:,}" for label, count in list(rare.items())[:10])
    raise UserError(
        f"{train.path}: {len(rare):,} of the {len(counts):,} {noun} of '{columns.label.value}' "
        f"have fewer than {minimum} rows ({shown}{', ...' if len(rare) > 10 else ''}): a class "
        "needs rows to be learned from, and at least 2 to be split between training and "
        "validation.",
        f"add rows for those {noun}, merge them into others or drop them; or pass "
        "--label-column with another column.")


def stratified_fraction(train: DataFile, counts: dict[str, int], rows: int,
                        default: Choice) -> Choice:
    """The share of the training rows held out (stratified) when the project has no
    validation split: enough for one row of every class in each part."""
    classes = len(counts)
    held_out = math.ceil(default.value * rows)
    if held_out >= classes and rows - held_out >= classes:
        return default
    fraction = math.ceil(classes / rows * 20) / 20  # the next multiple of 5 %
    if fraction > LABELS["max_validation_fraction"] or rows - math.ceil(fraction * rows) < classes:
        raise UserError(
            f"{train.path}: {rows:,} rows are too few to hold out a stratified validation split "
            f"of {classes:,} classes (one row of each class in each part needs at least "
            f"{classes:,} rows held out, {classes / rows:.0%} of the data).",
            "add a validation file (named like validation.csv) or more rows, or merge rare "
            "classes.")
    return Choice(fraction, f"{classes:,} classes in {rows:,} rows: {fraction:.0%} of the rows "
                  f"(stratified) hold out at least one row of every class; "
                  f"{default.value:.0%} would hold out {held_out:,}",
                  default.comment)
