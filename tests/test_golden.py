"""Rendered setups match the committed golden files, say how to regenerate them, validate, and
their train.py passes ruff."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from golden_projects import GOLDEN_DIR, KNOWN_SPECS, SHAPES, TASKS, render_shape

from trainwright.config.validate import validate_config, validate_search_space

REGENERATE = "python scripts/regenerate_golden.py"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "regenerate_golden.py"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each shape rendered once for the whole module: shape -> {relative path: content}."""
    cache: dict[str, dict[str, str]] = {}

    def render(shape: str) -> dict[str, str]:
        if shape not in cache:
            cache[shape] = render_shape(shape, tmp_path_factory.mktemp(shape))
        return cache[shape]

    return render


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rendered_files_match_golden(shape, rendered):
    files = rendered(shape)
    golden = {path: (GOLDEN_DIR / shape / path).read_text(encoding="utf-8")
              for path in tree(GOLDEN_DIR / shape)}
    assert sorted(files) == sorted(golden), f"file list changed; run {REGENERATE}"
    for path, content in files.items():
        assert content == golden[path], f"{shape}/{path} differs from golden; run {REGENERATE}"


# What a user types in the project folder to get each shape's setup again.
REGENERATE_COMMANDS = {
    "flat": "trainwright init classification . --model distilbert/distilbert-base-uncased",
    "laid_out": "trainwright init classification . --model google-bert/bert-base-uncased "
                "--report-to wandb",
    "corpus": "trainwright init generation . --model HuggingFaceTB/SmolLM2-135M",
    "instructions": "trainwright init fine-tuning . --model models/tiny-llama --method qlora "
                    "--target-gpu t4",
    "labelled_lora": "trainwright init fine-tuning . --model models/tiny-bert",
    "chat_sft": "trainwright init fine-tuning . --model models/chat-llama",
    "causal_lm_lora": "trainwright init fine-tuning . --model models/tiny-llama",
    "freeze": "trainwright init fine-tuning . --model models/tiny-llama --method freeze",
    "full": "trainwright init fine-tuning . --model models/tiny-bert --method full",
    "from_scratch": "trainwright init generation . --model models/tiny-llama --from-scratch",
    "sharegpt_sft": "trainwright init fine-tuning . --model models/chat-llama",
    "chat_prompt_completion_sft": "trainwright init fine-tuning . --model models/chat-llama",
    "prompt_completion_sft": "trainwright init fine-tuning . --model models/tiny-llama",
    "regression": "trainwright init classification . --model distilbert/distilbert-base-uncased",
    "multi_label": "trainwright init classification . --model google-bert/bert-base-uncased",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_config_names_the_command_that_regenerates_it(shape, rendered):
    config = next(text for path, text in rendered(shape).items()
                  if path.endswith("training_config.yaml"))
    assert f"# Regenerate:  {REGENERATE_COMMANDS[shape]} --force\n" in config


def test_every_shape_config_and_search_space_validate(rendered):
    """What `trainwright validate` checks, against the field names the goldens target."""
    for shape in SHAPES:
        files = rendered(shape)
        config = yaml.safe_load(next(text for path, text in files.items()
                                     if path.endswith("training_config.yaml")))
        problems = validate_config(config, KNOWN_SPECS)
        problems += validate_search_space(json.loads(files["hyperparameters.json"]), config)
        assert problems == [], (shape, [problem.render() for problem in problems])


def test_every_shape_train_script_passes_ruff(rendered, tmp_path):
    """One ruff run over the train.py of every shape (the goldens, as rendered now)."""
    from ruff.__main__ import find_ruff_bin

    scripts = []
    for shape in SHAPES:
        (path,) = [path for path in rendered(shape) if path.endswith("train.py")]
        script = tmp_path / shape / path
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(rendered(shape)[path], encoding="utf-8")
        scripts.append(str(script))
    result = subprocess.run(
        [find_ruff_bin(), "check", "--isolated", "--select", "E,F,W,B,SIM,C4,UP,I",
         "--line-length", "100", "--target-version", "py310", *scripts],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_regeneration_script_writes_exactly_the_golden_files(tmp_path):
    spec = importlib.util.spec_from_file_location("regenerate_golden", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    target = tmp_path / "golden"
    assert script.main([str(target)]) == 0
    assert tree(target) == tree(GOLDEN_DIR), f"run {REGENERATE}"
    assert script.main([str(target)]) == 2  # never replaces a folder that is not empty


def test_laid_out_project_puts_files_where_the_project_keeps_them():
    root = GOLDEN_DIR / "laid_out"
    assert (root / "configs" / "training_config.yaml").is_file()
    assert (root / "scripts" / "train.py").is_file()
    gitignore = (root / ".gitignore").read_text().splitlines()
    assert gitignore[:2] == ["__pycache__/", ".env"]  # kept, in order
    assert gitignore.count(".env") == 1  # not duplicated
    assert "WANDB_API_KEY=your_wandb_api_key_here" in (root / ".env.example").read_text()


def _config_of(files: dict[str, str]) -> str:
    return next(text for path, text in files.items() if path.endswith("training_config.yaml"))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_config_comments_are_short_and_hold_no_derived_figures(shape, rendered):
    """One clause per key within 100 columns, that stays true when a value is edited: no
    memory estimate or count in a comment (README-TRAINING.md has those)."""
    for line in _config_of(rendered(shape)).splitlines():
        if line.startswith(("# Train:", "# Regenerate:")):
            continue  # commands are kept whole, to be copied
        assert len(line) <= 100, (shape, line)
        _, _, comment = line.partition("#")
        assert "MiB" not in comment and "estimated" not in comment, (shape, line)
        assert not re.search(r"\d,\d{3}", comment), (shape, line)


# What the script of each method imports, and what it must not.
METHOD_CODE = {
    "lora": ({"get_peft_model"}, {"BitsAndBytesConfig", "prepare_model_for_kbit_training"}),
    "qlora": ({"get_peft_model", "BitsAndBytesConfig", "prepare_model_for_kbit_training"}, set()),
    "freeze": ({"requires_grad_(False)"}, {"peft", "BitsAndBytesConfig", "--merge"}),
    "full": (set(), {"peft", "BitsAndBytesConfig", "requires_grad_(False)", "--merge"}),
}


@pytest.mark.parametrize("shape", sorted(s for s in SHAPES if TASKS[s] == "fine-tuning"))
def test_a_fine_tuning_script_holds_only_the_code_of_its_method(shape, rendered):
    files = rendered(shape)
    method = yaml.safe_load(_config_of(files))["adapter"]["method"]
    script = next(text for path, text in files.items() if path.endswith("train.py"))
    needed, absent = METHOD_CODE[method]
    assert all(code in script for code in needed), (method, needed)
    assert not [code for code in absent if code in script], method
    assert f'METHOD = "{method}"' in script  # checked against adapter.method at start


# What the script of each fine-tuning data format holds, and what it must not.
FORMAT_CODE = {
    "chat": ({"apply_chat_template", "check_messages"},
             {"role_map", "learned_from", "encode_example"}),
    "sharegpt": ({"apply_chat_template", 'data["role_map"]'}, {"learned_from", "encode_example"}),
    "chat_prompt_completion": ({"apply_chat_template", "learned_from=len(prompt)"},
                               {"role_map", "encode_example"}),
    "prompt_completion": ({"encode_example", "tokenizer.eos_token_id"},
                          {"apply_chat_template", "FALLBACK_CHAT_TEMPLATE", "ROLES", "role_map"}),
    "instruction": ({"apply_chat_template", "FALLBACK_CHAT_TEMPLATE"},
                    {"role_map", "learned_from", "check_messages", "encode_example"}),
}


@pytest.mark.parametrize("shape", sorted(s for s in SHAPES if TASKS[s] == "fine-tuning"))
def test_an_sft_script_holds_only_the_code_of_its_data_format(shape, rendered):
    files = rendered(shape)
    data = yaml.safe_load(_config_of(files))["data"]
    script = next(text for path, text in files.items() if path.endswith("train.py"))
    if data["objective"] != "sft":  # no data format: none of the SFT row code
        assert "apply_chat_template" not in script and "encode_example" not in script
        return
    needed, absent = FORMAT_CODE[data["format"]]
    assert all(code in script for code in needed), (data["format"], needed)
    assert not [code for code in absent if code in script], data["format"]
