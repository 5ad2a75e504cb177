"""One base error for everything the user can fix; the CLI maps it to exit code 2."""

from __future__ import annotations


class TrainwrightError(Exception):
    """Base of all trainwright errors."""

    exit_code = 1


class UserError(TrainwrightError):
    """Bad usage or bad input: names what is wrong and how to fix it.

    ``problems`` collects every problem found, so the user fixes them in one go.
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str = "", *, problems: list[str] | None = None):
        self.problem = problem
        self.fix = fix
        self.problems = problems or []
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.problem]
        lines += [f"  - {p}" for p in self.problems]
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)

