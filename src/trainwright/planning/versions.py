"""Version numbers of installed packages, read one way everywhere."""

from __future__ import annotations

import re


def version_tuple(version: str | None, parts: int = 2) -> tuple[int, ...]:
    """(major, minor) of a version string such as '5.24.0' or '2.13.0+cpu'; () when unknown."""
    if not version:
        return ()
    numbers = re.findall(r"\d+", version.split("+")[0])
    return tuple(int(number) for number in numbers[:parts])


def major_minor(version: str) -> str:
    return ".".join(str(part) for part in version_tuple(version))
