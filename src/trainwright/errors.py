"""One base error for everything the user can fix; the CLI maps it to exit code 2."""

from __future__ import annotations

from dataclasses import dataclass


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



@dataclass(frozen=True)
class Candidate:
    """One value an ambiguous choice could take, with what speaks for it."""

    value: str
    evidence: str


class AmbiguousChoice(UserError):
    """Several values qualify and none is clearly right. The CLI asks in an interactive
    terminal and sets ``option`` to the answer; without one it is exit 2 listing the candidates
    and the flag that decides."""

    def __init__(self, question: str, option: str, flag: str, candidates: list[Candidate]):
        self.question = question
        self.option = option  # the Options field the answer sets
        self.flag = flag
        self.candidates = candidates
        super().__init__(f"{question}: {len(candidates)} candidates qualify and none is clearly "
                         "the one.", f"pass {flag} NAME with one of them.",
                         problems=[f"{c.value}: {c.evidence}" for c in candidates])
