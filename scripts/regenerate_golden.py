"""Rewrite tests/golden/ from the current templates. Review the diff before committing.

    python scripts/regenerate_golden.py            # rewrite tests/golden/
    python scripts/regenerate_golden.py FOLDER     # write the same tree into FOLDER instead

tests/golden/ is replaced as a whole, so a shape that is no longer in tests/golden_projects.py
SHAPES loses its folder; another FOLDER must be empty or absent.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from golden_projects import GOLDEN_DIR, SHAPES, render_shape


def regenerate(target: Path) -> dict[str, int]:
    """Render every shape into target/<shape>/; the number of files per shape."""
    rendered = {}
    for name in SHAPES:
        with tempfile.TemporaryDirectory() as scratch:
            rendered[name] = render_shape(name, Path(scratch))
    shutil.rmtree(target, ignore_errors=True)  # only after every shape rendered
    for name, files in rendered.items():
        for relative, content in files.items():
            path = target / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8", newline="\n")
    return {name: len(files) for name, files in rendered.items()}


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    target = Path(arguments[0]) if arguments else GOLDEN_DIR
    if target.resolve() != GOLDEN_DIR.resolve() and target.exists() and any(target.iterdir()):
        print(f"{target} is not empty: give an empty or new folder", file=sys.stderr)
        return 2
    for name, count in regenerate(target).items():
        print(f"{target / name}: {count} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
