"""`train.py --hpo N` runs a real Optuna search over hyperparameters.json, resumes, reports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from builders import labelled_texts, write_csv

from trainwright.cli import main
from trainwright.config.fields import installed_field_specs
from trainwright.config.validate import validate_config

optuna = pytest.importorskip("optuna")  # a dependency of the test extra: present in CI


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_bert) -> Path:
    root = tmp_path_factory.mktemp("search")
    write_csv(root / "data" / "reviews.csv", labelled_texts(300, seed=5))
    assert main(["init", "classification", str(root), "--model", str(tiny_bert)]) == 0
    return root


def search_command(output_dir: str, trials: int = 3, *extra: str) -> list[str]:
    return [sys.executable, "train.py", "--config", "training_config.yaml", "--hpo", str(trials),
            "--max-steps", "8", "--set", f"training.output_dir={output_dir}", *extra]


def load_study(project: Path, output_dir: str):
    storage = f"sqlite:///{project / output_dir / 'hpo' / 'study.db'}"
    return optuna.load_study(study_name="search", storage=storage)


def finished(study) -> list:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(states=states)


def finished_count(project: Path, output_dir: str) -> int:
    """Finished trials, read without optuna: opening the storage with optuna while the search
    creates it races on the schema version row."""
    import sqlite3

    database = project / output_dir / "hpo" / "study.db"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            (count,) = connection.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')").fetchone()
    except sqlite3.OperationalError:  # the search has not created its tables yet
        return 0
    return count


def test_search_runs_and_writes_the_best_values(project):
    result = subprocess.run(search_command("outputs/search"), cwd=project, capture_output=True,
                            text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    study = load_study(project, "outputs/search")
    assert len(finished(study)) == 3
    space = json.loads((project / "hyperparameters.json").read_text())["parameters"]
    for trial in study.trials:
        for name, value in trial.params.items():
            spec = space[name]
            if spec["type"] == "categorical":
                assert value in spec["choices"]
            else:
                assert spec["low"] <= value <= spec["high"], (name, value)
    best = json.loads((project / "outputs" / "search" / "best_hyperparameters.json").read_text())
    assert best["parameters"] == study.best_trial.params
    best_config = yaml.safe_load((project / "training_config.best.yaml").read_text())
    assert validate_config(best_config, installed_field_specs()) == []
    for name, value in best["parameters"].items():
        section, key = name.split(".")
        assert best_config[section][key] == pytest.approx(value)
    assert "# best of the search" in (project / "training_config.best.yaml").read_text()
    assert "trial  state" in result.stdout  # the table of trials
    kept = sorted(p.name for p in (project / "outputs" / "search" / "hpo").glob("trial-*"))
    assert kept == [f"trial-{study.best_trial.number}"]  # only the best trial's files remain


def test_an_interrupted_search_continues_to_the_same_total(project):
    process = subprocess.Popen(search_command("outputs/interrupted"), cwd=project,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = project / "outputs" / "interrupted" / "hpo" / "study.db"
    deadline = time.time() + 600
    try:
        while time.time() < deadline:
            if database.exists() and finished_count(project, "outputs/interrupted") >= 1:
                break
            if process.poll() is not None:
                pytest.fail("the search ended before it could be interrupted")
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
    assert len(finished(load_study(project, "outputs/interrupted"))) < 3
    rerun = subprocess.run(search_command("outputs/interrupted"), cwd=project,
                           capture_output=True, text=True, timeout=900, check=False)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Continuing the search" in rerun.stderr
    study = load_study(project, "outputs/interrupted")
    assert len(finished(study)) == 3  # not 3 more
    failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert len(failed) <= 1  # only the trial that was running when the search was killed


@pytest.mark.parametrize("change, message", [
    ({"training.no_such_setting": {"type": "float", "low": 0.1, "high": 0.2, "default": 0.1}},
     "there is no 'no_such_setting'"),
    ({"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-4, "log": True,
                                 "default": 1e-4}},
     "low 0.0001 must be below high 0.0001"),
    ({"training.per_device_train_batch_size": {"type": "categorical", "choices": [],
                                               "default": 8}},
     "need a non-empty 'choices'"),
])
def test_a_bad_search_space_fails_before_training(project, tmp_path, change, message):
    space = json.loads((project / "hyperparameters.json").read_text())
    space["parameters"].update(change)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(space))
    result = subprocess.run(search_command("outputs/bad", 3, "--search-space", str(bad)),
                            cwd=project, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "outputs" / "bad" / "hpo" / "study.db").exists()


def test_workers_sharing_a_journal_fill_one_study(project, tmp_path):
    journal = tmp_path / "shared" / "search.journal"
    journal.parent.mkdir()
    for worker in ("a", "b"):  # as on two machines: each its own output folder, one study
        result = subprocess.run(
            search_command(f"outputs/worker-{worker}", 1, "--storage", str(journal)),
            cwd=project, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
    assert "finished trials 1; this worker runs 1 more" in result.stderr
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    study = optuna.load_study(study_name="search",
                              storage=JournalStorage(JournalFileBackend(str(journal))))
    assert len(finished(study)) == 2
    assert study.trials[0].params != study.trials[1].params  # the workers drew their own values
    assert not (project / "outputs" / "worker-a" / "hpo" / "study.db").exists()


@pytest.mark.parametrize("storage, environment, message", [
    ("search.db", {}, "an SQLite file is sqlite:///search.db"),
    ("postgresql://user:hunter2@localhost/db", {}, "postgresql://user:***@localhost/db"),
    (None, {"WORLD_SIZE": "2", "RANK": "0"}, "start one worker on each with the same --storage"),
])
def test_a_bad_storage_or_a_launcher_stops_the_search(project, storage, environment, message):
    import os

    extra = ["--storage", storage] if storage else []
    result = subprocess.run(search_command("outputs/bad-storage", 1, *extra), cwd=project,
                            capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, **environment})
    assert result.returncode == 2, result.stderr[-3000:]
    assert message in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    assert not (project / "outputs" / "bad-storage" / "hpo").exists()
