"""Framework discovery: which framework a project uses, and where the evidence is.

The installed-distribution evidence depends on the machine running the tests (weight 0.5 per
installed framework), so every end-to-end check here either makes the project's own evidence
strong enough to win regardless, looks only at the project's evidence, or replaces the
installed-package probe with an empty one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainwright.discovery import discover
from trainwright.discovery import framework as framework_module
from trainwright.discovery.framework import (
    MAX_IMPORT_WEIGHT_PER_FRAMEWORK,
    decide_framework,
    discover_framework,
    evidence_from_source,
)
from trainwright.discovery.models import Dependencies, Evidence, Hardware
from trainwright.discovery.walk import walk_project

HARDWARE = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16384,
                    source="test")
DEPENDENCIES = Dependencies(packages=(), training_argument_fields=(),
                            transformers_target="0", transformers_installed=False)


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def framework_of(root: Path):
    """Framework facts for the project at ``root``, as discover() finds them."""
    files = walk_project(root)
    return discover_framework(root, files.dependency_files, files.python_files + files.notebooks)


def project_evidence(facts) -> list[Evidence]:
    """Evidence found in the project itself (not the machine's installed packages)."""
    return [item for item in facts.evidence if item.kind != "installed"]


def only(evidence: list[Evidence], **fields) -> Evidence:
    matching = [e for e in evidence if all(getattr(e, k) == v for k, v in fields.items())]
    assert len(matching) == 1, f"expected one evidence item with {fields}, got {evidence}"
    return matching[0]


@pytest.fixture
def nothing_installed(monkeypatch):
    """Pretend no framework is installed, so the project's evidence alone decides."""
    monkeypatch.setattr(framework_module, "evidence_from_installed", list)


# ---------------------------------------------------------------------------------------------
# One kind of evidence at a time: the framework, the file and the line
# ---------------------------------------------------------------------------------------------

def test_requirements_txt_declares_tensorflow(tmp_path):
    write(tmp_path, "requirements.txt",
          "# training stack\nnumpy>=1.26\npandas\ntensorflow[and-cuda]>=2.15  # GPU build\n")
    facts = framework_of(tmp_path)
    assert facts.chosen == "tensorflow"
    item = only(project_evidence(facts))
    assert (item.framework, item.kind, item.source, item.line) == (
        "tensorflow", "requirements", "requirements.txt", 4)
    assert item.weight == 3.0
    assert "tensorflow" in item.detail


def test_requirements_dev_txt_declares_pytorch(tmp_path):
    write(tmp_path, "requirements-dev.txt", "-r requirements.txt\npytest\ntorch==2.3.0\n")
    facts = framework_of(tmp_path)
    assert facts.chosen == "pytorch"
    item = only(project_evidence(facts))
    assert (item.framework, item.kind, item.source, item.line) == (
        "pytorch", "requirements", "requirements-dev.txt", 3)


def test_pyproject_project_dependencies_declare_pytorch(tmp_path):
    write(tmp_path, "pyproject.toml", (
        "[build-system]\n"
        'requires = ["setuptools>=68"]\n'
        "\n"
        "[project]\n"
        'name = "sentiment"\n'
        'version = "0.1.0"\n'
        "dependencies = [\n"
        '    "numpy",\n'
        '    "torch>=2.1",\n'
        '    "transformers",\n'
        "]\n"
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "pytorch"
    item = only(project_evidence(facts))
    assert (item.framework, item.kind, item.source, item.line) == (
        "pytorch", "pyproject", "pyproject.toml", 9)


def test_setup_cfg_install_requires_declares_jax(tmp_path):
    write(tmp_path, "setup.cfg", (
        "[metadata]\n"
        "name = physics\n"
        "\n"
        "[options]\n"
        "install_requires =\n"
        "    numpy\n"
        "    jax>=0.4.20\n"
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "jax"
    item = only(project_evidence(facts))
    assert (item.framework, item.kind, item.source, item.line) == (
        "jax", "setup", "setup.cfg", 7)


def test_setup_py_install_requires_declares_tensorflow(tmp_path):
    write(tmp_path, "setup.py", (
        "from setuptools import setup\n"
        "\n"
        "setup(\n"
        '    name="vision",\n'
        '    install_requires=["numpy", "tensorflow>=2.15"],\n'
        ")\n"
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "tensorflow"
    item = only(project_evidence(facts))  # `from setuptools import setup` is no evidence
    assert (item.framework, item.kind, item.source, item.line) == (
        "tensorflow", "setup", "setup.py", 5)


def test_conda_environment_yml_declares_tensorflow(tmp_path):
    write(tmp_path, "environment.yml", (
        "name: tf-env\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - tensorflow=2.15\n"
        "  - pip\n"
        "  - pip:\n"
        "      - keras>=3.0\n"
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "tensorflow"
    evidence = project_evidence(facts)
    assert [(e.framework, e.kind, e.source, e.line) for e in evidence] == [
        ("tensorflow", "environment", "environment.yml", 6),
        ("tensorflow", "environment", "environment.yml", 9),
    ]


def test_pipfile_declares_jax(tmp_path):
    write(tmp_path, "Pipfile", (
        "[[source]]\n"
        'url = "https://pypi.org/simple"\n'
        "verify_ssl = true\n"
        'name = "pypi"\n'
        "\n"
        "[packages]\n"
        'jax = "*"\n'
        'requests = "*"\n'
        "\n"
        "[dev-packages]\n"
        'pytest = "*"\n'
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "jax"
    item = only(project_evidence(facts))
    assert (item.framework, item.kind, item.source, item.line) == ("jax", "pipfile", "Pipfile", 7)


def test_imports_in_python_files(tmp_path, nothing_installed):
    write(tmp_path, "src/model.py", "import os\n\nimport tensorflow as tf\n")
    write(tmp_path, "src/layers.py", '"""Layers."""\nfrom tensorflow import keras\n')
    facts = framework_of(tmp_path)
    assert facts.chosen == "tensorflow"
    assert sorted((e.framework, e.kind, e.source, e.line) for e in facts.evidence) == [
        ("tensorflow", "import", "src/layers.py", 2),
        ("tensorflow", "import", "src/model.py", 3),
    ]
    assert facts.scores["tensorflow"] == 2.0


def notebook(*cells: tuple[str, list[str]]) -> str:
    return json.dumps({
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source,
             **({"execution_count": None, "outputs": []} if kind == "code" else {})}
            for kind, source in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }, indent=1)


def test_imports_in_a_notebook_code_cell(tmp_path, nothing_installed):
    write(tmp_path, "notebooks/explore.ipynb", notebook(
        ("markdown", ["# Exploration\n", "import torch\n", "(prose, not code)"]),
        ("code", ["import numpy as np\n", "import jax.numpy as jnp\n", "x = jnp.ones(3)"]),
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "jax"
    item = only(list(facts.evidence))  # the markdown cell's "import torch" is not code
    assert (item.framework, item.kind, item.source, item.line) == (
        "jax", "import", "notebooks/explore.ipynb", 2)
    assert item.detail == "import jax.numpy as jnp"


# ---------------------------------------------------------------------------------------------
# Conflicts and weighting
# ---------------------------------------------------------------------------------------------

def test_declared_tensorflow_beats_a_few_torch_imports_end_to_end(tmp_path):
    write(tmp_path, "requirements.txt", "tensorflow==2.16.1\n")
    write(tmp_path, "train_torch.py", "import torch\n")
    write(tmp_path, "scripts/eval_torch.py", "from torch import nn\n")
    # tensorflow 3 (+0.5 if installed) against pytorch 2 (+0.5 if installed): tensorflow wins.
    facts = discover(tmp_path, hardware=HARDWARE, dependencies=DEPENDENCIES).framework
    assert facts.chosen == "tensorflow"
    found = sorted((e.framework, e.kind, e.source, e.line) for e in project_evidence(facts))
    assert found == [
        ("pytorch", "import", "scripts/eval_torch.py", 1),
        ("pytorch", "import", "train_torch.py", 1),
        ("tensorflow", "requirements", "requirements.txt", 1),
    ]
    assert facts.scores["tensorflow"] > facts.scores["pytorch"] >= 2.0
    assert "Conflicting" in facts.explanation
    assert "tensorflow" in facts.explanation and "pytorch" in facts.explanation


def evidence(framework: str, kind: str, count: int = 1, weight: float | None = None
             ) -> list[Evidence]:
    weight = framework_module.WEIGHTS[kind] if weight is None else weight
    return [Evidence(framework, kind, f"{kind}_{i}.py", i + 1, f"{framework} {kind}", weight)
            for i in range(count)]


def test_weighting_declaration_beats_two_imports_and_an_installed_package():
    items = (evidence("tensorflow", "requirements") + evidence("pytorch", "import", 2)
             + evidence("pytorch", "installed"))
    facts = decide_framework(items)
    assert facts.chosen == "tensorflow"
    assert facts.scores == {"pytorch": 2.5, "tensorflow": 3.0, "jax": 0.0}
    assert facts.evidence == tuple(items)  # every item is reported, the losing ones too
    assert "tensorflow" in facts.explanation and "pytorch" in facts.explanation


def test_weighting_many_imports_beat_one_declaration():
    items = evidence("tensorflow", "requirements") + evidence("pytorch", "import", 5)
    facts = decide_framework(items)
    assert facts.chosen == "pytorch"
    assert facts.scores["pytorch"] == 5.0 and facts.scores["tensorflow"] == 3.0
    assert "Conflicting" in facts.explanation
    assert "tensorflow 3" in facts.explanation and "pytorch scores 5" in facts.explanation


def test_weighting_installed_package_alone_decides_but_weighs_least():
    facts = decide_framework(evidence("jax", "installed"))
    assert facts.chosen == "jax"
    assert facts.scores["jax"] == 0.5
    assert "only framework" in facts.explanation

    facts = decide_framework(evidence("jax", "installed") + evidence("tensorflow", "import"))
    assert facts.chosen == "tensorflow"


def test_weighting_a_tie_prefers_pytorch():
    facts = decide_framework(evidence("jax", "requirements") + evidence("pytorch", "pyproject"))
    assert facts.scores["jax"] == facts.scores["pytorch"] == 3.0
    assert facts.chosen == "pytorch"


def test_import_weight_is_capped_per_framework():
    items = evidence("pytorch", "import", 25) + evidence("tensorflow", "requirements", 4)
    facts = decide_framework(items)
    assert facts.scores["pytorch"] == MAX_IMPORT_WEIGHT_PER_FRAMEWORK == 10.0
    assert facts.scores["tensorflow"] == 12.0
    assert facts.chosen == "tensorflow"
    assert len(facts.evidence) == 29  # capped imports are still reported


def test_import_cap_end_to_end(tmp_path, nothing_installed):
    for number in range(15):
        write(tmp_path, f"pkg/module_{number:02d}.py", "import torch\n")
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = ["jax", "flax"]\n')
    facts = framework_of(tmp_path)
    assert len([e for e in facts.evidence if e.kind == "import"]) == 15
    assert facts.scores["pytorch"] == 10.0
    assert facts.scores["jax"] == 3.0  # one pyproject line naming two jax packages counts once
    assert facts.chosen == "pytorch"


def test_no_evidence_at_all_chooses_nothing_and_says_so(tmp_path, nothing_installed):
    facts = decide_framework([])
    assert facts.chosen is None
    assert facts.evidence == ()
    assert "No framework evidence" in facts.explanation
    assert "PyTorch" in facts.explanation  # the documented fallback

    write(tmp_path, "main.py", "import os\nprint('hello')\n")
    write(tmp_path, "requirements.txt", "requests\nnumpy\n")
    facts = framework_of(tmp_path)
    assert facts.chosen is None
    assert facts.evidence == ()
    assert set(facts.scores.values()) == {0.0}
    assert "No framework evidence" in facts.explanation


# ---------------------------------------------------------------------------------------------
# What counts as an import
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, framework", [
    ("import torch", "pytorch"),
    ("from torch import nn", "pytorch"),
    ("import torch.nn as nn", "pytorch"),
    ("from torch.utils.data import DataLoader", "pytorch"),
    ("    import torch  # inside a function", "pytorch"),
    ("import tensorflow as tf", "tensorflow"),
    ("from tensorflow.keras import layers", "tensorflow"),
    ("import keras", "tensorflow"),
    ("from flax import linen", "jax"),
    ("import jax.numpy as jnp", "jax"),
    ("import optax", "jax"),
    ("import lightning as L", "pytorch"),
])
def test_import_forms_are_recognised(tmp_path, line, framework):
    path = write(tmp_path, "module.py", f"import os\n{line}\n")
    found = evidence_from_source(path, tmp_path)
    assert [(e.framework, e.kind, e.source, e.line) for e in found] == [
        (framework, "import", "module.py", 2)]


@pytest.mark.parametrize("line", [
    "# import torch",
    "    # from torch import nn",
    'x = "import torch"',
    "print('from tensorflow import keras')",
    "message = f'please import jax first'",
    "import torchtext_like_but_not_torch",
    "from torchmetrics import Accuracy",
    "import numpy as np  # torch-free",
    "important = True",
])
def test_comments_strings_and_lookalikes_are_not_imports(tmp_path, line):
    path = write(tmp_path, "module.py", f"{line}\n")
    assert evidence_from_source(path, tmp_path) == []


def test_commented_imports_do_not_change_the_choice(tmp_path, nothing_installed):
    write(tmp_path, "train.py", (
        "# import torch\n"
        "# from torch import nn\n"
        '"""Once used PyTorch; now TensorFlow."""\n'
        'NOTE = "import torch"\n'
        "import tensorflow as tf\n"
    ))
    facts = framework_of(tmp_path)
    assert facts.chosen == "tensorflow"
    assert [(e.framework, e.line) for e in facts.evidence] == [("tensorflow", 5)]


# ---------------------------------------------------------------------------------------------
# discover() as a whole
# ---------------------------------------------------------------------------------------------

def test_discover_on_a_project_without_data(tmp_path):
    write(tmp_path, "requirements.txt", "torch\n")
    write(tmp_path, "model.py", "import torch\n")
    facts = discover(tmp_path, hardware=HARDWARE, dependencies=DEPENDENCIES)
    assert facts.data == ()
    assert facts.framework.chosen == "pytorch"
    assert facts.root == tmp_path.resolve()
