"""Read-only discovery: what a project holds, as frozen facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from trainwright.discovery.candidates import find_data
from trainwright.discovery.dependencies import discover_dependencies
from trainwright.discovery.existing import discover_conventions, discover_existing
from trainwright.discovery.framework import discover_framework
from trainwright.discovery.hardware import probe_hardware
from trainwright.discovery.local_models import discover_local_models
from trainwright.discovery.models import Dependencies, Hardware, ProjectFacts
from trainwright.discovery.pins import find_pins
from trainwright.discovery.splits import resolve_given
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
    """The files and save_to_disk folders that `--data` arguments (files, folders, globs)
    stand for; a UserError names every argument that is outside the project or missing."""
    return list(resolve_given(root, data_paths).paths)


def discover(project: str | Path, *, data_paths: Sequence[str] = (),
             text_column: str | None = None, label_column: str | None = None,
             prompt_column: str | None = None, response_column: str | None = None,
             hardware: Hardware | None = None, dependencies: Dependencies | None = None,
             progress: Callable[[str], None] | None = None) -> ProjectFacts:
    """Look at a project without changing anything in it."""
    root = resolve_project(project)
    given_data = resolve_given(root, data_paths)
    report = progress or (lambda message: None)
    report("scanning files")
    files = walk_project(root, report)
    report(f"reading framework evidence from {len(files.python_files)} source files")
    framework = discover_framework(root, files.dependency_files,
                                   files.python_files + files.notebooks)
    existing = discover_existing(root, files.python_files, files.config_files)
    data, notes = find_data(root, files, given_data, report, text_column=text_column,
                            label_column=label_column, prompt_column=prompt_column,
                            response_column=response_column)
    return ProjectFacts(
        root=root,
        framework=framework,
        existing=existing,
        data=tuple(data),
        dependencies=replace(dependencies or discover_dependencies(),
                             pins=find_pins(root, files.dependency_files)),
        hardware=hardware or probe_hardware(),
        conventions=discover_conventions(root, files.top_level_dirs),
        files_scanned=files.total_files,
        notes=notes,
        local_models=discover_local_models(root, files.model_folders),
    )
