"""A Hub dataset name (`--data owner/name`), known from what the local datasets cache holds.

Nothing is downloaded: `datasets.load_dataset(name)` prepares a dataset once into
HF_DATASETS_CACHE as `owner___name/CONFIG/VERSION/HASH/` (dataset_info.json and one or more
`name-SPLIT[-0000i-of-0000n].arrow` files), and loads it from there offline; discovery reads
those files as it reads a local .arrow file. The cache folder is found without importing
`datasets`, as its packaged `cache` module finds it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from trainwright.discovery.availability import huggingface_home
from trainwright.discovery.data import inspect_data_file
from trainwright.discovery.models import DataFile, DataProblem

SPLITS = ("train", "validation", "test")  # loaded by these names in train.py


def datasets_cache() -> Path:
    """HF_DATASETS_CACHE as `datasets.config` computes it."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    return huggingface_home() / "datasets"


def _snake_case(name: str) -> str:
    """datasets.naming.camelcase_to_snakecase."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def cache_folder_of(name: str) -> Path:
    owner, dataset = name.split("/", 1)
    return datasets_cache() / f"{owner}___{_snake_case(dataset)}"


def cached_versions(name: str) -> list[Path]:
    """The prepared CONFIG/VERSION/HASH folders of a dataset, most recent last."""
    base = cache_folder_of(name)
    if not base.is_dir():
        return []
    folders = [folder for folder in base.glob("*/*/*")
               if folder.is_dir() and (folder / "dataset_info.json").is_file()]
    return sorted(folders, key=lambda folder: folder.stat().st_mtime)


def _split_files(folder: Path, split: str) -> list[Path]:
    return sorted(folder.glob(f"*-{split}.arrow")) or \
        sorted(folder.glob(f"*-{split}-*-of-*.arrow"))


def _not_cached(name: str) -> DataFile:
    message = (f"{name} is a Hub dataset name, and nothing about it can be known offline: it "
               f"is not in the local datasets cache (looked for {cache_folder_of(name)})")
    return DataFile(path=name, format="hub", split=None, size_bytes=0, rows=None, columns=(),
                    text_column=None, label_column=None, label_counts={},
                    text_length_chars={}, text_length_words={}, sampled_rows=0,
                    problems=(DataProblem(DataProblem.NOT_CACHED, message),))


def hub_dataset(name: str, root: Path, **columns: str | None) -> tuple[list[DataFile], list[str]]:
    """One DataFile per split of a cached Hub dataset (train / validation / test), and notes;
    a dataset that is not cached is one DataFile with a NOT_CACHED problem."""
    versions = cached_versions(name)
    if not versions:
        return [_not_cached(name)], []
    folder = versions[-1]
    notes = []
    configs = sorted({version.parts[-3] for version in versions})
    if len(configs) > 1:
        notes.append(f"{name}: the cache holds the configurations {', '.join(configs)}; "
                     f"planned on the most recent one, '{folder.parts[-3]}'")
    try:
        info = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))
        named = list(info.get("splits") or {})
    except (OSError, json.JSONDecodeError):
        named = []
    named = named or [split for split in SPLITS if _split_files(folder, split)]
    found = []
    for split in SPLITS:
        files = _split_files(folder, split) if split in named else []
        if files:
            item = inspect_data_file(files[0], root, members=files, display=name, **columns)
            found.append(_as_hub(item, split, folder))
    others = [split for split in named if split not in SPLITS]
    if others:
        notes.append(f"{name}: its splits {', '.join(others)} are not used (train.py loads "
                     "train, validation and test by name)")
    if not found:
        return [_not_cached(name)], notes
    return found, notes


def _as_hub(item: DataFile, split: str, folder: Path) -> DataFile:
    return dataclasses.replace(item, format="hub", split=split, files=(), hub_cache=str(folder))
