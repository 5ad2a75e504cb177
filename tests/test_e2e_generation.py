"""End to end: init generation on a corpus, run the generated train.py, check what it made."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from builders import build_tiny_llama, corpus_documents

from trainwright.cli import main


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama",
                            corpus_documents(500, seed=1))


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_llama) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    corpus = root / "data" / "corpus.txt"
    corpus.parent.mkdir()
    corpus.write_text("\n".join(corpus_documents(1000, seed=2)) + "\n")
    assert corpus.stat().st_size >= 200_000
    assert main(["init", "generation", str(root), "--model", str(tiny_llama)]) == 0
    return root


def run_script(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", "--config", "training_config.yaml", *arguments],
        cwd=project, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def trained(project) -> tuple[dict, subprocess.CompletedProcess]:
    result = run_script(project, "--max-steps", "60",
                        "--set", "training.include_num_input_tokens_seen=non_padding")
    metrics_file = project / "outputs" / "generation" / "final_metrics.json"
    return (json.loads(metrics_file.read_text()) if metrics_file.exists() else {}), result


def test_the_plan_packs_blocks_and_sets_generation(project):
    config = yaml.safe_load((project / "training_config.yaml").read_text())
    assert config["task"] == "generation"
    assert config["data"]["block_size"] <= 256  # the tiny model reads 256 positions
    assert config["training"]["lr_scheduler_type"] == "cosine"
    assert config["generation"]["prompts"] and config["generation"]["num_return_sequences"] == 2


def test_perplexity_falls_well_below_its_start(trained):
    metrics, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    assert metrics["perplexity"] < metrics["perplexity_before"] / 4


def test_every_token_of_the_full_blocks_is_counted_for_tokens_per_second(project, trained):
    metrics, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    config = yaml.safe_load((project / "training_config.yaml").read_text())
    training = config["training"]
    # Every token of every block trained on: whole blocks (the EOS between documents is the pad
    # token too, which a "non_padding" count by token id would miss), 60 steps of them (the
    # last batch of an epoch may be short).
    block_size = config["data"]["block_size"]
    blocks, rest = divmod(metrics["train_tokens_seen"], block_size)
    assert rest == 0
    batch = training["per_device_train_batch_size"] * training.get("gradient_accumulation_steps", 1)
    assert 60 * batch * 0.95 <= blocks <= 60 * batch
    assert metrics["train_tokens_per_second"] > 0 and metrics["train_samples_per_second"] > 0
    assert "tokens / s" in result.stdout and "samples / s" in result.stdout


def test_training_batches_hold_no_padding(trained):
    metrics, _ = trained
    assert metrics["train_padding_fraction"] == 0


def test_samples_file_holds_the_configured_number_of_generations(project, trained):
    config = yaml.safe_load((project / "training_config.yaml").read_text())["generation"]
    lines = (project / "outputs" / "generation" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == len(config["prompts"]) * config["num_return_sequences"]
    for line in lines:
        sample = json.loads(line)
        assert sample["sample"].startswith(sample["prompt"])


def test_model_and_tokenizer_reload_and_generate(project, trained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output = project / "outputs" / "generation"
    model = AutoModelForCausalLM.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    inputs = tokenizer("the small cat", return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=8, do_sample=False,
                               pad_token_id=tokenizer.eos_token_id)
    assert generated.shape[1] > inputs["input_ids"].shape[1]


def test_from_scratch_trains_a_model_built_from_config(project, tiny_llama):
    assert main(["init", "generation", str(project), "--model", str(tiny_llama),
                 "--from-scratch", "--output-dir", "outputs/scratch", "--force"]) == 0
    config = yaml.safe_load((project / "training_config.yaml").read_text())
    assert config["model"]["from_scratch"] is True
    assert config["model"]["architecture"]["model_type"] == "llama"
    result = run_script(project, "--max-steps", "40")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Built a llama model from scratch" in result.stderr
    metrics = json.loads((project / "outputs" / "scratch" / "final_metrics.json").read_text())
    assert metrics["perplexity"] < metrics["perplexity_before"] / 4

