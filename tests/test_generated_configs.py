"""Every config that init generates, over hardware profiles and data shapes, validates and
builds a real TrainingArguments of the installed transformers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from builders import (
    build_tiny_llama,
    chat_rows,
    corpus_documents,
    instruction_rows,
    labelled_texts,
    write_csv,
    write_jsonl,
)

from trainwright.config.check import estimate_for_file
from trainwright.config.fields import installed_field_specs
from trainwright.config.validate import validate_config, validate_search_space
from trainwright.discovery.models import GPU, Hardware
from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.write import apply_changes

ESTIMATE_GPU = {"cpu": None, "cpu-bf16": None, "t4": "t4", "a100": "a100-80gb", "4xh100": "h100"}

HARDWARE = {
    "cpu": Hardware((), False, 2, False, 8_000, "test"),
    "cpu-bf16": Hardware((), False, 32, True, 256_000, "test"),
    "t4": Hardware((GPU("Tesla T4", 15_360, (7, 5)),), False, 8, False, 32_000, "test"),
    "a100": Hardware((GPU("NVIDIA A100-SXM4-80GB", 81_920, (8, 0)),), False, 16, True,
                     256_000, "test"),
    "4xh100": Hardware((GPU("NVIDIA H100 80GB HBM3", 81_559, (9, 0)),) * 4, False, 64, True,
                       1_000_000, "test"),
}


def small_balanced(root: Path) -> None:
    rows = [(t, "yes" if i % 2 else "no") for i, (t, _) in enumerate(labelled_texts(200))]
    write_csv(root / "data" / "train.csv", rows)


def imbalanced_with_splits(root: Path) -> None:
    write_csv(root / "data" / "train.csv", labelled_texts(3000, seed=3))
    write_csv(root / "data" / "validation.csv", labelled_texts(300, seed=4))
    write_csv(root / "data" / "test.csv", labelled_texts(300, seed=5))


def jsonl_many_rows(root: Path) -> None:
    path = root / "datasets" / "tickets.jsonl"
    path.parent.mkdir(parents=True)
    rows = labelled_texts(20_000, seed=6)
    path.write_text("".join(json.dumps({"body": t, "intent": s}) + "\n" for t, s in rows))


def text_corpus(root: Path) -> None:
    corpus = root / "data" / "corpus.txt"
    corpus.parent.mkdir(parents=True)
    corpus.write_text("\n".join(corpus_documents(400, seed=7)) + "\n")


def instructions(root: Path) -> None:
    write_jsonl(root / "data" / "train.jsonl", instruction_rows(300, seed=8))


def chats_with_validation(root: Path) -> None:
    write_jsonl(root / "data" / "train.jsonl", chat_rows(300, seed=9))
    write_jsonl(root / "data" / "validation.jsonl", chat_rows(40, seed=10))


SHAPES = {"small": small_balanced, "splits": imbalanced_with_splits, "jsonl": jsonl_many_rows,
          "corpus": text_corpus, "instructions": instructions, "chats": chats_with_validation,
          "lora-labelled": small_balanced}
TASKS = {"corpus": "generation", "instructions": "fine-tuning", "chats": "fine-tuning",
         "lora-labelled": "fine-tuning"}

BUILD_ALL = """
import sys, tempfile, yaml, torch
from transformers import TrainingArguments
for path in sys.argv[1:]:
    training = dict(yaml.safe_load(open(path))["training"])
    if not torch.cuda.is_available():  # as train.py does without a GPU
        training["fp16"] = False
        training.pop("tf32", None)
        training["bf16"] = training.get("bf16") and training.get("use_cpu", False)
    with tempfile.TemporaryDirectory() as scratch:
        training["output_dir"] = scratch
        TrainingArguments(**training)
    print("ok", path)
"""


def test_generated_configs_validate_and_build(tmp_path):
    # Fine-tuning reads the model's modules, so it needs a local model (a tiny Llama).
    llama = build_tiny_llama(tmp_path / "models" / "tiny-llama", corpus_documents(50))
    configs = []
    for shape, build in SHAPES.items():
        task = TASKS.get(shape, "classification")
        options = Options(model=str(llama)) if task == "fine-tuning" else Options()
        for name, hardware in HARDWARE.items():
            root = tmp_path / f"{shape}-{name}"
            build(root)
            prepared = prepare(task, root, options, hardware=hardware)
            apply_changes(root, prepared.changes)
            config_path = root / prepared.plan.config_path
            config = yaml.safe_load(config_path.read_text())
            problems = validate_config(config, installed_field_specs())
            problems += validate_search_space(
                json.loads((root / "hyperparameters.json").read_text()), config)
            assert problems == [], (shape, name, [p.render() for p in problems])
            if hardware.gpus and hardware.gpus[0].supports_bf16:
                assert config["training"]["bf16"] is True
            configs.append(str(config_path))
            estimate = estimate_for_file(config_path, ESTIMATE_GPU[name])
            assert estimate.fits, (shape, name, estimate.memory.components)
            assert estimate.memory.total_mib > 0
    result = subprocess.run([sys.executable, "-c", BUILD_ALL, *configs], capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("ok ") == len(configs)
