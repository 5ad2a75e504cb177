"""Which data files train, validate and test: chosen once per init and passed along."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from trainwright.discovery.data import SPLIT_WORDS
from trainwright.discovery.models import DataFile, DataProblem, DataShape, ProjectFacts
from trainwright.errors import AmbiguousChoice, Candidate, UserError
from trainwright.planning.defaults import DATA_EVIDENCE
from trainwright.planning.plan import FLAG, IMPORTED, PLANNED, Choice, Options
from trainwright.planning.ranking import Ranked, rank, too_close


@dataclass(frozen=True)
class DataSelection:
    train: DataFile
    validation: DataFile | None
    test: DataFile | None
    objective: Choice | None = None  # fine-tuning: what the data calls for (sft, ...)
    shape: DataShape | None = None  # fine-tuning: the reading of the rows that trains
    why: str = ""  # the evidence for the training data, and the flag that overrides it

    @property
    def sample_texts(self) -> tuple[str, ...]:
        """The sampled examples whose token lengths size the run: the chosen reading's whole
        examples, else the training file's texts."""
        if self.shape is not None and self.shape.sample_texts:
            return self.shape.sample_texts
        return self.train.sample_texts


@dataclass(frozen=True)
class Splits:
    train: DataFile
    validation: DataFile | None
    test: DataFile | None
    why: str  # the evidence for the training data and the flag that overrides it


NOT_FOUND_FIX = ("pass the data with --data: a file, a folder, a quoted glob "
                 "('data/train-*.parquet') or a Hub dataset name (owner/name); repeat it for "
                 "each split.")


def choose_splits(facts: ProjectFacts, needs_labels: bool, given: bool = False) -> Splits:
    """The train / validation / test data: the most plausible training candidate (a question
    when two are about as plausible), and the evaluation splits of the same dataset."""
    if not facts.data:
        raise UserError(
            f"No data files found in {facts.root} (looked for csv, tsv, json, jsonl, parquet, "
            "txt, arrow and save_to_disk folders anywhere in the project, skipping .git, "
            "virtual environments, node_modules, caches and output folders).", NOT_FOUND_FIX,
            problems=list(facts.notes))
    not_cached = [d for d in facts.data if any(p.kind == DataProblem.NOT_CACHED
                                                for p in d.problems)]
    if not_cached:
        name = not_cached[0].path
        raise UserError(
            "A Hub dataset cannot be planned offline:", "download it once where the Hub can "
            f"be reached (`python -c \"import datasets; datasets.load_dataset('{name}')\"` "
            "fills the local cache), or pass local files with --data.",
            problems=[str(p) for d in not_cached for p in d.problems])
    usable = [data for data in facts.data if data.readable]
    if not usable:
        unreadable = [str(problem) for data in facts.data for problem in data.problems]
        raise UserError("No data file can be read:", "pass a CSV, JSON Lines or Parquet file "
                        "with --data.", problems=unreadable)
    pool = [d for d in usable if d.split in ("train", None)] or usable
    ranked = rank(pool, needs_labels)
    if len(ranked) > 1 and too_close(ranked[0], ranked[1]):
        margin = DATA_EVIDENCE["ambiguity_margin"][0]
        close = [r for r in ranked if ranked[0].score - r.score < margin]
        raise AmbiguousChoice("Which data trains the model", "data_paths", "--data",
                              [Candidate(r.data.path, f"score {r.score:g}: "
                                         + "; ".join(r.evidence)) for r in close[:6]])
    train = ranked[0].data
    return Splits(train, _partner(usable, train, "validation"), _partner(usable, train, "test"),
                  _why(ranked, given))


def _why(ranked: list[Ranked], given: bool) -> str:
    first = ranked[0]
    evidence = "; ".join(first.evidence)
    if given:
        return f"given with --data ({evidence})"
    if len(ranked) == 1:
        return f"the only candidate for training in the project ({evidence}); --data overrides"
    second = ranked[1]
    return (f"the most plausible of {len(ranked)} data candidates ({evidence}: score "
            f"{first.score:g}; next {second.data.path}, score {second.score:g}; "
            "`trainwright inspect` ranks them all); --data overrides")


def dataset_of(data: DataFile) -> str:
    """The dataset a split belongs to: a Hub name, or the folder of its files (the folder
    above, for split folders such as data/train/)."""
    if data.format == "hub":
        return data.path
    folder = PurePosixPath((data.files or (data.path,))[0]).parent
    return str(folder.parent if folder.name.lower() in SPLIT_WORDS else folder)


def _partner(usable: list[DataFile], train: DataFile, split: str) -> DataFile | None:
    """The validation or test split of the training data's dataset, with the columns that
    train."""
    shape = train.shape.columns if train.shape else ()
    needed = {c for c in (train.text_column, train.label_column, *shape) if c} or \
        set(train.columns)
    found = [d for d in usable if d.split == split and d is not train
             and needed <= set(d.columns) and (d.format == "hub") == (train.format == "hub")]
    same = [d for d in found if dataset_of(d) == dataset_of(train)]
    if same:
        return max(same, key=lambda d: (d.format == train.format, d.rows or 0))
    if train.format != "hub" and len(found) == 1:
        return found[0]  # the project's one validation (or test) file, with the same columns
    return None


def select_splits(facts: ProjectFacts, needs_labels: bool
                  ) -> tuple[DataFile, DataFile | None, DataFile | None]:
    """Choose the train / validation / test files; raise a UserError naming every problem."""
    splits = choose_splits(facts, needs_labels)
    return splits.train, splits.validation, splits.test


def select_data(task: str, facts: ProjectFacts, options: Options | None = None
                ) -> DataSelection:
    from trainwright.planning.fine_tuning.formats import choose_shape
    from trainwright.planning.fine_tuning.objective import objective_of

    splits = choose_splits(facts, task == "classification", bool(options and options.data_paths))
    if options and options.data_from:  # the paths came from a config of another tool
        splits = replace(splits, why=splits.why.replace(
            "given with --data", f"{options.data_from}; --data overrides", 1))
    train, validation, test = splits.train, splits.validation, splits.test
    if task != "fine-tuning":
        return DataSelection(train, validation, test, why=splits.why)
    shape = choose_shape(train, options or Options())
    return DataSelection(train, validation, test, objective_of(train, shape), shape,
                         why=splits.why)


def _split_text(data: DataFile) -> str:
    if data.format == "hub":
        return f"{data.rows or 0:,} rows, loaded by name from the Hub dataset"
    files = f" in {len(data.files)} files" if len(data.files) > 1 else ""
    return f"{data.rows or 0:,} rows{files}"


def train_file_choice(selection: DataSelection, amount: str, comment: str = "") -> Choice:
    """data.train_file: the path, glob or list of the training data; `amount` says how much
    it holds for the task (rows, examples, tokens), `comment` what it is."""
    train = selection.train
    comment = comment or ("the training split" if train.split == "train" else
                          "the training data")
    source = (FLAG if selection.why.startswith("given with --data") else
              IMPORTED if selection.why.startswith("from ") else PLANNED)
    return Choice(train.location, f"{amount}; {selection.why}" if selection.why else amount,
                  f"{comment}; all of its files are loaded" if len(train.files) > 1 else comment,
                  source=source)


SPLIT_OVERRIDE = "--data, once per split, overrides"


def validation_file_choice(validation: DataFile | None, carved_from: str) -> Choice:
    if validation:
        return Choice(validation.location, f"the project's validation split "
                                           f"({_split_text(validation)}; named as the validation "
                                           f"split of the training data); {SPLIT_OVERRIDE}",
                      "the project's validation split")
    return Choice(None, f"none in the project: carved from {carved_from}; {SPLIT_OVERRIDE}",
                  f"none in the project: carved from {carved_from}")


def test_file_choice(test: DataFile | None) -> Choice:
    if test:
        return Choice(test.location, f"evaluated once after training ({_split_text(test)}; named "
                                     f"as the test split of the training data); {SPLIT_OVERRIDE}",
                      "evaluated once after training")
    return Choice(None, f"no test split in the project; {SPLIT_OVERRIDE}",
                  "no test split in the project")
