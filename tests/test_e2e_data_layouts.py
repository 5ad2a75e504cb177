"""End to end: a sharded Hugging Face layout is planned and trained on with every shard."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from test_data_layouts import write_hf_layout

from trainwright.cli import main

pytestmark = pytest.mark.e2e


def test_train_py_trains_on_every_shard_of_the_training_split(tmp_path, tiny_bert):
    write_hf_layout(tmp_path)  # train: 2 shards of 400 rows; validation 100; test 100
    assert main(["init", "classification", str(tmp_path), "--model", str(tiny_bert),
                 "--yes"]) == 0
    data = yaml.safe_load((tmp_path / "training_config.yaml").read_text())["data"]
    assert data["train_file"] == "data/train-*.parquet"
    result = subprocess.run(
        [sys.executable, "train.py", "--config", "training_config.yaml", "--max-steps", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Data: train 800, validation 100, test 100" in result.stderr
