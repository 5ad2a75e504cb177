"""Build src/trainwright/config/training_arguments_releases.json from the released wheels.

    python scripts/build_field_tables.py                  # every minor from 4.46 to the newest
    python scripts/build_field_tables.py --wheels DIR     # keep (and reuse) the wheels in DIR
    python scripts/build_field_tables.py --check          # exit 1 when the table is out of date

Every final transformers release from OLDEST_SUPPORTED on that `pip index versions transformers`
lists (yanked ones are not listed) is read: `pip download` fetches its wheel, the script reads
`transformers/training_args.py` out of it with zipfile (nothing is installed or imported) and
parses it with trainwright.config.fields.specs_from_source: the annotation and the `choices`
metadata of every TrainingArguments field.

The table holds the newest patch of each minor, and an older patch only where its fields differ
from the newer patches of its minor (4.46.1 lacks `average_tokens_across_devices`, which 4.46.2
added); a table release stands for itself and the patches of its minor below it. Each distinct
field spec is kept once, under the field's name for its first variant and `name@X.Y.Z` for
a variant first seen in release X.Y.Z (a changed annotation or choices). Each release lists the spec
keys it added and removed against the table release before it, so the file stays tens of KB;
trainwright.config.releases rebuilds the full field set of any release from it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "src"))

from trainwright.config.fields import FieldSpec, specs_from_source
from trainwright.config.releases import OLDEST_SUPPORTED, TABLE_FILE
from trainwright.planning.versions import version_tuple

OUTPUT = REPOSITORY / "src" / "trainwright" / "config" / TABLE_FILE
SOURCE_IN_WHEEL = "transformers/training_args.py"
RELEASE_RE = re.compile(r"^\d+\.\d+\.\d+$")  # final releases only: no rc, dev or post


def registry_versions() -> list[str]:
    """Every final transformers release the package registry lists."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "transformers"],
        capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        if line.strip().startswith("Available versions:"):
            names = line.split(":", 1)[1].split(",")
            return [name.strip() for name in names if RELEASE_RE.match(name.strip())]
    raise SystemExit(f"`pip index versions transformers` listed no versions:\n{listing}")


def patches_by_minor(versions: list[str], oldest: str) -> dict[tuple[int, ...], list[str]]:
    """major.minor -> its releases, newest patch first, for every minor from `oldest` on."""
    minors: dict[tuple[int, ...], list[str]] = {}
    for version in sorted(versions, key=lambda name: version_tuple(name, 3), reverse=True):
        if version_tuple(version) >= version_tuple(oldest):
            minors.setdefault(version_tuple(version), []).append(version)
    return dict(sorted(minors.items()))


def distinct_patches(patches: list[str], read) -> dict[str, dict[str, FieldSpec]]:
    """The newest patch, and each older one whose fields differ from the patch above it."""
    kept: dict[str, dict[str, FieldSpec]] = {}
    above: dict[str, FieldSpec] | None = None
    for version in patches:  # newest first
        specs = read(version)
        if specs != above:
            kept[version] = specs
        above = specs
    return dict(sorted(kept.items(), key=lambda item: version_tuple(item[0], 3)))


def download_wheel(version: str, folder: Path) -> Path:
    expected = folder / f"transformers-{version}-py3-none-any.whl"
    if not expected.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"transformers=={version}", "--no-deps",
             "--only-binary", ":all:", "--quiet", "--dest", str(folder)], check=True)
    if not expected.is_file():
        raise SystemExit(f"pip download transformers=={version} gave no {expected.name}")
    return expected


def wheel_specs(wheel: Path) -> dict[str, FieldSpec]:
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read(SOURCE_IN_WHEEL).decode("utf-8")
    specs = specs_from_source(source)
    if not specs:
        raise SystemExit(f"{wheel.name}: no TrainingArguments class in {SOURCE_IN_WHEEL}")
    return specs


def _spec_entry(spec: FieldSpec) -> dict:
    return {"annotation": spec.annotation, "choices": list(spec.choices)}


def build_table(releases: dict[str, dict[str, FieldSpec]], wheels: dict[str, str]) -> dict:
    """The JSON table: shared specs, and per release the spec keys added and removed."""
    fields: dict[str, dict] = {}
    key_of: dict[tuple[str, str, tuple], str] = {}  # (name, annotation, choices) -> spec key
    entries: dict[str, dict] = {}
    previous: set[str] = set()
    for version, specs in releases.items():
        current = set()
        for name, spec in specs.items():
            identity = (name, spec.annotation, spec.choices)
            if identity not in key_of:
                key = name if name not in fields else f"{name}@{version}"
                assert key not in fields, f"two variants of {name} first seen in {version}"
                key_of[identity] = key
                fields[key] = _spec_entry(spec)
            current.add(key_of[identity])
        entries[version] = {"added": sorted(current - previous),
                            "removed": sorted(previous - current)}
        previous = current
    return {
        "_built_by": {
            "script": "scripts/build_field_tables.py",
            "source": f"{SOURCE_IN_WHEEL} of each wheel, parsed with "
                      "trainwright.config.fields.specs_from_source",
            "format": "fields: spec key -> annotation and choices (the key is the field name, "
                      "or name@X.Y.Z for a variant first seen in release X.Y.Z); releases: the "
                      "spec keys each release added and removed against the release before it; "
                      "a release stands for the patches of its minor up to it",
            "wheels": sorted(wheels.values(), key=lambda w: version_tuple(w.split("-")[1], 3)),
        },
        "fields": fields,
        "releases": entries,
    }


def dump(table: dict) -> str:
    """Deterministic and compact: sorted keys, one field spec and one release per line."""
    def line(value) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def block(mapping: dict, order) -> str:
        rows = [f"{line(key)}:{line(mapping[key])}" for key in order]
        return "{\n" + ",\n".join(rows) + "\n}"

    releases = sorted(table["releases"], key=lambda version: version_tuple(version, 3))
    return ("{\n"
            f"\"_built_by\":{line(table['_built_by'])},\n"
            f"\"fields\":{block(table['fields'], sorted(table['fields']))},\n"
            f"\"releases\":{block(table['releases'], releases)}\n"
            "}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, help="folder to keep and reuse the wheels in")
    parser.add_argument("--versions", nargs="+", help="these releases instead of the registry's")
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed table instead of writing it")
    arguments = parser.parse_args(argv)
    minors = patches_by_minor(arguments.versions or registry_versions(), OLDEST_SUPPORTED)
    releases: dict[str, dict[str, FieldSpec]] = {}
    wheels: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = arguments.wheels or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)

        def read(version: str) -> dict[str, FieldSpec]:
            wheel = download_wheel(version, folder)
            specs = wheel_specs(wheel)
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            wheels[version] = f"{wheel.name} sha256:{digest}"
            if arguments.wheels is None:
                wheel.unlink()  # about 10 MB each; nothing to keep
            return specs

        for minor, patches in minors.items():
            kept = distinct_patches(patches, read)
            releases.update(kept)
            print(f"{'.'.join(map(str, minor))}: read {', '.join(reversed(patches))}; "
                  f"table: {', '.join(f'{v} ({len(s)} fields)' for v, s in kept.items())}")
    text = dump(build_table(releases, wheels))
    if arguments.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(REPOSITORY)} is out of date; run "
                  "python scripts/build_field_tables.py")
            return 1
        print(f"{OUTPUT.relative_to(REPOSITORY)} is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {OUTPUT.relative_to(REPOSITORY)}: {len(releases)} releases from "
          f"{len(wheels)} wheels, "
          f"{len(text.encode()):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
