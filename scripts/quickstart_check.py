"""A newcomer's path, as CI walks it: README.md's first command exactly as written, then the
start command that its summary printed, with --max-steps 2. Exit status: 0 when both worked.

Run from the repository root (`.ci/run` does). Files the walk writes into the example project
are removed afterwards; what was there before is left alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_HEADING = "Start training (from the project root):"


def first_command(readme: str) -> str:
    """The first bash block of the Quickstart section."""
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    if block is None:
        raise SystemExit("README.md: no ```bash block in the Quickstart section")
    return block.group(1).strip()


def start_commands(summary: str) -> list[str]:
    """The indented lines under 'Start training (from the project root):'."""
    lines = summary.splitlines()
    if START_HEADING not in lines:
        raise SystemExit(f"init's summary has no '{START_HEADING}' line:\n{summary}")
    commands = []
    for line in lines[lines.index(START_HEADING) + 1:]:
        if not line.startswith("  "):
            break
        commands.append(line.strip())
    return commands


def run(command: str) -> subprocess.CompletedProcess:
    print(f"$ {command}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", flush=True)
    print(f"exit {result.returncode} after {time.perf_counter() - started:.1f} s", flush=True)
    return result


def untracked(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.exists() else set()


def main() -> int:
    command = first_command((ROOT / "README.md").read_text(encoding="utf-8"))
    project = ROOT / command.rsplit(" ", 1)[-1]
    before = untracked(project)
    try:
        init = run(command)
        if init.returncode != 0:
            return 1
        steps = start_commands(init.stdout)
        if not steps or not steps[-1].startswith("python train.py"):
            print(f"the start command is not a train.py run: {steps}")
            return 1
        training = run(" && ".join([*steps[:-1], f"{steps[-1]} --max-steps 2"]))
        return 0 if training.returncode == 0 else 1
    finally:
        for path in sorted(untracked(project) - before, key=lambda p: len(p.parts),
                           reverse=True):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
