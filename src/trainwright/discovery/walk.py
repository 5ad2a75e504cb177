"""One bounded walk over the project that sorts the files discovery cares about."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_DIRS = {
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", "__pycache__", ".tox",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", "site-packages", "wandb", "mlruns",
    ".ipynb_checkpoints", "checkpoints", "outputs", "runs", ".idea", ".vscode", "build", "dist",
}
DATA_SUFFIXES = {".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt"}
DATA_DIRS = {"data", "datasets", "dataset"}
NON_DATA_TXT = {"requirements", "license", "notice", "readme", "changelog", "authors"}
NON_DATA_JSON = {"hyperparameters.json", "best_hyperparameters.json", "package.json",
                 "package-lock.json", "tsconfig.json", "composer.json", "manifest.json",
                 "trainer_state.json", "final_metrics.json", "all_results.json"}
MAX_DEPTH = 12


@dataclass
class ProjectFiles:
    python_files: list[Path] = field(default_factory=list)
    notebooks: list[Path] = field(default_factory=list)
    dependency_files: list[Path] = field(default_factory=list)
    config_files: list[Path] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)
    dataset_folders: list[Path] = field(default_factory=list)
    top_level_dirs: set[str] = field(default_factory=set)
    total_files: int = 0


def is_dependency_file(name: str) -> bool:
    lower = name.lower()
    return (
        (lower.startswith("requirements") and lower.endswith(".txt"))
        or lower in {"pyproject.toml", "setup.cfg", "setup.py", "environment.yml",
                     "environment.yaml", "pipfile", "conda.yml"}
    )


def _in_data_area(relative_parts: tuple[str, ...]) -> bool:
    """Data is looked for at the root and under data/, datasets/ (any depth below them)."""
    return len(relative_parts) == 1 or relative_parts[0].lower() in DATA_DIRS


def walk_project(root: Path) -> ProjectFiles:
    found = ProjectFiles()
    root_str = str(root)
    for dirpath, dirnames, filenames in os.walk(root_str):
        relative_dir = os.path.relpath(dirpath, root_str)
        parts = () if relative_dir == "." else tuple(Path(relative_dir).parts)
        if not parts:
            found.top_level_dirs = {d for d in dirnames if not d.startswith(".")}
        if "dataset_dict.json" in filenames:
            # A DatasetDict saved with save_to_disk: one dataset per split folder.
            if parts and _in_data_area(parts):
                found.dataset_folders += [Path(dirpath, d) for d in sorted(dirnames)
                                          if Path(dirpath, d, "dataset_info.json").is_file()]
            dirnames[:] = []
            continue
        if "dataset_info.json" in filenames:
            if parts and _in_data_area(parts):
                found.dataset_folders.append(Path(dirpath))
            dirnames[:] = []  # a save_to_disk folder is read as one dataset
            continue
        dirnames[:] = [
            d for d in dirnames
            if d not in SKIPPED_DIRS and not d.startswith(".") and len(parts) < MAX_DEPTH
        ]
        found.total_files += len(filenames)
        for name in filenames:
            path = Path(dirpath, name)
            suffix = path.suffix.lower()
            if suffix == ".py":
                found.python_files.append(path)
            elif suffix == ".ipynb":
                found.notebooks.append(path)
            if is_dependency_file(name):
                found.dependency_files.append(path)
            elif suffix in {".yaml", ".yml"} or (suffix == ".json" and "config" in name.lower()):
                found.config_files.append(path)
            if suffix == ".md" and parts and parts[0].lower() in DATA_DIRS:
                found.data_files.append(path)  # a markdown corpus (never the root README)
                continue
            if suffix in DATA_SUFFIXES and _in_data_area(parts + (name,)):
                first_word = re.split(r"[-_.]", path.stem.lower())[0]
                if suffix == ".txt" and (first_word in NON_DATA_TXT or is_dependency_file(name)):
                    continue
                if suffix == ".json" and ("config" in name.lower() or name in NON_DATA_JSON):
                    continue
                found.data_files.append(path)
    return found
