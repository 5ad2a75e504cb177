"""Data files as splits: the shards of a split, a folder of same-format files and a glob are
one split each; `--data` arguments (files, folders, globs, Hub dataset names) are resolved.

A group is named by what the config will hold: its one file, a glob that matches exactly its
files (`data/train-*.parquet`), or, when no glob does, the list of its files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trainwright.discovery.data import format_of, split_from_name
from trainwright.discovery.models import is_glob
from trainwright.discovery.walk import SKIPPED_DIRS, is_data_file
from trainwright.errors import UserError

HEADER_BYTES = 64 * 1024
# `owner/name` as the Hub spells dataset repositories.
HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class FileGroup:
    """The files of one split and the name the config gives them."""

    members: tuple[Path, ...]
    label: str  # the file, an exact glob, or the files' names joined

    @property
    def is_list(self) -> bool:
        return len(self.members) > 1 and not is_glob(self.label)


@dataclass(frozen=True)
class GivenData:
    """What `--data` arguments stand for."""

    paths: tuple[Path, ...]  # data files and save_to_disk folders
    hub_names: tuple[str, ...]
    globs: dict[frozenset[Path], str]  # a glob or folder the user gave -> its relative name


def relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def is_saved_dataset(folder: Path) -> bool:
    """save_to_disk's layout (LLaMA-Factory's data/dataset_info.json alone is not one)."""
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "dataset_info.json").is_file() and (folder / "state.json").is_file())


def saved_dataset_folders(folder: Path) -> list[Path]:
    """A save_to_disk folder as datasets: itself, or one folder per split of a DatasetDict."""
    if (folder / "dataset_dict.json").is_file():
        return sorted(child for child in folder.iterdir()
                      if (child / "dataset_info.json").is_file())
    return [folder]


def data_files_under(folder: Path) -> list[Path]:
    """The data files below a folder the user named, skipping what the walk skips."""
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        if path.is_file() and is_data_file(path.name, parts):
            found.append(path)
    return found


def looks_like_hub_name(given: str, root: Path) -> bool:
    """`owner/name` that is no path in the project (and whose owner is no folder in it)."""
    return (HUB_NAME.match(given) is not None and not (root / given).exists()
            and not (root / given.split("/")[0]).is_dir()
            and Path(given).suffix.lower() not in {".csv", ".tsv", ".json", ".jsonl",
                                                   ".parquet", ".txt", ".arrow", ".md"})


def resolve_given(root: Path, data_paths: Sequence[str]) -> GivenData:
    """Files, folders, globs and Hub names from `--data`; every problem is reported at once."""
    paths: list[Path] = []
    hub_names: list[str] = []
    globs: dict[frozenset[Path], str] = {}
    problems = []
    for given in data_paths:
        if looks_like_hub_name(given, root):
            hub_names.append(given)
            continue
        expanded = Path(given).expanduser()
        absolute = expanded if expanded.is_absolute() else root / expanded
        if is_glob(given):
            pattern = relative(absolute, root)
            if Path(pattern).is_absolute():
                problems.append(f"'{given}' is outside the project folder {root}")
                continue
            matched = sorted(p.resolve() for p in root.glob(pattern) if p.is_file())
            if not matched:
                problems.append(f"'{given}' matches no file (looked from {root})")
                continue
            paths += matched
            globs[frozenset(matched)] = pattern
            continue
        path = absolute.resolve()
        if not path.is_relative_to(root):
            problems.append(f"'{given}' is outside the project folder {root}")
        elif not path.exists():
            problems.append(f"'{given}' does not exist (looked at {path})")
        elif path.is_dir() and is_saved_dataset(path):
            paths += saved_dataset_folders(path)
        elif path.is_dir():
            members = data_files_under(path)
            if not members:
                problems.append(f"'{given}' is a folder without data files (csv, tsv, json, "
                                "jsonl, parquet, txt, arrow)")
                continue
            paths += members
            pattern = _folder_glob(path, members, root)
            if pattern is not None:  # else the files are listed
                globs[frozenset(member.resolve() for member in members)] = pattern
        else:
            paths.append(path)
    if problems:
        raise UserError("Some data paths cannot be used:", "copy or link the data into the "
                        "project (e.g. under data/) and pass its path relative to the project; "
                        "--data takes files, folders, globs (quoted: 'data/train-*.parquet') "
                        "and Hub dataset names (owner/name).", problems=problems)
    unique = list(dict.fromkeys(paths))
    return GivenData(tuple(unique), tuple(dict.fromkeys(hub_names)), globs)


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------

def quick_columns(path: Path, fmt: str) -> tuple[str, ...] | None:
    """The column names from the first bytes of a file (None: cannot tell cheaply)."""
    try:
        if fmt in {"txt", "md"}:
            return ("text",)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return tuple(pq.read_schema(path).names)
        if fmt == "arrow":
            import pyarrow as pa

            with pa.memory_map(str(path)) as source:
                try:
                    return tuple(pa.ipc.open_stream(source).schema.names)
                except pa.ArrowInvalid:
                    return tuple(pa.ipc.open_file(source).schema.names)
        with open(path, "rb") as handle:
            head = handle.read(HEADER_BYTES).decode("utf-8-sig", errors="ignore")
        if fmt in {"csv", "tsv"}:
            first = next(csv.reader(io.StringIO(head), delimiter="\t" if fmt == "tsv" else ","))
            return tuple(first)
        stripped = head.lstrip()
        if stripped.startswith("["):
            row, _ = json.JSONDecoder().raw_decode(stripped[1:].lstrip())
        else:
            row = json.loads(stripped.splitlines()[0])
        return tuple(row) if isinstance(row, dict) else None
    except Exception:  # noqa: BLE001 - any unreadable head: the file stays a group of its own
        return None


def _exact(root: Path, pattern: str, members: set[Path]) -> bool:
    return {p.resolve() for p in root.glob(pattern) if p.is_file()} == members


def _folder_glob(folder: Path, members: list[Path], root: Path) -> str | None:
    suffixes = {member.suffix for member in members}
    if len(suffixes) != 1:
        return None
    suffix = suffixes.pop()
    base = relative(folder, root)
    prefix = "" if base in {"", "."} else f"{base}/"
    wanted = {member.resolve() for member in members}
    for pattern in (f"{prefix}*{suffix}", f"{prefix}**/*{suffix}"):
        if _exact(root, pattern, wanted):
            return pattern
    return None


def glob_for(members: Sequence[Path], root: Path) -> str | None:
    """A glob that matches exactly these files of one folder, or None."""
    folders = {member.parent for member in members}
    suffixes = {member.suffix for member in members}
    if len(folders) != 1 or len(suffixes) != 1:
        return None
    folder, suffix = folders.pop(), suffixes.pop()
    base = relative(folder, root)
    prefix = "" if base in {"", "."} else f"{base}/"
    names = [member.name for member in members]
    common = names[0]
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    stem_prefix = common[: max((common.rfind(sep) for sep in "-_."), default=-1) + 1]
    wanted = {member.resolve() for member in members}
    candidates = [f"{prefix}*{suffix}"]
    if stem_prefix:
        candidates.append(f"{prefix}{stem_prefix}*{suffix}")
    return next((pattern for pattern in candidates if _exact(root, pattern, wanted)), None)


def _label(members: tuple[Path, ...], root: Path, given_globs: dict[frozenset[Path], str]
           ) -> str:
    if len(members) == 1:
        return relative(members[0], root)
    given = given_globs.get(frozenset(members))
    if given is not None:
        return given
    pattern = glob_for(members, root)
    if pattern is not None:
        return pattern
    names = [relative(member, root) for member in members]
    return ", ".join(names) if len(names) <= 3 else f"{names[0]}, {names[1]} and " \
        f"{len(names) - 2} more files"


def group_files(paths: Sequence[Path], root: Path, *, by_folder: bool = True,
                given_globs: dict[frozenset[Path], str] | None = None) -> list[FileGroup]:
    """One group per split: same folder (unless `by_folder` is off, for files the user named),
    same format, same split name and same columns. A save_to_disk folder is a group alone."""
    places: dict[tuple, list[Path]] = {}
    for path in paths:
        if path.is_dir():
            places[("saved", path)] = [path]
            continue
        key = (path.parent if by_folder else None, format_of(path), split_from_name(path, root))
        places.setdefault(key, []).append(path)
    buckets: dict[tuple, list[Path]] = {}
    for key, members in places.items():
        if len(members) == 1 or key[0] == "saved":
            buckets[key] = members
            continue
        for path in members:  # the columns tell files of one split from unrelated files
            columns = quick_columns(path, key[1])
            buckets.setdefault((*key, columns if columns is not None else ("unknown", path)),
                               []).append(path)
    groups = []
    for members in buckets.values():
        ordered = tuple(sorted(members))
        if len(ordered) > 1 and by_folder and glob_for(ordered, root) is None:
            # Files that no glob names exactly stay candidates of their own.
            groups += [FileGroup((member,), relative(member, root)) for member in ordered]
            continue
        groups.append(FileGroup(ordered, _label(ordered, root, given_globs or {})))
    return sorted(groups, key=lambda group: group.label)
