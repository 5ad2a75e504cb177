from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders import build_tiny_bert, labelled_texts

# Never reach for a model hub from the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    texts = [text for text, _ in labelled_texts(800, seed=1)]
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert", texts)
