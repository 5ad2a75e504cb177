"""Rewrite tests/golden/ from the current templates. Review the diff before committing."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from golden_projects import GOLDEN_DIR, SHAPES, render_shape  # noqa: E402


def main() -> int:
    for name in SHAPES:
        with tempfile.TemporaryDirectory() as scratch:
            files = render_shape(name, Path(scratch))
        target = GOLDEN_DIR / name
        shutil.rmtree(target, ignore_errors=True)
        for relative, content in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        print(f"{target}: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
