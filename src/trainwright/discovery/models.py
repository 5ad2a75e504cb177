"""Frozen facts that discovery returns and planning reads. No behaviour beyond small helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trainwright.discovery.local_models import LocalModel

if TYPE_CHECKING:
    from trainwright.discovery.pins import Pin


@dataclass(frozen=True)
class Evidence:
    """One sign that a project uses a framework, with where it was found."""

    framework: str
    kind: str  # installed | requirements | pyproject | setup | environment | pipfile | import
    source: str
    line: int | None
    detail: str
    weight: float


@dataclass(frozen=True)
class FrameworkFacts:
    chosen: str | None
    scores: dict[str, float]
    evidence: tuple[Evidence, ...]
    explanation: str


@dataclass(frozen=True)
class GPU:
    name: str
    memory_mib: int
    compute_capability: tuple[int, int] | None

    @property
    def supports_bf16(self) -> bool:
        # torch.cuda.is_bf16_supported() answers yes on a T4 (emulated); bf16 pays from Ampere on.
        return self.compute_capability is not None and self.compute_capability >= (8, 0)


@dataclass(frozen=True)
class Hardware:
    gpus: tuple[GPU, ...]
    mps: bool
    cpu_cores: int
    cpu_bf16: bool
    ram_mib: int
    source: str

    @property
    def has_cuda(self) -> bool:
        return bool(self.gpus)

    @property
    def accelerator(self) -> str:
        if self.gpus:
            return "cuda"
        return "mps" if self.mps else "cpu"


def is_glob(path: str) -> bool:
    return any(char in path for char in "*?[")


@dataclass(frozen=True)
class DataProblem:
    """Something wrong with a data file: a kind that planning acts on, a message for people."""

    kind: str  # one of the kinds below
    message: str

    UNREADABLE = "unreadable"  # binary, not UTF-8, not valid JSON / CSV: no rows at all
    MISSING_COLUMN = "missing_column"  # a column given with a flag is not in the file
    INCOMPLETE = "incomplete"  # the head was read, a later part of the file was not
    MISSING_LABELS = "missing_labels"  # rows without a value in the label column
    NOT_CACHED = "not_cached"  # a Hub dataset name that is not in the local datasets cache

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class NumericSummary:
    """The numbers of a column, from the sampled rows."""

    minimum: float
    maximum: float
    mean: float
    std: float
    whole: bool  # every value is a whole number


@dataclass(frozen=True)
class ColumnFacts:
    """What the values of one column look like: the evidence planning ranks text and label
    columns on. Nothing here says which column is the label."""

    name: str
    value_type: str  # text | integer | float | boolean | list | mixed | empty
    rows: int  # rows looked at: the whole file when counted == "file", else the sample
    non_empty: int  # of those, rows with a value (lists: a non-empty list)
    distinct: int  # distinct values among them (lists: distinct combinations)
    # value -> rows, most common first (ClassLabel ids as their names); {} when there are more
    # than columns.COUNT_LIMIT distinct values
    counts: dict[str, int]
    counted: str  # file | sample: where rows, non_empty, distinct and the counts come from
    mean_words: float  # words per value in the sample
    name_role: str | None = None  # label | text | identifier: a usual name for that role
    name_rank: int | None = None  # position of the name among the usual names of its role
    class_names: tuple[str, ...] = ()  # ClassLabel names stored by `datasets`, in id order
    # Lists of labels, or strings split by `delimiter`: rows per item
    items: dict[str, int] = field(default_factory=dict)
    delimiter: str | None = None  # splits most multi-valued strings of the column into items
    delimited_share: float = 0.0  # share of the values that hold the delimiter
    numbers: NumericSummary | None = None

    @property
    def unique_share(self) -> float:
        return self.distinct / self.non_empty if self.non_empty else 0.0


@dataclass(frozen=True)
class DataFile:
    """A data file (or save_to_disk folder) and what a bounded look at it showed."""

    path: str  # relative to the project root, with forward slashes
    format: str  # csv | tsv | json | jsonl | parquet | txt | md | arrow | hub
    split: str | None  # train | validation | test | None
    size_bytes: int
    rows: int | None
    columns: tuple[str, ...]
    text_column: str | None
    label_column: str | None
    label_counts: dict[str, int]
    text_length_chars: dict[str, int]  # percentiles p50 / p90 / p95 / p99 / max of the sample
    text_length_words: dict[str, int]
    sampled_rows: int
    problems: tuple[DataProblem, ...] = ()
    # A few texts from the head, for measuring token lengths with the model's tokenizer.
    sample_texts: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # What the rows hold, for fine-tuning (DataShape.kind). When the columns fit several
    # fine-tuning formats, the others are in other_shapes: planning asks which one is meant.
    shape: DataShape | None = None
    other_shapes: tuple[DataShape, ...] = ()
    # Every column's values, for choosing the text and label columns and the kind of label.
    column_facts: tuple[ColumnFacts, ...] = field(default=(), repr=False)
    # The files of the split (shards, a folder, a glob), relative to the project root; `path`
    # is then their glob, or their names joined when no glob matches exactly these files.
    files: tuple[str, ...] = ()
    # Project scripts and configs that mention the file (or its folder), for ranking.
    referenced_by: tuple[str, ...] = ()
    # format "hub": a Hub dataset name (`path`), read from this local datasets cache folder.
    hub_cache: str | None = None

    @property
    def location(self) -> str | list[str]:
        """What the config's data.*_file holds: the path, the glob, or the list of files."""
        return list(self.files) if len(self.files) > 1 and not is_glob(self.path) else self.path

    @property
    def num_classes(self) -> int:
        return len(self.label_counts)

    def column(self, name: str | None) -> ColumnFacts | None:
        return next((facts for facts in self.column_facts if facts.name == name), None)

    @property
    def readable(self) -> bool:
        return not any(problem.kind == DataProblem.UNREADABLE for problem in self.problems)


@dataclass(frozen=True)
class DataShape:
    """One reading of a data file's columns for fine-tuning.

    kind: a supervised fine-tuning format (data_shape.SFT_FORMATS: chat, sharegpt,
    chat_prompt_completion, prompt_completion, instruction, seq2seq), or preference | labelled
    | text | unknown.
    """

    kind: str
    messages_column: str | None = None  # chat, sharegpt: the list of messages
    prompt_column: str | None = None  # the context: a string, or a list of messages
    input_column: str | None = None  # extra context appended to the prompt (Alpaca's "input")
    response_column: str | None = None  # what is learned: a string, or a list of messages
    # Rows of the sample that cannot be trained on, each naming its row.
    row_problems: tuple[str, ...] = ()
    # The sampled rows as the text of their examples (message contents joined), for lengths.
    sample_texts: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # The same examples split into their context and the part that is learned:
    # (prompt, response) each, in the order of sample_texts.
    sample_parts: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this reading uses."""
        return tuple(c for c in (self.messages_column, self.prompt_column, self.input_column,
                                 self.response_column) if c)


@dataclass(frozen=True)
class ForeignConfig:
    """A training config written for another tool, as it reads."""

    path: str  # relative to the project root
    kind: str  # axolotl | llama-factory | trl | transformers TrainingArguments | deepspeed | ...
    values: dict
    # LLaMA-Factory: the dataset_info.json its dataset names are looked up in
    dataset_info: dict | None = None


@dataclass(frozen=True)
class ExistingTraining:
    training_scripts: tuple[str, ...]
    training_config: str | None
    training_config_values: dict
    config_dirs: tuple[str, ...]
    foreign_configs: tuple[ForeignConfig, ...]
    problems: tuple[str, ...] = ()
    # The training scripts whose head says "Generated by trainwright": written by an earlier
    # init, so a rerun may replace them; every other one is the project's own.
    generated_scripts: tuple[str, ...] = ()
    # The launcher configs an earlier init wrote (accelerate_config.yaml, and the ds_config.json
    # its training config names): a plan without them says they are no longer used.
    launcher_configs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str | None
    purpose: str


@dataclass(frozen=True)
class Dependencies:
    packages: tuple[Dependency, ...]
    training_argument_fields: tuple[str, ...]
    transformers_target: str
    transformers_installed: bool
    pins: tuple[Pin, ...] = ()  # the project's transformers pins, most specific first
    target_reason: str = ""  # why transformers_target, when a pin decided it

    @property
    def targets_installed(self) -> bool:
        """Whether the targeted release is the installed one (same major.minor)."""
        installed = self.version("transformers")
        return bool(installed) and _minor(installed) == _minor(self.transformers_target)

    def version(self, name: str) -> str | None:
        for package in self.packages:
            if package.name == name:
                return package.version
        return None

    def missing(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n for n in names if self.version(n) is None)


@dataclass(frozen=True)
class Conventions:
    scripts_dir: str | None
    config_dir: str | None
    line_length: int | None
    line_length_source: str | None


@dataclass(frozen=True)
class ProjectFacts:
    root: Path
    framework: FrameworkFacts
    existing: ExistingTraining
    data: tuple[DataFile, ...]
    dependencies: Dependencies
    hardware: Hardware
    conventions: Conventions
    files_scanned: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Models that load without the network (project folders, installed model packages).
    local_models: tuple[LocalModel, ...] = field(default_factory=tuple)


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])
