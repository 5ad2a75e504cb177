"""The generated train.py runs unchanged under torchrun and accelerate launch (2 CPU processes,
gloo) and trains what one process with twice the per-device batch trains."""

from __future__ import annotations

import json
import math
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from builders import build_tiny_llama, corpus_documents, labelled_texts, write_csv

from trainwright.cli import main

pytestmark = pytest.mark.e2e

STEPS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(project: Path, launcher: str, per_device: int, output_dir: str,
           *settings: str) -> subprocess.CompletedProcess:
    """train.py for STEPS optimizer steps: alone, under torchrun or under accelerate launch with
    the accelerate_config.yaml init wrote."""
    prefixes = {
        "python": [],
        "torchrun": ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"],
        "accelerate": ["-m", "accelerate.commands.launch", "--config_file",
                       "accelerate_config.yaml", "--num_processes", "2",
                       "--main_process_port", str(free_port())],
    }
    overrides = [f"training.per_device_train_batch_size={per_device}",
                 "training.gradient_accumulation_steps=1", f"training.output_dir={output_dir}",
                 *settings]
    command = [sys.executable, *prefixes[launcher], "train.py", "--config",
               "training_config.yaml", "--max-steps", str(STEPS)]
    for override in overrides:
        command += ["--set", override]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300,
                          check=False)


def outcome(project: Path, output_dir: str, result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    folder = project / output_dir
    state = json.loads((folder / "trainer_state.json").read_text())
    metrics = json.loads((folder / "final_metrics.json").read_text())
    return {"global_step": state["global_step"], "final_step": metrics["global_step"],
            "epoch": state["epoch"], "tokens": state["num_input_tokens_seen"],
            "weights": sorted(p.name for p in folder.glob("*.safetensors")),
            "results_tables": result.stdout.count("\nResults\n"),
            "saved_lines": result.stdout.count("saved to"),
            "data_lines": len(re.findall(r" INFO (Data|Blocks of \d+ tokens): ", result.stderr)),
            "log": result.stderr}


def runs(project: Path, launchers: tuple[str, ...], *settings: str) -> dict[str, dict]:
    """One process with a per-device batch of 8, two with 4 each under the launchers."""
    found = {}
    for launcher in launchers:
        per_device = 8 if launcher == "python" else 4
        output_dir = f"outputs/{launcher}"
        result = launch(project, launcher, per_device, output_dir, *settings)
        found[launcher] = outcome(project, output_dir, result)
    return found


def assert_the_same_training(found: dict[str, dict], alone: dict) -> None:
    """Both launchers trained STEPS optimizer steps of the global batch of `alone`, one process
    with twice the per-device batch (its outcome, or the figures it has by construction)."""
    for launcher in ("torchrun", "accelerate"):
        run = found[launcher]
        assert run["global_step"] == run["final_step"] == STEPS, launcher
        # The same epoch fraction and the same tokens: each optimizer step saw the 8 examples
        # that one process with twice the per-device batch sees (2 ranks x 4).
        assert run["epoch"] == pytest.approx(alone["epoch"]), launcher
        assert run["tokens"] == alone["tokens"], launcher
        # Saved once, reported once: one weights file, one results table, one closing line
        assert run["weights"] == ["model.safetensors"], launcher
        assert run["results_tables"] == 1 and run["saved_lines"] == 1, launcher
        assert run["data_lines"] == 1, launcher  # INFO from the main process only


@pytest.fixture(scope="module")
def classification(tmp_path_factory, tiny_bert) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("launched-classification")
    write_csv(root / "data" / "reviews.csv", labelled_texts(120, seed=3))
    assert main(["init", "classification", str(root), "--model", str(tiny_bert),
                 "--gpus", "2", "--yes"]) == 0
    assert (root / "accelerate_config.yaml").is_file()
    # Random batches (not grouped by length) so the examples of a step do not depend on the
    # per-device batch; no use_cpu, as on a CPU without bf16: the script joins the processes
    # into one run by itself.
    found = runs(root, ("python", "torchrun", "accelerate"),
                 "training.train_sampling_strategy=random", "training.bf16=false",
                 "training.use_cpu=false")
    found["root"] = root
    return found


@pytest.fixture(scope="module")
def generation(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("launched-generation")
    model = build_tiny_llama(root / "models" / "tiny-llama", corpus_documents(200, seed=1))
    (root / "data").mkdir()
    (root / "data" / "corpus.txt").write_text("\n".join(corpus_documents(300, seed=2)) + "\n")
    assert main(["init", "generation", str(root), "--model", str(model), "--gpus", "2",
                 "--yes"]) == 0
    found = runs(root, ("torchrun", "accelerate"))
    found["root"] = root
    return found


def test_classification_trains_the_same_under_both_launchers(classification):
    alone = classification["python"]
    assert alone["global_step"] == STEPS
    assert_the_same_training(classification, alone)
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        classification["root"] / "outputs" / "torchrun")
    assert model.config.id2label == {0: "negative", 1: "positive", 2: "question"}


def test_generation_trains_the_same_under_both_launchers(generation):
    root = generation["root"]
    # Packed blocks are full: one process with 8 blocks a step trains STEPS x 8 x block_size
    # tokens, and each step is 8 / (training blocks) of an epoch.
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    blocks = int(re.search(r"Blocks of \d+ tokens: train ([\d,]+)", generation["torchrun"]["log"])
                 .group(1).replace(",", ""))
    alone = {"tokens": STEPS * 8 * config["data"]["block_size"],
             "epoch": STEPS / math.ceil(blocks / 8)}
    assert_the_same_training(generation, alone)
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(root / "outputs" / "accelerate")
    metrics = json.loads((root / "outputs" / "accelerate" / "final_metrics.json").read_text())
    samples = (root / "outputs" / "accelerate" / "samples.jsonl").read_text().splitlines()
    assert len(samples) == metrics["samples"] > 0  # written once, by the main process
