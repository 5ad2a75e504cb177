"""The kinds of label end to end: init on data the test writes, run the generated train.py on
a tiny BERT, and check what a user would: a regression that learns and un-standardises its
predictions, a multi-label tagger that beats the trivial baselines with a tuned threshold saved
with it, ClassLabel ids trained under their names."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from builders import labelled_texts, rated_texts, tagged_texts, write_csv, write_jsonl

from trainwright.cli import main

pytestmark = pytest.mark.e2e
OUTPUT = Path("outputs") / "classification"


def run_script(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", "--config", "training_config.yaml",
         "--set", "training.report_to=none", *arguments],
        cwd=project, capture_output=True, text=True, timeout=600, check=False,
    )


def init(project: Path, model: Path, *flags: str) -> dict:
    assert main(["init", "classification", str(project), "--model", str(model), *flags]) == 0
    return yaml.safe_load((project / "training_config.yaml").read_text())


def results(project: Path) -> tuple[dict, dict]:
    """final_metrics.json and the saved model's config.json."""
    output = project / OUTPUT
    return (json.loads((output / "final_metrics.json").read_text()),
            json.loads((output / "config.json").read_text()))


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regression(tmp_path_factory, tiny_bert) -> tuple[Path, dict, subprocess.CompletedProcess]:
    project = tmp_path_factory.mktemp("ratings")
    write_csv(project / "data" / "reviews.csv", rated_texts(400, seed=8),
              header=("review", "rating"))
    config = init(project, tiny_bert)
    return project, config, run_script(project, "--set", "training.num_train_epochs=5")


def test_a_float_rating_trains_a_regressor_that_learns(regression):
    project, config, result = regression
    assert config["data"]["label_kind"] == "regression" and "labels" not in config["data"]
    assert result.returncode == 0, result.stderr[-3000:]
    metrics, model_config = results(project)
    assert metrics["eval_r2"] > 0  # better than predicting the mean
    assert metrics["eval_rmse"] < metrics["mean_baseline_rmse"]
    assert {"eval_mae", "eval_spearman"} <= set(metrics)
    assert model_config["problem_type"] == "regression" and len(model_config["id2label"]) == 1
    assert "validation R2" in result.stdout


def test_the_standardisation_is_saved_with_the_model_and_undone(regression):
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    project, _, _ = regression
    metrics, model_config = results(project)
    ratings = np.array([rating for _, rating in rated_texts(400, seed=8)])
    mean, std = model_config["target_mean"], model_config["target_std"]
    assert (mean, std) == (metrics["target_mean"], metrics["target_std"])
    assert abs(mean - ratings.mean()) < 0.3 and abs(std - ratings.std()) < 0.3  # training split

    # What README-TRAINING.md tells a user to do: output * target_std + target_mean
    model = AutoModelForSequenceClassification.from_pretrained(project / OUTPUT).eval()
    tokenizer = AutoTokenizer.from_pretrained(project / OUTPUT)
    unseen = rated_texts(200, seed=9)
    with torch.no_grad():
        outputs = model(**tokenizer([text for text, _ in unseen], padding=True,
                                    return_tensors="pt")).logits[:, 0].numpy()
    predicted, target = outputs * std + mean, np.array([rating for _, rating in unseen])
    r2 = 1 - ((predicted - target) ** 2).sum() / ((target - target.mean()) ** 2).sum()
    assert r2 > 0, r2
    assert abs(predicted.mean() - target.mean()) < 1.0  # in the target's units, not standardised


def test_a_script_refuses_a_config_of_another_kind(regression):
    project, _, _ = regression
    result = run_script(project, "--set", "data.label_kind=single-label")
    assert result.returncode == 2
    assert "--label-kind single-label" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# Multi-label
# ---------------------------------------------------------------------------------------------

def test_delimited_labels_train_a_multi_label_tagger_that_learns(tmp_path, tiny_bert):
    rows = [(text, "|".join(tags)) for text, tags in tagged_texts(300, seed=10)]
    write_csv(tmp_path / "data" / "posts.csv", rows, header=("text", "topics"))
    config = init(tmp_path, tiny_bert)
    assert config["data"]["label_kind"] == "multi-label"
    assert config["data"]["labels"] == ["negative", "positive", "question"]
    result = run_script(tmp_path, "--set", "training.learning_rate=0.001",
                        "--set", "training.num_train_epochs=8", "--set", "early_stopping.patience=8")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics, model_config = results(tmp_path)
    assert metrics["eval_f1_micro"] > metrics["all_negative_f1_micro"] == 0.0
    assert metrics["eval_f1_micro"] > metrics["all_positive_f1_micro"] + 0.1
    assert model_config["problem_type"] == "multi_label_classification"
    assert model_config["decision_threshold"] == metrics["threshold"]
    assert 0 < metrics["threshold"] < 1
    assert model_config["id2label"] == {"0": "negative", "1": "positive", "2": "question"}
    assert metrics["pos_weight"] == pytest.approx(config["loss"]["pos_weight"], rel=1e-5)
    report = (tmp_path / OUTPUT / "classification_report.txt").read_text()
    assert all(tag in report for tag in ("negative", "positive", "question"))


def test_lists_of_labels_train_too(tmp_path, tiny_bert):
    tagged = tagged_texts(120, seed=11)
    write_jsonl(tmp_path / "data" / "posts.jsonl",
                [{"text": text, "tags": tags} for text, tags in tagged])
    config = init(tmp_path, tiny_bert)
    assert (config["data"]["label_kind"], config["data"].get("label_delimiter")) == (
        "multi-label", None)
    result = run_script(tmp_path, "--max-steps", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics, model_config = results(tmp_path)
    assert model_config["decision_threshold"] == metrics["threshold"]


# ---------------------------------------------------------------------------------------------
# ClassLabel names
# ---------------------------------------------------------------------------------------------

def test_classlabel_ids_train_under_their_names(tmp_path, tiny_bert):
    import datasets

    names = ["question", "positive", "negative"]  # the id order, not sorted
    (tmp_path / "data").mkdir()
    for split, count, seed in (("train", 300, 12), ("validation", 90, 13)):
        rows = labelled_texts(count, seed=seed)
        table = datasets.Dataset.from_dict({"text": [text for text, _ in rows],
                                            "label": [names.index(label) for _, label in rows]})
        table.cast_column("label", datasets.ClassLabel(names=names)).to_parquet(
            str(tmp_path / "data" / f"{split}.parquet"))
    config = init(tmp_path, tiny_bert)
    assert config["data"]["labels"] == names
    result = run_script(tmp_path, "--max-steps", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    _, model_config = results(tmp_path)
    assert model_config["id2label"] == {"0": "question", "1": "positive", "2": "negative"}
    # The per-class report is of the validation split: its support is the count of each name.
    expected = Counter(label for _, label in labelled_texts(90, seed=13))
    report = (tmp_path / OUTPUT / "classification_report.txt").read_text().splitlines()
    support = {line.split()[0]: int(line.split()[-1]) for line in report
               if line.split() and line.split()[0] in names}
    assert support == dict(expected)
