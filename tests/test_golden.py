"""Rendered setups match the committed golden files; the generated scripts pass ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from golden_projects import GOLDEN_DIR, SHAPES, render_shape

REGENERATE = "python scripts/regenerate_golden.py"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rendered_files_match_golden(shape, tmp_path):
    files = render_shape(shape, tmp_path)
    golden = {p.relative_to(GOLDEN_DIR / shape).as_posix(): p.read_text(encoding="utf-8")
              for p in (GOLDEN_DIR / shape).rglob("*") if p.is_file()}
    assert sorted(files) == sorted(golden), f"file list changed; run {REGENERATE}"
    for path, content in files.items():
        assert content == golden[path], f"{shape}/{path} differs from golden; run {REGENERATE}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_golden_train_script_passes_ruff(shape):
    scripts = list((GOLDEN_DIR / shape).rglob("train.py"))
    assert scripts
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,B,SIM,C4,UP,I",
         "--line-length", "100", "--target-version", "py310", *map(str, scripts)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_laid_out_project_puts_files_where_the_project_keeps_them():
    root = GOLDEN_DIR / "laid_out"
    assert (root / "configs" / "training_config.yaml").is_file()
    assert (root / "scripts" / "train.py").is_file()
    gitignore = (root / ".gitignore").read_text().splitlines()
    assert gitignore[:2] == ["__pycache__/", ".env"]  # kept, in order
    assert gitignore.count(".env") == 1  # not duplicated
    assert "WANDB_API_KEY=your_wandb_api_key_here" in (root / ".env.example").read_text()


def test_golden_files_are_valid(tmp_path):
    import json

    import yaml

    for shape in SHAPES:
        config = next((GOLDEN_DIR / shape).rglob("training_config.yaml"))
        assert isinstance(yaml.safe_load(config.read_text()), dict)
        json.loads((GOLDEN_DIR / shape / "hyperparameters.json").read_text())
        compile(next((GOLDEN_DIR / shape).rglob("train.py")).read_text(), "train.py", "exec")


def test_regeneration_script_exists():
    assert Path(__file__).parent.parent.joinpath("scripts", "regenerate_golden.py").is_file()
