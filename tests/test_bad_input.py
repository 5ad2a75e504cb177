"""Bad input: a one-paragraph error naming the file or value and the fix, exit code 2,
no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from builders import labelled_texts, write_csv


def run_cli(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainwright", *arguments], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_clean_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())  # rich wraps long lines
    for text in expected:
        assert text in message, message


@pytest.fixture
def good_project(tmp_path) -> Path:
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    return tmp_path


def test_unknown_training_type_lists_the_valid_ones_with_a_did_you_mean(good_project):
    before = snapshot(good_project)
    result = run_cli("init", "clasification", str(good_project))
    assert_clean_error(result, "Unknown training type 'clasification'",
                       "Did you mean 'classification'?", "classification, generation, fine-tuning")
    assert snapshot(good_project) == before


def test_no_training_type_without_a_terminal_lists_the_types(good_project):
    result = run_cli("init", cwd=good_project)
    assert_clean_error(result, "No training type given", "classification")


def test_missing_project_folder(tmp_path):
    result = run_cli("init", "classification", str(tmp_path / "nowhere"))
    assert_clean_error(result, "nowhere", "does not exist", "Fix:")
    assert not (tmp_path / "nowhere").exists()


def test_project_without_data(tmp_path):
    (tmp_path / "model.py").write_text("import torch\n")
    before = snapshot(tmp_path)
    result = run_cli("init", "classification", str(tmp_path))
    assert_clean_error(result, "No data files found", "--data")
    assert snapshot(tmp_path) == before


def test_empty_csv(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("text,label\n")
    before = snapshot(tmp_path)
    result = run_cli("init", "classification", str(tmp_path))
    assert_clean_error(result, "data/train.csv has no data rows")
    assert snapshot(tmp_path) == before


def test_csv_without_a_plausible_label_column(tmp_path):
    rows = [(f"note number {i} about the weather today", f"id-{i}") for i in range(50)]
    write_csv(tmp_path / "data" / "notes.csv", rows, header=("body", "reference"))
    before = snapshot(tmp_path)
    result = run_cli("init", "classification", str(tmp_path))
    assert_clean_error(result, "data/notes.csv", "no plausible label column", "body, reference",
                       "--label-column")
    assert snapshot(tmp_path) == before


def test_binary_file_named_csv(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" * 50)
    before = snapshot(tmp_path)
    result = run_cli("init", "classification", str(tmp_path))
    assert_clean_error(result, "data/train.csv is a binary file")
    assert snapshot(tmp_path) == before


def test_single_class_dataset(tmp_path):
    write_csv(tmp_path / "data" / "train.csv",
              [(f"great product number {i}", "positive") for i in range(40)])
    before = snapshot(tmp_path)
    result = run_cli("init", "classification", str(tmp_path))
    assert_clean_error(result, "single class ('positive')", "at least two")
    assert snapshot(tmp_path) == before


def test_data_path_outside_the_project(tmp_path, good_project):
    outside = write_csv(tmp_path.parent / f"{tmp_path.name}-outside.csv", labelled_texts(50))
    before = snapshot(good_project)
    result = run_cli("init", "classification", str(good_project), "--data", str(outside))
    assert_clean_error(result, "is outside the project folder", "copy or link the data")
    assert snapshot(good_project) == before


def test_unknown_column_given_on_the_command_line(good_project):
    result = run_cli("init", "classification", str(good_project), "--label-column", "klass")
    assert_clean_error(result, "has no label column 'klass'", "text, label")


@pytest.mark.parametrize(("given", "expected"), [
    ("../x.py", "--script ../x.py: the training script must be inside the project folder"),
    ("x.txt", "--script x.txt: the training script must be a Python file ending in .py"),
])
def test_a_script_path_outside_the_project_or_not_python(good_project, given, expected):
    before = snapshot(good_project)
    result = run_cli("init", "classification", str(good_project), "--script", given)
    assert_clean_error(result, expected, "Fix:", "--script")
    assert snapshot(good_project) == before


def test_existing_files_are_not_overwritten_without_force(good_project):
    (good_project / "train.py").write_text("print('my own training script')\n")
    before = snapshot(good_project)
    # --script names the project's own train.py (without it the script goes beside it).
    result = run_cli("init", "classification", str(good_project), "--script", "train.py")
    assert_clean_error(result, "train.py", "nothing was written", "--force")
    assert snapshot(good_project) == before


# ---------------------------------------------------------------------------------------------
# Fine-tuning
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory) -> Path:
    from builders import build_tiny_llama, corpus_documents

    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama",
                            corpus_documents(50))


def fine_tuning_project(root: Path, rows: list[dict]) -> Path:
    from builders import write_jsonl

    write_jsonl(root / "data" / "train.jsonl", rows)
    return root


def test_a_target_module_the_model_lacks_lists_the_ones_it_has(tmp_path, llama_folder):
    from builders import instruction_rows

    project = fine_tuning_project(tmp_path, instruction_rows(50))
    before = snapshot(project)
    result = run_cli("init", "fine-tuning", str(project), "--model", str(llama_folder),
                     "--target-modules", "q_proj,query_key_value")
    assert_clean_error(result, "has no module named 'query_key_value'",
                       "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj")
    assert snapshot(project) == before


def test_chat_rows_with_an_unknown_role_or_no_assistant_turn_are_named(tmp_path, llama_folder):
    from builders import chat_rows

    rows = chat_rows(20)
    rows[4] = {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "yo"}]}
    rows[11] = {"messages": [{"role": "user", "content": "anyone there?"}]}
    project = fine_tuning_project(tmp_path, rows)
    before = snapshot(project)
    result = run_cli("init", "fine-tuning", str(project), "--model", str(llama_folder))
    assert_clean_error(result, "data/train.jsonl has rows that cannot be trained on",
                       "row 5, message 2: role 'bot' is not one of system, user, assistant, tool",
                       "row 12: no assistant turn")
    assert snapshot(project) == before


def test_instruction_data_without_a_response_column(tmp_path, llama_folder):
    from builders import instruction_rows

    rows = [{"instruction": row["instruction"], "input": ""} for row in instruction_rows(30)]
    project = fine_tuning_project(tmp_path, rows)
    before = snapshot(project)
    result = run_cli("init", "fine-tuning", str(project), "--model", str(llama_folder))
    assert_clean_error(result, "looks like instruction data (column 'instruction')",
                       "no response column", "output, response, completion or answer")
    assert snapshot(project) == before


def test_a_hub_model_that_is_not_available_offline_says_how_to_get_it(tmp_path):
    from builders import instruction_rows

    project = fine_tuning_project(tmp_path, instruction_rows(30))
    before = snapshot(project)
    result = run_cli("init", "fine-tuning", str(project), "--model", "someone/not-downloaded")
    assert_clean_error(result, "The modules of someone/not-downloaded cannot be read",
                       "pass --model with a local folder that has config.json")
    assert snapshot(project) == before
