"""`trainwright validate`: every problem with its location and fix, --fix keeps comments,
hostile files are clear errors, random input never crashes it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainwright.cli import main
from trainwright.config.fields import installed_field_specs
from trainwright.config.validate import validate_config

BASE = """\
model:
  name_or_path: distilbert-base-uncased  # keep-model
data:
  train_file: data/train.csv  # keep-data
  text_column: text
  label_column: label
  labels: [neg, pos]
  max_length: 128
loss:
  class_weights: null
early_stopping:
  patience: 3
training:
  output_dir: outputs  # keep-output
  learning_rate: 3.0e-05  # keep-lr
  num_train_epochs: 3
  per_device_train_batch_size: 16
  eval_strategy: epoch
  save_strategy: epoch
  load_best_model_at_end: true
  metric_for_best_model: f1_macro
  seed: 42
"""

# (id, line to replace in BASE, replacement, location reported, text of the fix, fixable)
BROKEN = [
    ("renamed evaluation_strategy", "  eval_strategy: epoch", "  evaluation_strategy: epoch",
     "training.evaluation_strategy", "`eval_strategy: epoch`", True),
    ("removed warmup_ratio", "  seed: 42", "  seed: 42\n  warmup_ratio: 0.1",
     "training.warmup_ratio", "`warmup_steps: 0.1`", True),
    ("renamed no_cuda", "  seed: 42", "  seed: 42\n  no_cuda: true",
     "training.no_cuda", "`use_cpu: True`", True),
    ("removed group_by_length", "  seed: 42", "  seed: 42\n  group_by_length: true",
     "training.group_by_length", "train_sampling_strategy: group_by_length", True),
    ("per_gpu batch size", "  per_device_train_batch_size: 16", "  per_gpu_train_batch_size: 16",
     "training.per_gpu_train_batch_size", "`per_device_train_batch_size: 16`", True),
    ("removed logging_dir", "  seed: 42", "  seed: 42\n  logging_dir: runs",
     "training.logging_dir", "TENSORBOARD_LOGGING_DIR", True),
    ("removed overwrite_output_dir", "  seed: 42", "  seed: 42\n  overwrite_output_dir: true",
     "training.overwrite_output_dir", "--no-resume", True),
    ("typo learning_rat", "  learning_rate: 3.0e-05", "  learning_rat: 3.0e-05",
     "training.learning_rat", "did you mean `learning_rate`?", True),
    ("shorthand lr", "  learning_rate: 3.0e-05", "  lr: 3.0e-05",
     "training.lr", "did you mean `learning_rate`?", True),
    ("shorthand epochs", "  num_train_epochs: 3", "  epochs: 3",
     "training.epochs", "did you mean `num_train_epochs`?", True),
    ("typo in a section", "training:", "trainig:", "trainig", "did you mean 'training'?", True),
    ("typo in data", "  max_length: 128", "  max_lenght: 128",
     "data.max_lenght", "did you mean 'max_length'?", True),
    ("wrong type learning_rate", "  learning_rate: 3.0e-05", "  learning_rate: fast",
     "training.learning_rate", "give a float value", False),
    ("learning rate out of range", "  learning_rate: 3.0e-05", "  learning_rate: 5",
     "training.learning_rate", "in (0, 1)", False),
    ("batch size zero", "  per_device_train_batch_size: 16", "  per_device_train_batch_size: 0",
     "training.per_device_train_batch_size", "at least 1", False),
    ("fractional batch size", "  per_device_train_batch_size: 16",
     "  per_device_train_batch_size: 8.5", "training.per_device_train_batch_size",
     "give a int value", False),
    ("negative epochs", "  num_train_epochs: 3", "  num_train_epochs: -1",
     "training.num_train_epochs", "above 0", False),
    ("weight decay too big", "  seed: 42", "  seed: 42\n  weight_decay: 1.5",
     "training.weight_decay", "in [0, 1)", False),
    ("bf16 and fp16", "  seed: 42", "  seed: 42\n  bf16: true\n  fp16: true",
     "training.fp16", "set the other to false", False),
    ("mismatched strategies", "  save_strategy: epoch", "  save_strategy: steps",
     "training.save_strategy", "set save_strategy: epoch", False),
    ("metric the script lacks", "  metric_for_best_model: f1_macro",
     "  metric_for_best_model: f1", "training.metric_for_best_model", "use 'f1_macro'", False),
    ("value not among the choices", "  seed: 42",
     "  seed: 42\n  train_sampling_strategy: group_by_lenght",
     "training.train_sampling_strategy", "use 'group_by_length'", False),
    ("one label", "  labels: [neg, pos]", "  labels: [neg]", "data.labels", "min_length 2", False),
    ("repeated labels", "  labels: [neg, pos]", "  labels: [neg, neg]", "data.labels",
     "class names in id order", False),
    ("validation fraction", "  max_length: 128", "  max_length: 128\n  validation_fraction: 1.5",
     "data.validation_fraction", "lt 1", False),
    ("weights do not match labels", "  class_weights: null", "  class_weights: {neg: 1.0}",
     "loss.class_weights", "one weight per label", False),
    ("patience zero", "  patience: 3", "  patience: 0", "early_stopping.patience", "ge 1", False),
    ("missing model section", "model:\n  name_or_path: distilbert-base-uncased  # keep-model\n",
     "", "model", "add a `model:` section", False),
    ("warmup between fraction and steps", "  seed: 42", "  seed: 42\n  warmup_steps: 2.5",
     "training.warmup_steps", "whole number of steps", False),
    ("unknown attention kernel", "  name_or_path: distilbert-base-uncased  # keep-model",
     "  name_or_path: distilbert-base-uncased  # keep-model\n  attn_implementation: flash",
     "model.attn_implementation", "'sdpa', 'eager', 'flash_attention_2'", False),
    ("bool written as text", "  load_best_model_at_end: true", "  load_best_model_at_end: yes",
     "training.load_best_model_at_end", "", False),  # YAML 1.1 reads yes as true: valid
]


def write_config(tmp_path: Path, old: str, new: str, mark: bool) -> Path:
    assert old in BASE, old
    replacement = new
    if mark and new and "\n" not in new:
        replacement = f"{new}  # mine"
    path = tmp_path / "training_config.yaml"
    path.write_text(BASE.replace(old, replacement, 1))
    return path


def validate_cli(path: Path, *extra: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "trainwright", "validate", str(path), *extra],
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=path.parent)
    assert "Traceback" not in result.stderr
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def test_the_base_config_is_valid():
    assert validate_config(yaml.safe_load(BASE), installed_field_specs()) == []


@pytest.mark.parametrize("case", BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_config_names_location_and_fix(tmp_path, case):
    _, old, new, location, fix, fixable = case
    path = write_config(tmp_path, old, new, mark=True)
    problems = validate_config(yaml.safe_load(path.read_text()), installed_field_specs())
    if not fix:  # a quirk that YAML itself resolves: no problem to report
        assert problems == []
        return
    matching = [p for p in problems if p.location == location]
    assert matching, [p.render() for p in problems]
    assert any(fix in f"{p.message}. Fix: {p.fix}" for p in matching), \
        [p.render() for p in matching]
    assert all(p.action for p in matching) == fixable


@pytest.mark.e2e  # runs `python -m trainwright validate --fix`
@pytest.mark.parametrize("case", [c for c in BROKEN if c[5]], ids=[c[0] for c in BROKEN if c[5]])
def test_fix_repairs_and_keeps_comments(tmp_path, case):
    _, old, new, location, _, _ = case
    path = write_config(tmp_path, old, new, mark=True)
    before = path.read_text()
    code, output = validate_cli(path, "--fix")
    assert code == 0, output
    after = path.read_text()
    assert (tmp_path / "training_config.yaml.bak").read_text() == before
    for marker in ("# keep-model", "# keep-data", "# keep-output", "# keep-lr"):
        assert marker in after
    if "# mine" in before and "removed" not in case[0]:
        assert "# mine" in after  # the renamed line keeps its comment
    assert validate_config(yaml.safe_load(after), installed_field_specs()) == []
    assert after.splitlines()[0] == before.splitlines()[0]  # key order kept


@pytest.mark.e2e  # runs `python -m trainwright validate`
def test_all_problems_are_reported_at_once(tmp_path):
    text = (BASE.replace("  eval_strategy: epoch", "  evaluation_strategy: epoch")
            .replace("  learning_rate: 3.0e-05", "  learning_rate: 5")
            .replace("  patience: 3", "  patience: 0"))
    path = tmp_path / "training_config.yaml"
    path.write_text(text)
    code, output = validate_cli(path)
    assert code == 1
    for location in ("training.evaluation_strategy", "training.learning_rate",
                     "early_stopping.patience"):
        assert location in output


@pytest.mark.e2e  # runs `python -m trainwright validate`
def test_exponent_without_a_dot_is_accepted_with_a_warning_and_fixed(tmp_path):
    path = write_config(tmp_path, "  learning_rate: 3.0e-05", "  learning_rate: 3e-5", mark=False)
    code, output = validate_cli(path)
    assert code == 0 and "is a string to YAML 1.1" in output
    code, _ = validate_cli(path, "--fix")
    assert code == 0
    assert yaml.safe_load(path.read_text())["training"]["learning_rate"] == 3e-5


def test_schema_is_exported_and_lists_the_installed_fields(capsys):
    import json

    assert main(["validate", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    training = schema["properties"]["training"]
    assert training["additionalProperties"] is False
    assert "learning_rate" in training["properties"]
    assert "evaluation_strategy" not in training["properties"]
    assert set(schema["required"]) >= {"model", "data", "training"}


# ---------------------------------------------------------------------------------------------
# Hostile files: a clear error, exit code 2, no traceback, bounded time
# ---------------------------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]"
       for i in range(8)]) + "\n"


def hostile(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "training_config.yaml"
    if name == "bomb":
        path.write_text(BILLION_LAUGHS)
    elif name == "huge":
        with open(path, "wb") as handle:
            handle.truncate(100 * 2**20)
    elif name == "binary":
        path.write_bytes(bytes(range(256)) * 40)
    elif name == "list":
        path.write_text("- learning_rate: 0.1\n- seed: 1\n")
    elif name == "scalar":
        path.write_text("just some words\n")
    elif name == "duplicate":
        path.write_text(BASE + "  seed: 7\n")
    elif name == "latin1":
        path.write_bytes(BASE.replace("text_column: text", "text_column: t\xe9xt").encode("latin-1"))
    elif name == "broken":
        path.write_text("training:\n  learning_rate: [0.1\n")
    return path


@pytest.mark.e2e  # runs `python -m trainwright validate`, with a time limit
@pytest.mark.parametrize("name, expected", [
    ("bomb", "aliases"),
    ("huge", "100 MiB"),
    ("binary", "binary"),
    ("list", "not a mapping"),
    ("scalar", "not a mapping"),
    ("duplicate", "duplicate key 'seed'"),
    ("latin1", "not UTF-8"),
    ("broken", "not valid YAML"),
])
def test_hostile_files(tmp_path, name, expected):
    path = hostile(tmp_path, name)
    started = time.perf_counter()
    code, output = validate_cli(path)
    assert time.perf_counter() - started < 30
    assert code == 2, output
    assert expected in output and str(path.name) in output


# ---------------------------------------------------------------------------------------------
# Random input never crashes it
# ---------------------------------------------------------------------------------------------

KEYS = st.sampled_from(["model", "data", "training", "loss", "early_stopping", "trainig",
                        "learning_rate", "labels", "eval_strategy", "bf16", "fp16",
                        "per_device_train_batch_size", "max_length", "class_weights",
                        "warmup_ratio", "metric_for_best_model", "save_strategy",
                        "load_best_model_at_end", "eval_steps", "save_steps", "patience"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["2e-5", "epoch", "steps", "f1_macro", "1e400"]))
VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.one_of(KEYS, st.text(max_size=6)),
                                                    children, max_size=5)), max_leaves=15)
CONFIGS = st.dictionaries(KEYS, VALUES, max_size=6)


@settings(max_examples=300, deadline=None)
@given(CONFIGS)
def test_validate_config_never_raises(config):
    problems = validate_config(config, installed_field_specs())
    assert all(p.location and p.fix for p in problems)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=CONFIGS)
def test_validate_command_exits_0_1_or_2(tmp_path, config):
    path = tmp_path / "training_config.yaml"
    path.write_text(yaml.safe_dump(config))
    code = main(["validate", str(path)])
    assert code in (0, 1, 2)
