"""TrainingArguments fields of every supported transformers release, from a table shipped with
the package (built from the released wheels by scripts/build_field_tables.py), so a config can
target a version the project pins without that version being installed."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from trainwright.config.fields import FieldSpec
from trainwright.planning.versions import version_tuple

# The generated scripts pass the tokenizer as Trainer(processing_class=...), new in 4.46.0.
OLDEST_SUPPORTED = "4.46"
TABLE_FILE = "training_arguments_releases.json"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, FieldSpec]]:
    """Release (e.g. '4.46.3') -> field name -> spec, oldest release first."""
    text = resources.files("trainwright.config").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    raw = json.loads(text)
    specs = {key: FieldSpec(key.split("@", 1)[0], entry["annotation"], tuple(entry["choices"]))
             for key, entry in raw["fields"].items()}
    releases: dict[str, dict[str, FieldSpec]] = {}
    keys: set[str] = set()
    # Each release lists the spec keys it added and removed against the one before it.
    for version in sorted(raw["releases"], key=lambda name: version_tuple(name, 3)):
        change = raw["releases"][version]
        keys = (keys - set(change["removed"])) | set(change["added"])
        releases[version] = {specs[key].name: specs[key] for key in sorted(keys)}
    return releases


def known_releases() -> tuple[str, ...]:
    """The releases the table holds, oldest first: the newest patch of each minor, and an older
    patch where its fields differ from the newer ones of its minor (4.46.1, 4.57.4)."""
    return tuple(_table())


def release_for(version: str) -> str | None:
    """The table's release whose TrainingArguments fields `version` has: itself, or the first
    release of the same major.minor at or above its patch (a table release stands for the
    patches below it), or the newest of that minor for a patch newer than the table; None when
    the table has no such minor."""
    table = _table()
    if version in table:
        return version
    minor = version_tuple(version)
    same_minor = [release for release in table if version_tuple(release) == minor]
    if len(minor) < 2 or not same_minor:
        return None
    patch = version_tuple(version, 3)
    return next((release for release in same_minor if version_tuple(release, 3) >= patch),
                same_minor[-1])


def release_field_specs(version: str) -> dict[str, FieldSpec] | None:
    """Field name -> spec of TrainingArguments in `version`; None for a minor the table lacks
    (older than OLDEST_SUPPORTED, or newer than the table)."""
    release = release_for(version)
    return None if release is None else dict(_table()[release])
