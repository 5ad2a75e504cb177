"""End to end, as a user would: init a project, run the generated train.py, check its results."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from builders import labelled_texts, write_csv

from trainwright.cli import main


def run_script(project: Path, *arguments: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", "--config", "training_config.yaml", *arguments],
        cwd=project, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_bert) -> Path:
    root = tmp_path_factory.mktemp("reviews")
    rows = labelled_texts(700, seed=2)
    write_csv(root / "data" / "reviews.csv", rows)
    assert main(["init", "classification", str(root), "--model", str(tiny_bert)]) == 0
    return root


@pytest.fixture(scope="module")
def trained(project) -> tuple[Path, dict, subprocess.CompletedProcess]:
    result = run_script(project)
    metrics_file = project / "outputs" / "classification" / "final_metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    return project, metrics, result


def test_init_writes_the_whole_setup(project):
    for name in ("training_config.yaml", "train.py", "hyperparameters.json", "README-TRAINING.md",
                 ".env.example", ".gitignore", "requirements-training.txt"):
        assert (project / name).is_file(), name
    config = yaml.safe_load((project / "training_config.yaml").read_text())
    assert config["data"]["labels"] == ["negative", "positive", "question"]
    assert config["data"]["text_column"] == "text"
    assert ".env" in (project / ".gitignore").read_text().splitlines()


def test_generated_script_trains_and_beats_the_majority_class(trained):
    project, metrics, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    labels = [label for _, label in labelled_texts(700, seed=2)]
    majority_share = Counter(labels).most_common(1)[0][1] / len(labels)
    assert metrics["eval_accuracy"] > majority_share + 0.05
    assert metrics["eval_f1_macro"] > 0.4  # better than predicting one class (about 0.25)
    assert metrics["train_loss"] < 1.0986  # ln(3): below the loss of a uniform guess


def test_class_weights_were_applied(trained):
    project, metrics, result = trained
    config = yaml.safe_load((project / "training_config.yaml").read_text())
    planned = config["loss"]["class_weights"]
    assert planned["question"] > planned["negative"] > planned["positive"]  # rarest weighs most
    assert metrics["class_weights"] == pytest.approx(planned, rel=1e-5)
    assert "Class weights:" in result.stderr


def test_saved_model_reloads_with_its_labels(trained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    project, _, _ = trained
    output = project / "outputs" / "classification"
    model = AutoModelForSequenceClassification.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    assert model.config.id2label == {0: "negative", 1: "positive", 2: "question"}
    assert model.config.label2id == {"negative": 0, "positive": 1, "question": 2}
    batch = tokenizer(["I love it, wonderful and perfect"], return_tensors="pt")
    assert model(**batch).logits.shape == (1, 3)
    assert (output / "classification_report.txt").read_text().count("question") >= 1


def test_a_quick_check_after_a_finished_run_leaves_it_byte_for_byte(trained):
    project, metrics, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    assert metrics["full_run"] is True
    output = project / "outputs" / "classification"
    kept = {path: path.read_bytes() for path in output.glob("*") if path.is_file()}
    check = run_script(project, "--max-steps", "2", "--max-samples", "40")
    assert check.returncode == 0, check.stderr[-3000:]
    assert "holds a finished run: this quick check trains afresh in" in check.stderr
    assert {path: path.read_bytes() for path in kept} == kept  # model and metrics untouched
    quick = json.loads((output / "quick-check" / "final_metrics.json").read_text())
    assert quick["full_run"] is False and quick["resumed_from"] is None
    assert quick["global_step"] == 2  # it trained its 2 steps, not resumed past its end


def test_a_second_run_resumes_from_the_checkpoint(project):
    override = ("--set", "training.output_dir=outputs/resume", "--set", "training.report_to=none",
                "--set", "training.include_num_input_tokens_seen=non_padding")
    first = run_script(project, *override, "--max-steps", "6")
    assert first.returncode == 0, first.stderr[-3000:]
    assert (project / "outputs" / "resume" / "checkpoint-6").is_dir()
    second = run_script(project, *override, "--max-steps", "12")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from checkpoint outputs/resume/checkpoint-6" in second.stderr
    metrics = json.loads((project / "outputs" / "resume" / "final_metrics.json").read_text())
    assert metrics["resumed_from"] == "outputs/resume/checkpoint-6"
    assert metrics["global_step"] == 12
    state = json.loads((project / "outputs" / "resume" / "checkpoint-12" /
                        "trainer_state.json").read_text())
    assert state["global_step"] == 12
    # tokens / s: the real (non-padding) tokens of this run's 6 steps, not of the first run's
    resumed = json.loads((project / "outputs" / "resume" / "checkpoint-6" /
                          "trainer_state.json").read_text())
    assert metrics["train_tokens_seen"] == \
        state["num_input_tokens_seen"] - resumed["num_input_tokens_seen"] > 0
    assert metrics["train_tokens_per_second"] > 0 and "tokens / s" in second.stdout


def test_set_overrides_a_value_and_bad_override_is_a_clear_error(project):
    result = run_script(project, "--set", "learning_rate=1")
    assert result.returncode == 2
    assert "--set expects SECTION.KEY=VALUE" in result.stderr
    assert "Traceback" not in result.stderr


def test_smoke_flag_runs_a_few_steps(project, tiny_bert, capsys):
    code = main(["init", "classification", str(project), "--model", str(tiny_bert), "--smoke",
                 "--force"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert re.search(r"smoke run ok: loss \d+\.\d{4}, [\d,.]+ samples/s", " ".join(output.split()))



def test_the_run_draws_its_training_curves(trained):
    """train.py writes training_curves.png: a valid PNG of the planned size, whose data is the
    trainer's log (checked through trainwright's own reader of the same log)."""
    import struct

    from trainwright.report.curves import curve_points

    project, metrics, _ = trained
    output = project / "outputs" / "classification"
    picture = output / "training_curves.png"
    assert metrics["training_curves"] == str(picture.relative_to(project))
    header = picture.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (800, 600)  # two panels: the losses and the best-model metric
    state = json.loads(next(output.glob("checkpoint-*/trainer_state.json")).read_text())
    curves = curve_points(state["log_history"], "f1_macro")
    assert curves.eval_loss and curves.metric  # what the picture shows exists in the log
