"""The project's data candidates: every split the walk found (or the user named), inspected,
with the scripts and configs that mention it. Which one trains is planning's decision
(planning/ranking.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from trainwright.discovery.data import inspect_data_file, split_from_name
from trainwright.discovery.hub import hub_dataset
from trainwright.discovery.models import DataFile
from trainwright.discovery.references import find_references, names_of
from trainwright.discovery.splits import FileGroup, GivenData, group_files
from trainwright.discovery.walk import ProjectFiles, in_data_folder

MAX_INSPECTED = 200  # splits read at most: the walk may find thousands of .json / .txt files


def _before_reading(group: FileGroup, root: Path) -> tuple:
    """How data-like a split looks before it is read (for keeping to MAX_INSPECTED)."""
    first = group.members[0]
    in_folder = in_data_folder(first.relative_to(root).parts)
    size = sum(member.stat().st_size for member in group.members if member.is_file())
    return (not in_folder, split_from_name(first, root) is None, -size, group.label)


def _in_data_place(group: FileGroup, root: Path) -> bool:
    parts = group.members[0].relative_to(root).parts
    return len(parts) == 1 or in_data_folder(parts)


def find_data(root: Path, files: ProjectFiles, given: GivenData,
              report: Callable[[str], None], **columns: str | None
              ) -> tuple[tuple[DataFile, ...], tuple[str, ...]]:
    """The data candidates and notes on how they were found."""
    notes = []
    from_user = bool(given.paths or given.hub_names)
    if from_user:
        groups = group_files(given.paths, root, by_folder=False, given_globs=given.globs)
    else:
        groups = group_files(files.data_files + files.dataset_folders, root)
        if len(groups) > MAX_INSPECTED:
            notes.append(f"{len(groups):,} data candidates were found; the {MAX_INSPECTED} "
                         "likeliest by folder, name and size were read (--data names another)")
            groups = sorted(sorted(groups, key=lambda g: _before_reading(g, root))
                            [:MAX_INSPECTED], key=lambda g: g.label)
    data = []
    for group in groups:
        report(f"reading {group.label}")
        item = inspect_data_file(group.members[0], root, members=group.members,
                                 display=group.label, **columns)
        if not from_user and not item.readable and not _in_data_place(group, root):
            continue  # a .json / .txt outside the data folders that holds no rows: not data
        data.append(item)
    for name in given.hub_names:
        report(f"looking for {name} in the local datasets cache")
        items, hub_notes = hub_dataset(name, root, **columns)
        data += items
        notes += hub_notes
    sources = files.python_files + files.notebooks + files.config_files
    wanted = {item.path: names_of(item.path, item.files) for item in data if item.format != "hub"}
    references = find_references(root, sources, wanted)
    data = [dataclasses.replace(item, referenced_by=references.get(item.path, ()))
            for item in data]
    if files.stopped:
        notes.append(f"{files.stopped}: pass --data to name the data if it was not found")
    return tuple(data), tuple(notes)
