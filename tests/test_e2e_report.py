"""End to end: train a tiny model with the generated train.py, stop one run early, kill another
mid-way, and read each with `python -m trainwright report` as a reviewer would."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import labelled_texts, write_csv

from trainwright.cli import main

pytestmark = pytest.mark.e2e

# Evaluate and save every 2 steps, log every step: a few steps show every mark of the report.
EVERY_TWO_STEPS = ("--set", "training.eval_strategy=steps", "--set", "training.eval_steps=2",
                   "--set", "training.save_strategy=steps", "--set", "training.save_steps=2",
                   "--set", "training.logging_steps=1")


def train(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "train.py", "--config", "training_config.yaml",
                           *arguments], cwd=project, capture_output=True, text=True,
                          timeout=600, check=False)


def report(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainwright", "report", *arguments],
                          cwd=project, capture_output=True, text=True, timeout=120, check=False)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_bert) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_csv(root / "data" / "reviews.csv", labelled_texts(120, seed=3))
    assert main(["init", "classification", str(root), "--model", str(tiny_bert), "--yes"]) == 0
    return root


@pytest.fixture(scope="module")
def stopped_early(project) -> Path:
    """A learning rate of 0 keeps the validation metric where it starts, so early stopping
    with patience 1 ends the run at its second evaluation: step 4."""
    result = train(project, *EVERY_TWO_STEPS, "--set", "training.learning_rate=0",
                   "--set", "early_stopping.patience=1")
    assert result.returncode == 0, result.stderr[-3000:]
    return project / "outputs" / "classification"


def test_report_on_a_run_stopped_early(project, stopped_early):
    state = json.loads((stopped_early / "checkpoint-4" / "trainer_state.json").read_text())
    result = report(project, "outputs/classification", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["state"] == "finished" and document["kind"] == "run"
    assert document["steps_done"] == 4 < document["steps_planned"] == state["max_steps"]
    assert document["early_stopping"]["fired"] and document["early_stopping"]["step"] == 4
    assert document["best"]["step"] == 2 and document["best"]["metric"] == "f1_macro"
    assert document["best"]["path"] == "outputs/classification/checkpoint-2"
    assert document["peak_learning_rate"] == 0  # what the log says the run used
    metrics = json.loads((stopped_early / "final_metrics.json").read_text())
    assert document["metrics"]["eval_f1_macro"] == metrics["eval_f1_macro"]
    assert document["throughput"]["samples_per_second"] == metrics["train_samples_per_second"] > 0
    assert [row["label"] for row in document["per_class"]] == ["negative", "positive", "question"]
    # train.py drew the picture at the end of the run; report keeps a picture that is current
    assert document["curves"]["status"] == "kept"
    assert png_size(stopped_early / "training_curves.png") == (800, 600)


def test_the_curves_picture_is_a_valid_image_of_the_logged_run(stopped_early):
    import matplotlib.image

    pixels = matplotlib.image.imread(stopped_early / "training_curves.png")
    assert pixels.shape[:2] == (600, 800) and pixels.std() > 0.05


def test_report_text_names_what_a_reviewer_asks(project, stopped_early):
    result = report(project)  # no argument: the output_dir of ./training_config.yaml
    assert result.returncode == 0, result.stderr
    output = " ".join(result.stdout.split())
    for expected in ("stopped early", "checkpoint-2 (step 2)", "fired at step 4",
                     "samples/s", "macro avg", "Curves of outputs/classification:"):
        assert expected in output, expected


def test_report_compares_a_quick_check_with_the_run(project, stopped_early):
    result = train(project, "--max-steps", "2")  # a finished run: it goes to quick-check/
    assert result.returncode == 0, result.stderr[-3000:]
    quick = "outputs/classification/quick-check"
    result = report(project, "outputs/classification", "--compare", quick, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [run["kind"] for run in document["runs"]] == ["run", "quick check"]
    rows = {row["name"]: row for row in document["comparison"]}
    assert rows["steps"]["second"] == "2 of 2"
    assert png_size(project / quick / "training_curves.png")[0] == 800


def test_report_on_a_run_killed_mid_way(project, tmp_path):
    killed = tmp_path / "killed"
    shutil.copytree(project, killed, ignore=shutil.ignore_patterns("outputs"))
    process = subprocess.Popen(
        [sys.executable, "train.py", "--config", "training_config.yaml", *EVERY_TWO_STEPS,
         "--set", "early_stopping.patience=0", "--set", "training.num_train_epochs=50"],
        cwd=killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = killed / "outputs" / "classification" / "checkpoint-2" / "trainer_state.json"
    try:
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            if first.is_file():
                try:
                    json.loads(first.read_text())
                    break
                except json.JSONDecodeError:
                    pass  # being written
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    output_dir = killed / "outputs" / "classification"
    assert not (output_dir / "final_metrics.json").exists()
    readable = []
    for state_file in output_dir.glob("checkpoint-*/trainer_state.json"):
        with contextlib.suppress(json.JSONDecodeError):  # the one being written when killed
            readable.append(json.loads(state_file.read_text())["global_step"])
    result = report(killed, "outputs/classification", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["state"] == "incomplete"
    assert document["steps_done"] == max(readable) < document["steps_planned"]
    assert not document["early_stopping"]["fired"]
    assert any("resumes it from its last checkpoint" in note for note in document["notes"])
    text = report(killed, "outputs/classification")
    assert text.returncode == 0 and "incomplete" in text.stdout


def test_report_on_a_folder_that_is_not_a_run(project):
    before = sorted(path.name for path in (project / "data").iterdir())
    result = report(project, "data")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "data is not a training run" in message and "final_metrics.json" in message
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in (project / "data").iterdir()) == before
