"""Frozen facts that discovery returns and planning reads. No behaviour beyond small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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


@dataclass(frozen=True)
class DataProblem:
    """Something wrong with a data file: a kind that planning acts on, a message for people."""

    kind: str  # one of the kinds below
    message: str

    UNREADABLE = "unreadable"  # binary, not UTF-8, not valid JSON / CSV: no rows at all
    MISSING_COLUMN = "missing_column"  # a column given with a flag is not in the file
    INCOMPLETE = "incomplete"  # the head was read, a later part of the file was not
    MISSING_LABELS = "missing_labels"  # rows without a value in the label column

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class DataFile:
    """A data file (or save_to_disk folder) and what a bounded look at it showed."""

    path: str  # relative to the project root, with forward slashes
    format: str  # csv | tsv | json | jsonl | parquet | txt | arrow
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
    # What the rows hold, for fine-tuning: chat | instruction | labelled | text | unknown.
    shape: DataShape | None = None

    @property
    def num_classes(self) -> int:
        return len(self.label_counts)

    @property
    def readable(self) -> bool:
        return not any(problem.kind == DataProblem.UNREADABLE for problem in self.problems)


@dataclass(frozen=True)
class DataShape:
    """The roles of a data file's columns for supervised fine-tuning."""

    kind: str  # chat | instruction | labelled | text | unknown
    messages_column: str | None = None
    prompt_column: str | None = None
    input_column: str | None = None  # extra context appended to the prompt (Alpaca's "input")
    response_column: str | None = None
    # Rows of the sample that cannot be trained on, each naming its row.
    row_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExistingTraining:
    training_scripts: tuple[str, ...]
    training_config: str | None
    training_config_values: dict
    config_dirs: tuple[str, ...]
    foreign_configs: tuple[tuple[str, str], ...]  # (path, kind)
    problems: tuple[str, ...] = ()


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
