"""What init's verification checks and says: the TrainingArguments check (cached for the same
section and versions), and what the schema check was against."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from builders import labelled_texts, write_csv

from trainwright import NEWEST_KNOWN_TRANSFORMERS
from trainwright.cli import main
from trainwright.discovery.dependencies import KNOWN_TRAINING_ARGUMENT_FIELDS
from trainwright.discovery.models import Dependencies, Dependency, Hardware
from trainwright.pipeline import prepare, write_and_verify
from trainwright.planning import Options
from trainwright.verify import (
    CachedCheck,
    CheckCache,
    TrainingArgumentsProbe,
    training_arguments_check,
)

CPU = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16_000, source="test")
CONFIG = "task: classification\ntraining:\n  output_dir: out\n  learning_rate: 3.0e-05\n"


def test_the_cache_key_follows_the_training_section(tmp_path):
    cache = CheckCache(tmp_path)
    key = cache.key({"learning_rate": 3e-5})
    assert key == cache.key({"learning_rate": 3e-5})
    assert key != cache.key({"learning_rate": 1e-4})
    assert not cache.hit(key)
    cache.store(key)
    assert cache.hit(key) and not cache.hit(cache.key({"learning_rate": 1e-4}))


def test_a_section_that_built_before_is_not_built_again(tmp_path):
    cache = CheckCache(tmp_path)
    cache.store(cache.key(yaml.safe_load(CONFIG)["training"]))
    check = training_arguments_check(CONFIG, cache)
    assert isinstance(check, CachedCheck)  # no child process started
    result = check.check(tmp_path / "training_config.yaml")
    assert result.ok and "cached" in result.detail and "transformers" in result.detail


def test_without_transformers_the_schema_line_says_what_it_checked_against(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    nothing = Dependencies(tuple(Dependency(n, None, "") for n in ("transformers", "torch")),
                           KNOWN_TRAINING_ARGUMENT_FIELDS, NEWEST_KNOWN_TRANSFORMERS, False)
    prepared = prepare("classification", tmp_path, Options(), hardware=CPU,
                       dependencies=nothing)
    checks = {check.name: check for check in write_and_verify(prepared, None)}
    assert checks["schema"].ok
    assert "not installed" in checks["schema"].detail
    assert NEWEST_KNOWN_TRANSFORMERS in checks["schema"].detail
    assert "TrainingArguments" not in checks  # nothing to build it with


@pytest.mark.e2e  # builds TrainingArguments in a child process
def test_a_failed_build_is_not_cached(tmp_path):
    cache = CheckCache(tmp_path / "cache")
    config = tmp_path / "training_config.yaml"
    config.write_text(CONFIG + "  no_such_argument: 1\n")
    check = training_arguments_check(config.read_text(), cache)
    assert isinstance(check, TrainingArgumentsProbe)
    with check:
        result = check.check(config)
    assert not result.ok and "no_such_argument" in result.detail
    assert not cache.hit(cache.key(yaml.safe_load(config.read_text())["training"]))


@pytest.mark.e2e  # whole init runs
def test_a_rerun_reuses_the_check_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRAINWRIGHT_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project"
    write_csv(project / "data" / "train.csv", labelled_texts(120))
    assert main(["init", "classification", str(project)]) == 0
    first = capsys.readouterr().out
    assert "builds TrainingArguments of transformers" in " ".join(first.split())
    assert main(["init", "classification", str(project)]) == 0
    second = " ".join(capsys.readouterr().out.split())
    assert "TrainingArguments ok the same training: section built" in second
    assert "(cached" in second
    assert not list(Path(project).glob("*.bak"))  # the rerun changed nothing


def test_the_early_child_starts_only_for_an_init_that_writes(monkeypatch):
    from trainwright import early

    started = []
    monkeypatch.setattr(early, "start_child", lambda: started.append(1) or object())
    for argv in (["inspect", "."], ["init", "classification", "--dry-run"],
                 ["init", "--help"], ["validate"]):
        early.start_for(argv)
    assert started == [] and early.take_started() is None
    early.start_for(["init", "classification", "project"])
    assert started == [1] and early.take_started() is not None
    assert early.take_started() is None  # taken over once
