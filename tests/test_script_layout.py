"""A training script of the project's own is never clobbered: trainwright's script goes beside
it as train_<task>.py, every file names that script, reruns regenerate it in place, and
--script PATH chooses the name."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from builders import labelled_texts, write_csv
from test_model_availability import CPU
from test_planning import facts

from trainwright.cli import main
from trainwright.discovery.existing import discover_existing
from trainwright.discovery.framework import GENERATED_MARKER
from trainwright.discovery.models import Conventions, ExistingTraining
from trainwright.errors import UserError
from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.planning.layout import given_script_path, script_location
from trainwright.write import apply_changes

USERS_SCRIPT = b"# my own training loop\r\nimport torch\r\n\r\nprint('training')\r\n"


def project_facts(scripts=(), generated=(), scripts_dir=None):
    """Planning facts of a project holding these training scripts."""
    existing = ExistingTraining(tuple(scripts), None, {}, (), (), generated_scripts=generated)
    return dataclasses.replace(facts(), existing=existing,
                               conventions=Conventions(scripts_dir, None, None, None))


def own_project(root: Path) -> Path:
    write_csv(root / "data" / "train.csv", labelled_texts(120))
    (root / "train.py").write_bytes(USERS_SCRIPT)
    return root


def init_in_process(root: Path, **options) -> dict[str, str]:
    """prepare + write, as init does before verifying (no child process: the unit tier)."""
    prepared = prepare("classification", root, Options(model="models/none", **options),
                       hardware=CPU)
    apply_changes(root, prepared.changes)
    return {change.path: change.status for change in prepared.changes}


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# Where the script goes (planning)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("task", "name"), [("classification", "train_classification.py"),
                                            ("generation", "train_generation.py"),
                                            ("fine-tuning", "train_fine_tuning.py")])
def test_the_projects_own_train_py_moves_the_script_beside_it(task, name):
    path, reason = script_location(project_facts(["train.py"]), task, None)
    assert path == name
    assert reason.startswith("the project's own train.py is kept")
    assert name in reason and "--script PATH" in reason


def test_a_taken_name_moves_on_and_trainwrights_own_script_is_reused():
    both_users = project_facts(["train.py", "train_classification.py"])
    path, reason = script_location(both_users, "classification", None)
    assert path == "train_classification_2.py"
    assert "train.py and train_classification.py are kept" in reason
    # A script trainwright wrote earlier is regenerated where it is: reruns land on it.
    earlier = project_facts(["train.py", "train_classification.py"],
                            generated=("train_classification.py",))
    assert script_location(earlier, "classification", None)[0] == "train_classification.py"
    ours = project_facts(["train.py"], generated=("train.py",))
    assert script_location(ours, "classification", None) == ("train.py", "")
    # Only a script at the planned path is in the way; one elsewhere is not.
    assert script_location(project_facts(["src/train.py"]), "generation", None)[0] == "train.py"


def test_the_scripts_folder_keeps_the_projects_script_too():
    laid_out = project_facts(["scripts/train.py"], scripts_dir="scripts")
    path, reason = script_location(laid_out, "generation", None)
    assert path == "scripts/train_generation.py"
    assert reason.startswith("scripts live in scripts/; the project's own scripts/train.py")


def test_script_flag_wins_and_is_normalised():
    given = project_facts(["train.py"])
    assert script_location(given, "classification", "./scripts/../scripts/fit.py") == \
        ("scripts/fit.py", "scripts/fit.py given with --script")
    assert given_script_path(Path("/project"), "/project/tools/fit.py") == "tools/fit.py"


@pytest.mark.parametrize(("given", "message", "fix"), [
    ("../x.py", "--script ../x.py: the training script must be inside the project folder",
     "--script x.py"),
    ("/elsewhere/x.py", "must be inside the project folder", "--script x.py"),
    ("x.txt", "--script x.txt: the training script must be a Python file ending in .py",
     "--script x.py"),
    ("scripts/fit", "must be a Python file ending in .py", "--script scripts/fit.py"),
])
def test_a_script_path_outside_the_project_or_not_python_is_refused(given, message, fix):
    with pytest.raises(UserError) as error:
        given_script_path(Path("/project"), given)
    assert message in error.value.problem
    assert fix in error.value.fix


# ---------------------------------------------------------------------------------------------
# What discovery reports
# ---------------------------------------------------------------------------------------------

def test_discovery_tells_trainwrights_scripts_from_the_projects(tmp_path):
    (tmp_path / "train.py").write_bytes(USERS_SCRIPT)
    (tmp_path / "train_classification.py").write_text(
        f'# /// script\n# ///\n"""Train.\n\n{GENERATED_MARKER} 0.1.0."""\n', encoding="utf-8")
    existing = discover_existing(tmp_path, sorted(tmp_path.glob("*.py")), [])
    assert existing.training_scripts == ("train.py", "train_classification.py")
    assert existing.generated_scripts == ("train_classification.py",)


# ---------------------------------------------------------------------------------------------
# The written setup
# ---------------------------------------------------------------------------------------------

def test_a_project_with_its_own_train_py_keeps_it_byte_for_byte(tmp_path):
    root = own_project(tmp_path)
    statuses = init_in_process(root)
    assert statuses["train_classification.py"] == "create" and "train.py" not in statuses
    assert (root / "train.py").read_bytes() == USERS_SCRIPT
    command = "python train_classification.py --config training_config.yaml"
    readme = (root / "README-TRAINING.md").read_text()
    assert command in readme and "python train.py" not in readme
    assert "the project's own train.py is kept" in readme
    script = (root / "train_classification.py").read_text()
    assert command in script and "python train.py" not in script  # its usage names itself
    config = (root / "training_config.yaml").read_text()
    assert f"# Train:       {command}" in config
    # A rerun regenerates the same file in place: nothing changes, no train_classification_2.py.
    before = snapshot(root)
    again = init_in_process(root)
    assert set(again.values()) == {"identical"}, again
    assert snapshot(root) == before
    assert not (root / "train_classification_2.py").exists()


def test_script_flag_writes_the_script_there(tmp_path):
    root = own_project(tmp_path)
    statuses = init_in_process(root, script_path="scripts/fit.py")
    assert statuses["scripts/fit.py"] == "create"
    assert (root / "train.py").read_bytes() == USERS_SCRIPT
    command = "python scripts/fit.py --config training_config.yaml"
    assert command in (root / "README-TRAINING.md").read_text()
    assert command in (root / "scripts" / "fit.py").read_text()
    assert "scripts/fit.py given with --script" in (root / "README-TRAINING.md").read_text()


def test_the_summary_names_the_new_script_and_regenerating_keeps_the_flag(tmp_path, capsys):
    root = own_project(tmp_path)
    (root / "training_config.yaml").write_text("# an older setup\n", encoding="utf-8")
    assert main(["init", "classification", str(root), "--model", "models/none", "--yes",
                 "--dry-run"]) == 0
    output = capsys.readouterr().out
    assert re.search(r"train_classification\.py\s*│ create", output)
    assert "the project's own train.py is kept, so trainwright's script is " \
           "train_classification.py beside it (--script PATH chooses the name)" in output
    assert main(["init", "classification", str(root), "--model", "models/none", "--yes",
                 "--script", "tools/fit.py", "--dry-run"]) == 0
    output = capsys.readouterr().out
    assert "tools/fit.py given with --script" in output
    regenerate = next(line for line in output.splitlines() if "# Regenerate:" in line)
    assert "--script tools/fit.py" in regenerate and regenerate.endswith("--force")
    assert (root / "train.py").read_bytes() == USERS_SCRIPT


def test_a_bad_script_flag_is_exit_2_and_writes_nothing(tmp_path, capsys):
    root = own_project(tmp_path)
    before = snapshot(root)
    assert main(["init", "classification", str(root), "--model", "models/none",
                 "--script", "../x.py", "--dry-run"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "--script ../x.py: the training script must be inside the project folder" in message
    assert "Fix: pass a path relative to the project root" in message
    assert snapshot(root) == before


# ---------------------------------------------------------------------------------------------
# As a user would: init, then the printed command trains
# ---------------------------------------------------------------------------------------------

@pytest.mark.e2e  # a whole `trainwright init` (TrainingArguments check) and the script
def test_the_printed_command_trains_with_the_script_beside_the_projects(tmp_path, tiny_bert,
                                                                         capsys):
    root = own_project(tmp_path)
    assert main(["init", "classification", str(root), "--model", str(tiny_bert),
                 "--yes"]) == 0
    output = capsys.readouterr().out
    commands = re.findall(r"^\s+(python \S+ --config \S+)$", output, re.MULTILINE)
    assert commands == ["python train_classification.py --config training_config.yaml"]
    assert (root / "train.py").read_bytes() == USERS_SCRIPT
    result = subprocess.run([sys.executable, *commands[0].split()[1:], "--max-steps", "2"],
                            cwd=root, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    metrics = json.loads((root / config["training"]["output_dir"] / "final_metrics.json")
                         .read_text())
    assert metrics["global_step"] == 2 and metrics["full_run"] is False
    assert (root / "train.py").read_bytes() == USERS_SCRIPT
    # Run again: the script trainwright wrote is regenerated in place.
    assert main(["init", "classification", str(root), "--model", str(tiny_bert),
                 "--yes"]) == 0
    assert re.search(r"train_classification\.py\s*│ identical", capsys.readouterr().out)
    assert not (root / "train_classification_2.py").exists()
