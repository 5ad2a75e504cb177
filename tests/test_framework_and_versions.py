"""TensorFlow / JAX projects get a PyTorch setup and are told so; without transformers the
config targets the newest version trainwright knows and says so."""

from __future__ import annotations

import pytest
from builders import labelled_texts, write_csv

from trainwright import NEWEST_KNOWN_TRANSFORMERS
from trainwright.cli import main
from trainwright.discovery.dependencies import KNOWN_TRAINING_ARGUMENT_FIELDS
from trainwright.discovery.models import Dependencies, Dependency, Hardware
from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.write import apply_changes

CPU = Hardware((), False, 4, False, 16_000, "test")


@pytest.mark.e2e  # a whole `trainwright init`: it checks TrainingArguments in a child process
def test_tensorflow_project_is_told_and_gets_pytorch(tmp_path, capsys):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    (tmp_path / "requirements.txt").write_text("tensorflow==2.16.1\nkeras\n")
    (tmp_path / "model.py").write_text("import tensorflow as tf\n")
    assert main(["init", "classification", str(tmp_path)]) == 0
    warning = " ".join(capsys.readouterr().err.split())
    assert "This project uses tensorflow" in warning and "PyTorch only" in warning
    readme = (tmp_path / "README-TRAINING.md").read_text()
    assert "## A note on TensorFlow" in readme and "model.safetensors" in readme
    assert "import torch" in (tmp_path / "train.py").read_text()


def test_jax_project_readme_explains_the_consequence(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["jax>=0.4", "flax"]\n')
    prepared = prepare("classification", tmp_path, Options(), hardware=CPU)
    assert prepared.facts.framework.chosen == "jax"
    assert "## A note on JAX" in prepared.files["README-TRAINING.md"]


def test_without_transformers_the_newest_known_version_is_targeted(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    nothing = Dependencies(tuple(Dependency(n, None, "") for n in ("transformers", "torch")),
                           KNOWN_TRAINING_ARGUMENT_FIELDS, NEWEST_KNOWN_TRANSFORMERS, False)
    prepared = prepare("classification", tmp_path, Options(), hardware=CPU,
                       dependencies=nothing)
    comments = [line.lstrip("#") for line in prepared.files["training_config.yaml"].splitlines()
                if line.startswith("#")]
    header = " ".join(" ".join(comments).split())  # the header's wrapped lines as one text
    assert f"for transformers {NEWEST_KNOWN_TRANSFORMERS} (not installed" in header
    assert any("transformers is not installed" in w for w in prepared.plan.warnings)
    assert any("pip install -r requirements-training.txt" in w for w in prepared.plan.warnings)
    assert "warmup_steps" in prepared.plan.sections["training"]  # the 5.x field names


def test_inspect_json_reports_what_is_missing_and_found(tmp_path, capsys):
    import json

    write_csv(tmp_path / "data" / "train.csv", labelled_texts(50))
    assert main(["inspect", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"][0]["label_column"] == "label"
    assert {p["name"] for p in report["dependencies"]["packages"]} >= {"transformers", "torch"}
    assert "cpu_cores" in report["hardware"]


def test_a_config_of_another_task_is_not_reused(tmp_path):
    from builders import corpus_documents

    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    classifier = prepare("classification", tmp_path, Options(), hardware=CPU)
    apply_changes(tmp_path, classifier.changes)  # a classification training_config.yaml
    assert (tmp_path / "training_config.yaml").is_file()
    corpus = tmp_path / "data" / "corpus.txt"
    corpus.write_text("\n".join(corpus_documents(200)) + "\n")
    prepared = prepare("generation", tmp_path, Options(data_paths=("data/corpus.txt",)),
                       hardware=CPU)
    training = prepared.plan.values()["training"]
    assert training["metric_for_best_model"] == "loss"  # not the classifier's f1_macro
    assert training["output_dir"] == "outputs/generation"
    assert prepared.plan.value("model", "name_or_path") != "distilbert/distilbert-base-uncased"
