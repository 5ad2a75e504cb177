"""The per-release TrainingArguments table: what each supported transformers release accepts.

The expectations are read from the released wheels' training_args.py (scripts/
build_field_tables.py builds the table from them), not from changelogs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from importlib import metadata, resources
from pathlib import Path

import pytest

from trainwright.config.fields import FieldSpec, installed_field_specs
from trainwright.config.releases import (
    OLDEST_SUPPORTED,
    TABLE_FILE,
    known_releases,
    release_field_specs,
    release_for,
)
from trainwright.planning.versions import version_tuple

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPOSITORY = Path(__file__).resolve().parent.parent


def fields_of(version: str) -> dict[str, FieldSpec]:
    specs = release_field_specs(version)
    assert specs is not None, f"no table for {version}"
    return specs


def test_every_minor_from_the_oldest_supported_to_5_24_is_in_the_table():
    minors = {version_tuple(release) for release in known_releases()}
    assert min(minors) == version_tuple(OLDEST_SUPPORTED) == (4, 46)
    assert {(4, minor) for minor in range(46, 58)} <= minors
    assert {(5, minor) for minor in range(25)} <= minors
    assert list(known_releases()) == sorted(known_releases(), key=lambda v: version_tuple(v, 3))
    assert release_for("4.46") is not None and release_for("5.24") == "5.24.0"


def test_eval_strategy_everywhere_and_evaluation_strategy_gone_from_4_51():
    # 4.46 to 4.50 still declare the deprecated `evaluation_strategy` field; 4.51 removed it.
    for version in known_releases():
        assert "eval_strategy" in fields_of(version), version
    assert "evaluation_strategy" in fields_of("4.46.3")
    assert "evaluation_strategy" in fields_of("4.50.3")
    assert "evaluation_strategy" not in fields_of("4.51.3")
    assert "evaluation_strategy" not in fields_of("5.24.0")


def test_warmup_steps_took_over_warmup_ratio_in_5_x():
    assert fields_of("4.57.6")["warmup_ratio"].annotation == "float"
    assert fields_of("4.57.6")["warmup_steps"].annotation == "int"
    # 5.0 made warmup_steps a float (a fraction below 1 is a ratio) and deprecated warmup_ratio,
    # which 5.15 removed.
    assert fields_of("5.0.0")["warmup_steps"].annotation == "float"
    assert fields_of("5.0.0")["warmup_ratio"].annotation == "float | None"
    assert fields_of("5.14.1")["warmup_ratio"].kinds == {"float", "None"}
    assert "warmup_ratio" not in fields_of("5.15.1")
    assert "warmup_ratio" not in fields_of("5.24.0")


def test_choices_are_per_release():
    assert "ccl" in fields_of("4.57.6")["ddp_backend"].choices
    assert "xccl" in fields_of("5.24.0")["ddp_backend"].choices
    assert "ccl" not in fields_of("5.24.0")["ddp_backend"].choices


def test_the_installed_release_matches_its_table_entry():
    installed = metadata.version("transformers")
    table = release_field_specs(installed)
    assert table is not None, (f"transformers {installed} is installed but the shipped table "
                               "stops before it: run scripts/build_field_tables.py")
    read = installed_field_specs()
    assert sorted(table) == sorted(read)
    assert {name: (spec.annotation, spec.choices) for name, spec in table.items()} == {
        name: (spec.annotation, spec.choices) for name, spec in read.items()}


def test_a_patch_resolves_to_the_table_release_with_its_fields():
    assert release_for("4.46.2") == "4.46.3"
    assert release_for("4.46.3") == "4.46.3"
    assert release_for("4.57.9") == "4.57.6"  # a patch newer than the table: its minor's newest
    # Not every patch shares its minor's fields: 4.46.2 added average_tokens_across_devices,
    # 4.57.5 changed lr_scheduler_kwargs; those minors keep a release per variant.
    assert "average_tokens_across_devices" not in fields_of("4.46.1")
    assert "average_tokens_across_devices" in fields_of("4.46.2")
    assert release_for("4.57.2") == "4.57.4"
    assert (fields_of("4.57.2")["lr_scheduler_kwargs"]
            != fields_of("4.57.6")["lr_scheduler_kwargs"])
    assert fields_of("5.24.0+cpu") == fields_of("5.24.0")


@pytest.mark.parametrize("version", ["4.45", "4.45.2", "3.0.0", "5.99.0", "5", ""])
def test_a_minor_outside_the_table_has_no_fields(version):
    assert release_field_specs(version) is None


def test_the_table_ships_with_the_package_and_says_how_it_was_built():
    resource = resources.files("trainwright.config").joinpath(TABLE_FILE)
    text = resource.read_text(encoding="utf-8")
    header = json.loads(text)["_built_by"]
    assert header["script"] == "scripts/build_field_tables.py"
    assert any(wheel.startswith("transformers-4.46.3-py3-none-any.whl sha256:")
               for wheel in header["wheels"])
    assert len(text.encode()) < 100_000
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"config/{TABLE_FILE}" in pyproject["tool"]["setuptools"]["package-data"]["trainwright"]


def test_the_table_is_exactly_what_the_build_script_writes():
    """The shipped file is the script's deterministic output for its own releases: nothing was
    edited by hand, and the loader reads back what the writer meant."""
    spec = importlib.util.spec_from_file_location(
        "build_field_tables", REPOSITORY / "scripts" / "build_field_tables.py")
    script = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_field_tables", script)
    spec.loader.exec_module(script)
    header = json.loads(script.OUTPUT.read_text(encoding="utf-8"))["_built_by"]
    wheels = {wheel.split("-")[1]: wheel for wheel in header["wheels"]}
    releases = {version: fields_of(version) for version in known_releases()}
    rebuilt = script.dump(script.build_table(releases, wheels))
    assert rebuilt == script.OUTPUT.read_text(encoding="utf-8")


def test_optional_annotations_of_4_x_admit_none():
    assert FieldSpec("eval_steps", "Optional[float]").kinds == {"float", "None"}
    assert fields_of("4.46.3")["save_total_limit"].kinds == {"int", "None"}
