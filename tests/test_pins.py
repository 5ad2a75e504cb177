"""Version pins of a project: found in each kind of dependency file, as a user wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwright.discovery.framework import discover_framework
from trainwright.discovery.pins import Pin, allowed, find_pins
from trainwright.discovery.walk import is_dependency_file, walk_project


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pins_of(root: Path) -> tuple[Pin, ...]:
    """The transformers pins of the project, found as discovery finds its dependency files."""
    return find_pins(root, walk_project(root).dependency_files)


def test_requirements_with_comments_extras_markers_and_options(tmp_path):
    write(tmp_path, "requirements.txt", """\
# Training stack
-r requirements-base.txt
-e ./vendor/tokenizer
--extra-index-url https://download.pytorch.org/whl/cpu
sentence-transformers==3.0.1
torch>=2.2  # CPU build
transformers[torch]==4.46.3 ; python_version >= "3.10"  # pinned for the tokenizer fix
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.46.3", "requirements.txt", 7, "4.46.3"),)


def test_a_range_keeps_its_written_order_and_a_hashed_line_its_first_line(tmp_path):
    write(tmp_path, "requirements-train.txt", "Transformers >= 4.40 , < 4.50\n")
    write(tmp_path, "requirements-lock.txt", """\
# via pip-compile
transformers==4.49.0 \\
    --hash=sha256:0123456789abcdef
""")
    assert find_pins(tmp_path, [tmp_path / "requirements-train.txt",
                                tmp_path / "requirements-lock.txt"]) == (
        Pin("transformers", "==4.49.0", "requirements-lock.txt", 2, "4.49.0"),
        Pin("transformers", ">=4.40,<4.50", "requirements-train.txt", 1, None),
    )


def test_a_constraints_file_pins_but_declares_nothing(tmp_path):
    write(tmp_path, "constraints.txt", "torch==2.3.1\ntransformers~=4.46.0\n")
    files = walk_project(tmp_path).dependency_files
    assert [path.name for path in files] == ["constraints.txt"]
    assert pins_of(tmp_path) == (
        Pin("transformers", "~=4.46.0", "constraints.txt", 2, None),)
    framework = discover_framework(tmp_path, files, [])
    assert [e for e in framework.evidence if e.kind != "installed"] == []


def test_poetry_caret_tilde_and_bare_versions_become_pep_440(tmp_path):
    write(tmp_path, "pyproject.toml", """\
[tool.poetry]
name = "reviews"
description = "classifies reviews with transformers"

[tool.poetry.dependencies]
python = "^3.10"
transformers = { version = "^4.46", extras = ["torch"] }

[tool.poetry.group.dev.dependencies]
Transformers = "~4.46"

[tool.poetry.group.export.dependencies]
transformers = "4.46.3"
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.46.3", "pyproject.toml", 13, "4.46.3"),
        Pin("transformers", ">=4.46,<5.0", "pyproject.toml", 7, None),
        Pin("transformers", ">=4.46,<4.47", "pyproject.toml", 10, None),
    )


def test_pep_621_dependencies_and_extras(tmp_path):
    write(tmp_path, "pyproject.toml", """\
[project]
name = "reviews"
dependencies = [
    "torch>=2.2",
    "transformers>=4.46,<5",
]

[project.optional-dependencies]
export = ["transformers[onnx]==4.57.6"]
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.57.6", "pyproject.toml", 9, "4.57.6"),
        Pin("transformers", ">=4.46,<5", "pyproject.toml", 5, None),
    )


def test_a_uv_lock_gives_the_resolved_version_before_the_range(tmp_path):
    write(tmp_path, "pyproject.toml", """\
[project]
name = "reviews"
dependencies = ["transformers>=4.46"]
""")
    write(tmp_path, "uv.lock", """\
version = 1
requires-python = ">=3.10"

[[package]]
name = "tokenizers"
version = "0.20.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "transformers"
version = "4.48.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "tokenizers" },
]
""")
    pins = pins_of(tmp_path)
    assert pins == (
        Pin("transformers", "==4.48.3", "uv.lock", 11, "4.48.3"),
        Pin("transformers", ">=4.46", "pyproject.toml", 3, None),
    )
    assert pins[0].from_lock_file and not pins[1].from_lock_file


def test_lock_files_of_poetry_pdm_and_pipenv(tmp_path):
    write(tmp_path, "poetry.lock", """\
[[package]]
name = "transformers"
version = "4.46.3"
description = "State-of-the-art Machine Learning for JAX, PyTorch and TensorFlow"
optional = false
""")
    write(tmp_path, "sub/pdm.lock", """\
[metadata]
groups = ["default"]

[[package]]
name = "transformers"
version = "4.47.1"
""")
    write(tmp_path, "Pipfile.lock", """\
{
    "_meta": {"hash": {"sha256": "abc"}},
    "default": {
        "transformers": {
            "hashes": ["sha256:abc"],
            "version": "==4.50.3"
        }
    },
    "develop": {}
}
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.50.3", "Pipfile.lock", 4, "4.50.3"),
        Pin("transformers", "==4.46.3", "poetry.lock", 3, "4.46.3"),
        Pin("transformers", "==4.47.1", "sub/pdm.lock", 6, "4.47.1"),
    )


def test_lock_files_never_count_as_framework_evidence(tmp_path):
    write(tmp_path, "poetry.lock", '[[package]]\nname = "tensorflow"\nversion = "2.16.1"\n')
    files = walk_project(tmp_path).dependency_files
    assert [path.name for path in files] == ["poetry.lock"]
    framework = discover_framework(tmp_path, files, [])
    assert [e for e in framework.evidence if e.kind != "installed"] == []


def test_conda_environment_with_a_pip_section(tmp_path):
    write(tmp_path, "environment.yml", """\
name: reviews
channels:
  - conda-forge
dependencies:
  - python=3.11
  - conda-forge::transformers=4.46.3=pyhd8ed1ab_0
  - pytorch>=2.2
  - pip
  - pip:
      - transformers==4.46.3
      - datasets>=2.19
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.46.3", "environment.yml", 6, "4.46.3"),
        Pin("transformers", "==4.46.3", "environment.yml", 10, "4.46.3"),
    )


def test_conda_prefix_match_is_a_wildcard(tmp_path):
    write(tmp_path, "environment.yaml", "dependencies:\n  - transformers=4.46\n")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.46.*", "environment.yaml", 2, None),)


def test_setup_py_list_literal_is_read_never_run(tmp_path):
    marker = tmp_path / "setup.py was run"
    write(tmp_path, "setup.py", f"""\
from pathlib import Path

from setuptools import setup

Path({str(marker)!r}).write_text("ran")
REQUIREMENTS = [
    "torch>=2.2",
    "transformers>=4.46,<4.58",
]

setup(
    name="reviews",
    install_requires=REQUIREMENTS,
    extras_require={{"onnx": ["transformers==4.57.6"]}},
)
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.57.6", "setup.py", 14, "4.57.6"),
        Pin("transformers", ">=4.46,<4.58", "setup.py", 8, None),
    )
    assert not marker.exists()


def test_setup_cfg_and_pipfile(tmp_path):
    write(tmp_path, "setup.cfg", """\
[metadata]
name = reviews

[options]
install_requires =
    torch>=2.2
    transformers>=4.46
""")
    write(tmp_path, "Pipfile", """\
[[source]]
url = "https://pypi.org/simple"
name = "pypi"

[packages]
torch = "*"
transformers = {version = "==4.52.4", extras = ["torch"]}

[requires]
python_version = "3.11"
""")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.52.4", "Pipfile", 7, "4.52.4"),
        Pin("transformers", ">=4.46", "setup.cfg", 7, None),
    )


def test_the_requirements_trainwright_wrote_are_not_a_pin_of_the_project(tmp_path):
    write(tmp_path, "requirements-training.txt", """\
# What train.py needs. Generated by trainwright 0.1.0. Install with:
#   pip install -r requirements-training.txt
torch>=2.2
transformers>=5.24,<6
""")
    write(tmp_path, "requirements.txt", "transformers==4.57.6\n")
    assert pins_of(tmp_path) == (
        Pin("transformers", "==4.57.6", "requirements.txt", 1, "4.57.6"),)


def test_a_project_without_transformers_has_no_pins(tmp_path):
    write(tmp_path, "requirements.txt", "torch==2.3.1\nsentence-transformers==3.0.1\n")
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = ["numpy"]\n')
    assert pins_of(tmp_path) == ()


def test_an_unversioned_or_url_dependency_is_no_pin(tmp_path):
    write(tmp_path, "requirements.txt",
          "transformers\ntransformers @ git+https://github.com/huggingface/transformers\n")
    write(tmp_path, "Pipfile", '[packages]\ntransformers = "*"\n')
    assert pins_of(tmp_path) == ()


def test_a_broken_file_is_skipped_and_the_others_still_read(tmp_path):
    write(tmp_path, "pyproject.toml", '[project\ndependencies = ["transformers==4.46.3"]\n')
    write(tmp_path, "uv.lock", "[[package]\nname = 'transformers'\n")
    write(tmp_path, "setup.py", "setup(install_requires=['transformers==4.46.3'\n")
    write(tmp_path, "environment.yml", "dependencies: [transformers=4.46.3\n")
    write(tmp_path, "Pipfile.lock", '{"default": {"transformers": ')
    assert pins_of(tmp_path) == ()
    write(tmp_path, "requirements.txt", "transformers>=4.46\n")
    assert pins_of(tmp_path) == (Pin("transformers", ">=4.46", "requirements.txt", 1, None),)


def test_lock_and_constraints_files_are_dependency_files():
    for name in ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "constraints.txt",
                 "constraints-cuda.txt", "requirements-dev.txt"):
        assert is_dependency_file(name), name
    assert not is_dependency_file("package-lock.json")


@pytest.mark.parametrize(("specifier", "expected"), [
    (">=4.40,<4.50", ["4.46.3", "4.49.0"]),
    ("~=4.46.0", ["4.46.3"]),
    ("==4.57.6", ["4.57.6"]),
    (">=5.0,<6.0", ["5.0.0", "5.24.0"]),
    ("<4.46", []),
])
def test_allowed_versions_of_a_pin(specifier, expected):
    pin = Pin("transformers", specifier, "requirements.txt", 1, None)
    releases = ["4.46.3", "4.49.0", "4.57.6", "5.0.0", "5.24.0", "5.25.0rc1"]
    assert allowed(pin, releases) == expected


def test_a_pin_of_a_pre_release_allows_it():
    pin = Pin("transformers", "==5.25.0rc1", "requirements.txt", 1, "5.25.0rc1")
    assert allowed(pin, ["5.24.0", "5.25.0rc1"]) == ["5.25.0rc1"]
