"""A flat TrainingArguments file of a transformers 4.x script (issue 15, item 2): `validate`
checks it as the installed TrainingArguments (renames and removals named at its top level, not
17 "is not a section" errors), `--fix` repairs it in place (comments kept, a .bak written),
and init imports it, also when it sits at training_config.yaml, which it then replaces only
with --force."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from builders import labelled_texts, write_csv
from hypothesis import given, settings
from test_model_availability import CPU
from test_validate import CONFIGS

from trainwright.cli import main
from trainwright.config.check import check_config
from trainwright.config.fields import installed_field_specs
from trainwright.config.validate import validate_training_arguments
from trainwright.discovery.dependencies import installed_version
from trainwright.discovery.existing import discover_existing
from trainwright.errors import UserError
from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.write import apply_changes

# The file: what a 2023 script passed to TrainingArguments(**yaml.safe_load(...)).
LEGACY = """\
# Arguments of the 2023 sentiment run (transformers 4.30)
output_dir: results  # checkpoints
evaluation_strategy: epoch  # once an epoch
save_strategy: epoch
warmup_ratio: 0.1  # a tenth of the steps
logging_dir: logs  # TensorBoard
# Optimisation, from the sweep of March
learning_rate: 4.0e-5
num_train_epochs: 8
per_device_train_batch_size: 32  # fits a 16 GB card
weight_decay: 0.01
"""
COMMENTS = [line[line.index("#"):] for line in LEGACY.splitlines()
            if "#" in line and "logging_dir" not in line]  # that line is deleted


@pytest.fixture(autouse=True)
def _transformers_5():
    # The renames below are those of the installed transformers 5 (5.24 here).
    version = installed_version("transformers") or ""
    assert version.startswith("5."), version


def legacy_file(tmp_path, name="config/training_args.yaml", text=LEGACY):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def validate(capsys, *arguments) -> tuple[int, str]:
    code = main(["validate", *map(str, arguments)])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


def test_validate_names_each_rename_and_removal_at_the_top_level(tmp_path, capsys):
    path = legacy_file(tmp_path)
    report = check_config(path)
    problems = {problem.location: problem for problem in report.problems}
    assert set(problems) == {"evaluation_strategy", "warmup_ratio", "logging_dir"}
    assert "renamed to `eval_strategy`" in problems["evaluation_strategy"].message
    assert "`eval_strategy: epoch`" in problems["evaluation_strategy"].fix
    assert "renamed to `warmup_steps` in transformers 5.0" in problems["warmup_ratio"].message
    assert "`warmup_steps: 0.1`" in problems["warmup_ratio"].fix
    assert "fraction" in problems["warmup_ratio"].fix
    assert "removed in transformers 5.0" in problems["logging_dir"].message
    assert "TENSORBOARD_LOGGING_DIR" in problems["logging_dir"].fix
    assert all(problem.action for problem in problems.values())  # --fix does each
    code, output = validate(capsys, path)
    assert code == 1
    assert "is not a section" not in output and "training." not in output
    assert "error evaluation_strategy: was renamed to `eval_strategy`" in output
    # One note says what the file is and how init turns it into a trainwright config.
    assert output.count("note:") == 1
    assert "flat transformers TrainingArguments file" in output
    assert f"installed transformers {installed_version('transformers')}" in output
    assert f"trainwright init TYPE {tmp_path} --from config/training_args.yaml" in output
    assert main(["validate", "--json", str(path)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "transformers TrainingArguments" and len(document["notes"]) == 1
    assert {p["location"] for p in document["problems"]} == set(problems)


def test_fix_repairs_the_flat_file_in_place(tmp_path, capsys):
    path = legacy_file(tmp_path)
    code, output = validate(capsys, path, "--fix")
    assert code == 0, output
    assert (tmp_path / "config" / "training_args.yaml.bak").read_text() == LEGACY
    after = path.read_text()
    for comment in COMMENTS:  # every comment, also the one below the deleted line
        assert comment in after, comment
    values = yaml.safe_load(after)
    assert list(values) == ["output_dir", "eval_strategy", "save_strategy", "warmup_steps",
                            "learning_rate", "num_train_epochs", "per_device_train_batch_size",
                            "weight_decay"]
    assert values["eval_strategy"] == "epoch" and values["warmup_steps"] == 0.1
    assert values["learning_rate"] == 4e-5
    assert "eval_strategy: epoch  " in after and "# once an epoch" in after.split("\n")[2]
    # A second validate is clean.
    assert check_config(path).problems == []
    code, output = validate(capsys, path)
    assert code == 0 and "valid for transformers" in output


def test_a_json_file_is_checked_and_fixed_with_its_order_and_indentation(tmp_path, capsys):
    original = ('{\n    "output_dir": "results",\n    "evaluation_strategy": "steps",\n'
                '    "learning_rate": 1e-5,\n    "no_cuda": true,\n    "logging_dir": "logs",\n'
                '    "num_train_epochs": 3\n}\n')
    path = legacy_file(tmp_path, "training_args.json", original)
    report = check_config(path)
    # JSON is read as JSON: 1e-5 is a number, not YAML 1.1's string.
    assert {problem.location for problem in report.problems} == {
        "evaluation_strategy", "no_cuda", "logging_dir"}
    code, output = validate(capsys, path, "--fix")
    assert code == 0, output
    assert (tmp_path / "training_args.json.bak").read_text() == original
    assert path.read_text() == ('{\n    "output_dir": "results",\n    "eval_strategy": "steps",\n'
                                '    "learning_rate": 1e-05,\n    "use_cpu": true,\n'
                                '    "num_train_epochs": 3\n}\n')
    assert check_config(path).problems == []


def test_a_flat_file_keeps_the_cross_field_rules(tmp_path):
    path = legacy_file(tmp_path, "args.yaml", "output_dir: out\nlearning_rate: 2\n"
                       "eval_strategy: epoch\nsave_strategy: steps\nload_best_model_at_end: true\n"
                       "bf16: true\nfp16: true\nlerning_rate_warmup: 3\n")
    locations = {problem.location: problem for problem in check_config(path).problems}
    assert {"learning_rate", "save_strategy", "fp16", "lerning_rate_warmup"} <= set(locations)
    assert "is 2; it must be in (0, 1)" in locations["learning_rate"].message


@pytest.mark.parametrize("text, expected", [
    ("base_model: m\nadapter: lora\nlearning_rate: 1.0e-4\n", "init fine-tuning"),
    ("zero_optimization:\n  stage: 2\ntrain_micro_batch_size_per_gpu: 4\n", "init TYPE"),
])
def test_another_tools_config_is_a_clear_error(tmp_path, capsys, text, expected):
    path = legacy_file(tmp_path, "tool.yaml", text)
    code, output = validate(capsys, path)
    assert code == 2
    assert "not a trainwright training_config.yaml" in output
    assert f"trainwright {expected} {tmp_path} --from tool.yaml" in output
    assert path.read_text() == text and not (tmp_path / "tool.yaml.bak").exists()


@pytest.mark.parametrize("name", ["training_config.yaml", "config/training_config.yaml"])
def test_a_flat_file_at_training_config_yaml_is_imported_and_needs_force(tmp_path, name):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200))
    path = legacy_file(tmp_path, name)
    prepared = prepare("classification", tmp_path, Options(model="models/none"), hardware=CPU)
    assert prepared.facts.existing.foreign_configs[0].path == name
    assert prepared.plan.config_path == name
    training = prepared.plan.sections["training"]
    assert training["learning_rate"].value == pytest.approx(4e-5)
    assert training["num_train_epochs"].value == 8
    assert training["eval_strategy"].value == "epoch"
    assert f"from {name}: learning_rate" in training["learning_rate"].reason
    assert f"from {name}: num_train_epochs" in training["num_train_epochs"].reason
    assert f"from {name}: evaluation_strategy" in training["eval_strategy"].reason
    assert any(item.key == "logging_dir" for item in prepared.plan.unmapped)
    change = next(change for change in prepared.changes if change.path == name)
    assert change.status == "conflict"
    with pytest.raises(UserError) as refused:
        apply_changes(tmp_path, prepared.changes)
    message = str(refused.value)
    assert f"{name}: a config for transformers TrainingArguments, not trainwright's" in message
    assert "its values are imported" in message
    assert "--force" in message and f"{name}.bak" in message
    assert path.read_text() == LEGACY and not (tmp_path / "train.py").exists()
    # With --force it is replaced by trainwright's config and kept as the .bak.
    forced = prepare("classification", tmp_path, Options(model="models/none"), hardware=CPU,
                     force=True)
    apply_changes(tmp_path, forced.changes)
    assert (tmp_path / f"{name}.bak").read_text() == LEGACY
    written = yaml.safe_load(path.read_text())
    assert written["task"] == "classification"
    assert written["training"]["learning_rate"] == pytest.approx(4e-5)
    assert written["training"]["num_train_epochs"] == 8


def test_trainwright_configs_stay_its_own(tmp_path):
    (tmp_path / "training_config.yaml").write_text(
        "task: classification\nmodel:\n  name_or_path: m\ntraining:\n  learning_rate: 1.0e-5\n"
        "  num_train_epochs: 2\n", encoding="utf-8")
    existing = discover_existing(tmp_path, [], [tmp_path / "training_config.yaml"])
    assert existing.foreign_configs == ()
    assert existing.training_config_values["training"]["num_train_epochs"] == 2


def test_init_from_imports_a_flat_file_validate_recognised(tmp_path, capsys):
    # No learning_rate: recognised by its TrainingArguments keys, so --from accepts it.
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200))
    path = legacy_file(tmp_path, "config/args.json", json.dumps(
        {"evaluation_strategy": "epoch", "num_train_epochs": 6, "warmup_ratio": 0.2}))
    code, output = validate(capsys, path)
    assert code == 1 and "--from config/args.json" in output
    plan = prepare("classification", tmp_path,
                   Options(model="models/none", import_from="config/args.json"),
                   hardware=CPU).plan
    assert plan.sections["training"]["num_train_epochs"].value == 6
    assert plan.sections["training"]["warmup_steps"].value == pytest.approx(0.2)
    assert "from config/args.json: warmup_ratio" in plan.sections["training"]["warmup_steps"].reason


@settings(max_examples=200, deadline=None)
@given(CONFIGS)
def test_checking_a_flat_file_never_raises(config):
    problems = validate_training_arguments(config, installed_field_specs())
    assert all(p.location and p.fix and not p.location.startswith("training.")
               for p in problems)


@settings(max_examples=25, deadline=None)
@given(CONFIGS)
def test_validate_fix_exits_0_1_or_2_and_keeps_a_backup(config):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "args.yaml"
        path.write_text(yaml.safe_dump(config))
        before = path.read_text()
        assert main(["validate", "--fix", str(path)]) in (0, 1, 2)
        backup = path.with_name("args.yaml.bak")
        assert backup.read_text() == before if backup.exists() else path.read_text() == before


@pytest.mark.e2e  # runs `python -m trainwright validate` as a user does
def test_validate_exit_codes_through_the_cli(tmp_path):
    path = legacy_file(tmp_path)

    def run(*arguments):
        result = subprocess.run([sys.executable, "-m", "trainwright", "validate", *arguments],
                                capture_output=True, text=True, timeout=120, check=False,
                                cwd=tmp_path)
        assert "Traceback" not in result.stderr
        return result.returncode, " ".join((result.stdout + result.stderr).split())

    code, output = run("config/training_args.yaml")
    assert code == 1 and "error warmup_ratio: was renamed to `warmup_steps`" in output
    assert "trainwright init TYPE --from config/training_args.yaml" in output
    code, output = run("config/training_args.yaml", "--fix")
    assert code == 0 and "fixed logging_dir: deleted" in output
    assert path.with_name("training_args.yaml.bak").read_text() == LEGACY
    assert run("config/training_args.yaml")[0] == 0
    code, output = run("config/missing.yaml")
    assert code == 2 and "config/missing.yaml does not exist" in output
