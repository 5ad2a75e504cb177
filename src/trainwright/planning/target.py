"""Which transformers release the setup is written for: the project's pin where it has one
(4.46 or newer), else the installed release, else the newest trainwright knows. The config's
TrainingArguments keys, the script's API names and requirements-training.txt follow it."""

from __future__ import annotations

from dataclasses import replace

from trainwright.config.releases import (
    OLDEST_SUPPORTED,
    known_releases,
    release_field_specs,
    release_for,
)
from trainwright.discovery.models import Dependencies
from trainwright.discovery.pins import Pin, allowed
from trainwright.errors import UserError
from trainwright.planning.versions import version_tuple

# Releases older than the oldest supported one, to tell "too old" from "newer than known".
OLDER_RELEASES = tuple(f"4.{minor}.{patch}" for minor in range(46) for patch in range(7)) + (
    "3.5.1", "3.0.2", "2.11.0")


def pin_text(pin: Pin) -> str:
    where = f"{pin.file}:{pin.line}" if pin.line else pin.file
    return f"transformers{pin.specifier} ({where})"


def target_transformers(dependencies: Dependencies) -> Dependencies:
    """The dependencies with transformers_target, its TrainingArguments fields and the reason
    set from the project's most specific pin; unchanged without a pin."""
    if not dependencies.pins:
        return dependencies
    pin = dependencies.pins[0]
    installed = dependencies.version("transformers")
    if installed and allowed(pin, [installed.split("+", 1)[0]]):
        return replace(dependencies, target_reason=f"the installed transformers {installed} "
                                                    f"is what the project pins: {pin_text(pin)}")
    if pin.exact:  # a version the table may list under another patch (4.46.0, 4.51.0)
        too_old = version_tuple(pin.exact) < version_tuple(OLDEST_SUPPORTED)
        release = None if too_old else release_for(pin.exact)
        target, how = pin.exact, "pinned"
    else:
        supported = allowed(pin, known_releases())
        too_old = not supported and bool(allowed(pin, OLDER_RELEASES))
        release = supported[-1] if supported else None
        target, how = release, "the newest release the pin allows"
    if too_old:
        raise UserError(
            f"The project pins {pin_text(pin)}, older than the oldest transformers trainwright "
            f"writes setups for ({OLDEST_SUPPORTED}).",
            f"raise the pin to transformers>={OLDEST_SUPPORTED} (the newest 4.x is "
            f"{_newest_of(4)}), or write the setup for another version in a separate "
            "environment.")
    if release is None:
        newest = known_releases()[-1]
        return _targeting(dependencies, newest, f"the project pins {pin_text(pin)}, newer "
                                                f"than any release trainwright knows: the "
                                                f"setup targets the newest it knows, {newest}")
    installed_text = (f"; the installed transformers {installed} does not satisfy it: "
                      "install the pinned version before training" if installed else "")
    return _targeting(dependencies, str(target), f"{how}: {pin_text(pin)}{installed_text}",
                      release)


def _targeting(dependencies: Dependencies, version: str, reason: str,
               release: str | None = None) -> Dependencies:
    specs = release_field_specs(release or version) or {}
    return replace(dependencies, transformers_target=version, target_reason=reason,
                   training_argument_fields=tuple(specs) or dependencies.training_argument_fields)


def _newest_of(major: int) -> str:
    return [release for release in known_releases() if version_tuple(release)[0] == major][-1]
