"""Write the rendered files safely: a status per file, atomic writes, backups, dry run.

Statuses: create (new file), identical (already there, same content), conflict (an existing
file differs and --force was not given: nothing is written), overwrite (with --force; the old
file is kept as <name>.bak), update (.gitignore gains lines; existing lines are kept), skip
(not written: its note says why). A binary file (a picture) is produced only when it is written:
its change holds the function that writes it instead of a content.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trainwright.errors import UserError


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the project root
    status: str
    content: str
    previous: str | None
    backup: str | None = None
    note: str | None = None  # what the existing file is, when that matters to replacing it
    # A binary file: writes it to the path it is given (atomically); ``content`` is empty.
    writer: Callable[[Path], None] | None = field(default=None, compare=False, repr=False)

    def diff(self) -> str:
        if self.writer is not None:
            return f"Binary file {self.path} ({self.note or 'redrawn'})\n"
        old = (self.previous or "").splitlines(keepends=True)
        new = self.content.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.path}", f"b/{self.path}"))


def _read_existing(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8", newline="") as handle:  # line endings as they are
            return handle.read()
    except UnicodeDecodeError:
        return "<binary or non-UTF-8 content>"


def gitignore_content(existing: str | None, lines: tuple[str, ...]) -> str:
    present = {line.strip() for line in (existing or "").splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        return existing or ""
    text = existing or ""
    newline = "\r\n" if "\r\n" in text else "\n"  # appended in the file's own style
    if text and not text.endswith("\n"):
        text += newline
    added = ["# Training (added by trainwright): secrets and outputs", *missing]
    return text + (newline if text else "") + newline.join(added) + newline


def plan_changes(root: Path, files: dict[str, str], gitignore_lines: tuple[str, ...],
                 force: bool, notes: dict[str, str] | None = None) -> list[FileChange]:
    """A change per file; ``notes`` say what an existing file is (another tool's config)."""
    changes = []
    for relative, content in files.items():
        existing = _read_existing(root / relative)
        if existing is None:
            status = "create"
        elif existing == content:
            status = "identical"
        else:
            status = "overwrite" if force else "conflict"
        backup = f"{relative}.bak" if status == "overwrite" else None
        note = (notes or {}).get(relative) if existing is not None else None
        changes.append(FileChange(relative, status, content, existing, backup, note))
    existing = _read_existing(root / ".gitignore")
    content = gitignore_content(existing, gitignore_lines)
    status = "create" if existing is None else ("identical" if content == existing else "update")
    changes.append(FileChange(".gitignore", status, content, existing))
    return changes


def atomic_write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        if isinstance(content, bytes):
            with os.fdopen(descriptor, "wb") as binary:
                binary.write(content)
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def apply_changes(root: Path, changes: list[FileChange]) -> None:
    """Write every change, or nothing when any file would be overwritten without --force."""
    conflicts = [change for change in changes if change.status == "conflict"]
    if conflicts:
        backups = ", ".join(f"{change.path}.bak" for change in conflicts)
        kept = "the old file is kept as" if len(conflicts) == 1 else "the old files are kept as"
        raise UserError(
            "These files already exist and differ from what trainwright would write; nothing "
            "was written:",
            "review the differences with --dry-run, then rerun with --force to overwrite them "
            f"({kept} {backups}).",
            problems=[change.path + (f": {change.note}" if change.note else "")
                      for change in conflicts],
        )
    for change in changes:
        if change.status in {"identical", "skip"}:
            continue
        target = root / change.path
        if change.status == "overwrite" and change.backup:
            shutil.copy2(target, root / change.backup)  # bytes as they were
        if change.writer is not None:
            change.writer(target)
        else:
            atomic_write(target, change.content)
