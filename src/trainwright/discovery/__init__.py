"""Read-only discovery: what a project holds, as frozen facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from trainwright.discovery.data import inspect_data_file
from trainwright.discovery.dependencies import discover_dependencies
from trainwright.discovery.existing import discover_conventions, discover_existing
from trainwright.discovery.framework import discover_framework
from trainwright.discovery.hardware import probe_hardware
from trainwright.discovery.models import Dependencies, Hardware, ProjectFacts
from trainwright.discovery.walk import walk_project
from trainwright.errors import UserError

__all__ = ["Hardware", "ProjectFacts", "discover", "resolve_data_paths", "resolve_project"]


def resolve_project(project: str | Path) -> Path:
    root = Path(project).expanduser()
    if not root.exists():
        raise UserError(f"The project folder '{project}' does not exist.",
                        "pass the folder that holds your code and data, e.g. "
                        "`trainwright init classification path/to/project`.")
    if not root.is_dir():
        raise UserError(f"'{project}' is a file, not a project folder.",
                        f"pass the folder that contains it: {root.parent or '.'}")
    return root.resolve()


def resolve_data_paths(root: Path, data_paths: Sequence[str]) -> list[Path]:
    """User-given data paths: each must exist and lie inside the project."""
    resolved, problems = [], []
    for given in data_paths:
        path = Path(given).expanduser()
        path = (path if path.is_absolute() else root / path).resolve()
        if not path.is_relative_to(root):
            problems.append(f"'{given}' is outside the project folder {root}")
        elif not path.exists():
            problems.append(f"'{given}' does not exist (looked at {path})")
        else:
            resolved.append(path)
    if problems:
        raise UserError("Some data paths cannot be used:", "copy or link the data into the "
                        "project (e.g. under data/) and pass its path relative to the project.",
                        problems=problems)
    return resolved


def discover(project: str | Path, *, data_paths: Sequence[str] = (),
             text_column: str | None = None, label_column: str | None = None,
             hardware: Hardware | None = None, dependencies: Dependencies | None = None,
             progress: Callable[[str], None] | None = None) -> ProjectFacts:
    """Look at a project without changing anything in it."""
    root = resolve_project(project)
    given_data = resolve_data_paths(root, data_paths)
    report = progress or (lambda message: None)
    report("scanning files")
    files = walk_project(root)
    report(f"reading framework evidence from {len(files.python_files)} source files")
    framework = discover_framework(root, files.dependency_files,
                                   files.python_files + files.notebooks)
    existing = discover_existing(root, files.python_files, files.config_files)
    data_candidates = given_data or sorted(files.data_files + files.dataset_folders)
    data = []
    for path in data_candidates:
        report(f"reading {path.relative_to(root).as_posix()}")
        data.append(inspect_data_file(path, root, text_column, label_column))
    return ProjectFacts(
        root=root,
        framework=framework,
        existing=existing,
        data=tuple(data),
        dependencies=dependencies or discover_dependencies(),
        hardware=hardware or probe_hardware(),
        conventions=discover_conventions(root, files.top_level_dirs),
        files_scanned=files.total_files,
    )
