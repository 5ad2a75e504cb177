"""One bounded walk over the project that sorts the files discovery cares about.

Breadth first, so that a budget spent on one deep folder still leaves the top of every other
folder seen; folders that never hold the project's own data (version control, virtual
environments, caches, training outputs, model folders) are not entered.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_DIRS = {
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", "__pycache__", ".tox",
    ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".cache", "cache", "__pypackages__",
    "site-packages", "dist-packages", "wandb", "mlruns", "lightning_logs", "logs", "htmlcov",
    ".ipynb_checkpoints", "checkpoints", "checkpoint", "outputs", "output", "runs", ".idea",
    ".vscode", "build", "dist",
}
# Trainer checkpoints (checkpoint-500), Optuna trial folders, pip's metadata folders.
SKIPPED_DIR_PATTERN = re.compile(r"^(checkpoint-\d+|trial-\d+|.*\.egg-info|.*\.dist-info)$")
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")  # a virtual or conda environment
MODEL_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                 "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack",
                 "adapter_model.safetensors", "adapter_model.bin")
ADAPTER_WEIGHTS = {"adapter_model.safetensors", "adapter_model.bin"}  # a LoRA adapter only
DATA_SUFFIXES = {".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt", ".arrow"}
# Folders named like this hold data; a markdown file counts as a document only inside one.
DATA_DIRS = {"data", "datasets", "dataset", "corpus", "corpora"}
NON_DATA_TXT = {"requirements", "constraints", "license", "licence", "copying", "notice",
                "readme", "changelog", "changes", "history", "authors", "contributors",
                "contributing", "todo", "vocab", "merges", "robots", "cmakelists", "version"}
NON_DATA_JSON = {"hyperparameters.json", "best_hyperparameters.json", "package.json",
                 "package-lock.json", "tsconfig.json", "jsconfig.json", "composer.json",
                 "manifest.json", "trainer_state.json", "final_metrics.json", "all_results.json",
                 "train_results.json", "eval_results.json", "tokenizer.json", "vocab.json",
                 "special_tokens_map.json", "added_tokens.json", "dataset_info.json",
                 "state.json", "dataset_dict.json", "renovate.json", "lerna.json"}
MAX_DEPTH = 12
MAX_FILES = 200_000  # files looked at before the walk stops (discovery stays bounded)
MAX_SECONDS = 15.0
PROGRESS_EVERY = 5_000  # files between two progress reports


@dataclass
class ProjectFiles:
    python_files: list[Path] = field(default_factory=list)
    notebooks: list[Path] = field(default_factory=list)
    dependency_files: list[Path] = field(default_factory=list)
    config_files: list[Path] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)
    dataset_folders: list[Path] = field(default_factory=list)
    model_folders: list[Path] = field(default_factory=list)  # config.json and full weights
    top_level_dirs: set[str] = field(default_factory=set)
    total_files: int = 0
    skipped_dirs: list[str] = field(default_factory=list)  # relative paths not entered
    stopped: str | None = None  # why the walk ended before seeing every file


# Lock and constraints files pin versions but declare nothing: a lock file lists every
# transitive package, a constraints file packages that may never be installed.
LOCK_FILES = {"poetry.lock", "uv.lock", "pipfile.lock", "pdm.lock"}


def is_dependency_file(name: str) -> bool:
    lower = name.lower()
    return (
        (lower.startswith(("requirements", "constraints")) and lower.endswith(".txt"))
        or lower in {"pyproject.toml", "setup.cfg", "setup.py", "environment.yml",
                     "environment.yaml", "pipfile", "conda.yml"}
        or lower in LOCK_FILES
    )


def declares_dependencies(name: str) -> bool:
    """Whether a dependency file says what the project uses (not only which versions)."""
    lower = name.lower()
    return is_dependency_file(name) and lower not in LOCK_FILES and not lower.startswith(
        "constraints")


def is_config_json(name: str) -> bool:
    """ds_config.json, training_args.json, zero3.json: settings, not rows."""
    stem = name.lower().rsplit(".", 1)[0]
    words = set(re.split(r"[-_.]", stem))
    return ("config" in stem or "args" in words or "deepspeed" in words
            or bool(re.fullmatch(r"(ds|zero)[_-]?(stage)?[_-]?[0-3](_offload)?", stem)))


def in_data_folder(relative_parts: tuple[str, ...]) -> bool:
    """Whether a path (its parts relative to the root) lies in a folder named like data."""
    return any(part.lower() in DATA_DIRS for part in relative_parts[:-1])


def is_data_file(name: str, relative_parts: tuple[str, ...]) -> bool:
    """Whether a file's name and place say it may hold rows of data."""
    stem, suffix = os.path.splitext(name)
    suffix = suffix.lower()
    if suffix not in DATA_SUFFIXES and suffix != ".md":
        return False
    first_word = re.split(r"[-_.]", stem.lower())[0]
    if suffix == ".md":  # a markdown corpus: documents in a data folder, never a README
        return in_data_folder(relative_parts) and first_word not in NON_DATA_TXT
    if suffix == ".txt" and (first_word in NON_DATA_TXT or is_dependency_file(name)):
        return False
    lower = name.lower()
    return not (suffix == ".json" and (is_config_json(name) or lower in NON_DATA_JSON))


def _skipped(name: str) -> bool:
    return name in SKIPPED_DIRS or name.startswith(".") or bool(SKIPPED_DIR_PATTERN.match(name))


def _is_model_folder(names: set[str]) -> bool:
    return "config.json" in names and any(weights in names for weights in MODEL_WEIGHTS)


def walk_project(root: Path, progress: Callable[[str], None] | None = None, *,
                 max_files: int = MAX_FILES, max_seconds: float = MAX_SECONDS) -> ProjectFiles:
    found = ProjectFiles()
    report = progress or (lambda message: None)
    deadline = time.monotonic() + max_seconds
    queue: deque[tuple[Path, tuple[str, ...]]] = deque([(root, ())])
    next_report = PROGRESS_EVERY
    while queue:
        folder, parts = queue.popleft()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            continue
        names = {entry.name for entry in entries}
        if parts and (any(marker in names for marker in ENVIRONMENT_MARKERS)
                      or _is_model_folder(names)):
            if _is_model_folder(names) and not names & ADAPTER_WEIGHTS:
                found.model_folders.append(folder)
            found.skipped_dirs.append("/".join(parts))
            continue
        # LLaMA-Factory's data/dataset_info.json names datasets; a saved one has state.json.
        if "dataset_dict.json" in names or {"dataset_info.json", "state.json"} <= names:
            # Saved with save_to_disk: one dataset, or a DatasetDict of one folder per split.
            if parts and "dataset_dict.json" in names:
                found.dataset_folders += sorted(
                    Path(entry.path) for entry in entries
                    if entry.is_dir() and Path(entry.path, "dataset_info.json").is_file())
            elif parts:
                found.dataset_folders.append(folder)
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                if not parts and not entry.name.startswith("."):
                    found.top_level_dirs.add(entry.name)
                if _skipped(entry.name) or len(parts) >= MAX_DEPTH:
                    found.skipped_dirs.append("/".join((*parts, entry.name)))
                else:
                    queue.append((Path(entry.path), (*parts, entry.name)))
                continue
            if not entry.is_file():
                continue
            found.total_files += 1
            _sort_file(found, entry.path, (*parts, entry.name))
        if found.total_files >= next_report:
            next_report += PROGRESS_EVERY
            report(f"scanning files: {found.total_files:,} so far, "
                   f"{len(found.data_files) + len(found.dataset_folders):,} data files")
        if found.total_files >= max_files or time.monotonic() > deadline:
            found.stopped = (f"stopped scanning after {found.total_files:,} files "
                             f"(budget: {max_files:,} files or {max_seconds:.0f} s); "
                             f"{len(queue):,} folders were not looked at")
            break
    return found


def _sort_file(found: ProjectFiles, path: str, parts: tuple[str, ...]) -> None:
    name = parts[-1]
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".py":
        found.python_files.append(Path(path))
    elif suffix == ".ipynb":
        found.notebooks.append(Path(path))
    if is_dependency_file(name):
        found.dependency_files.append(Path(path))
    elif suffix in {".yaml", ".yml"} or (suffix == ".json" and is_config_json(name)):
        found.config_files.append(Path(path))
    if is_data_file(name, parts):
        found.data_files.append(Path(path))
