"""End to end: init fine-tuning on TRL's conversational and standard prompt-completion rows,
ShareGPT conversations and document / summary pairs with a tiny local Llama, run the generated
train.py for a few steps, and check which tokens it learns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from builders import (
    build_chat_llama,
    build_tiny_llama,
    chat_prompt_completion_rows,
    corpus_documents,
    document_summary_rows,
    instruction_rows,
    prompt_completion_rows,
    sharegpt_rows,
    write_jsonl,
)
from test_e2e_fine_tuning import load_script, metrics_of, run_script

from trainwright.cli import main

pytestmark = pytest.mark.e2e


def vocabulary_texts() -> list[str]:
    return [r["instruction"] + " " + r["output"] for r in instruction_rows(300)] + \
        corpus_documents(100) + ["You answer in one short sentence."]


@pytest.fixture(scope="module")
def chat_llama(tmp_path_factory) -> Path:
    return build_chat_llama(tmp_path_factory.mktemp("models") / "chat-llama", vocabulary_texts())


@pytest.fixture(scope="module")
def plain_llama(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama", vocabulary_texts())


def init_project(root: Path, model: Path, rows: list[dict]) -> dict:
    write_jsonl(root / "data" / "train.jsonl", rows)
    assert main(["init", "fine-tuning", str(root), "--model", str(model)]) == 0
    return yaml.safe_load((root / "training_config.yaml").read_text())


def learned_and_masked(root: Path, model: Path, row: dict) -> tuple[str, str]:
    """The row as the generated train.py tokenises it for training: the text of the tokens
    that carry loss, and of those that do not."""
    from datasets import Dataset, DatasetDict
    from transformers import AutoTokenizer

    script = load_script(root)
    tokenizer = AutoTokenizer.from_pretrained(model)
    if not tokenizer.chat_template and hasattr(script, "FALLBACK_CHAT_TEMPLATE"):
        tokenizer.chat_template = script.FALLBACK_CHAT_TEMPLATE  # as train.py sets it
    data = yaml.safe_load((root / "training_config.yaml").read_text())["data"]
    tokens = script.tokenize_examples(DatasetDict({"train": Dataset.from_list([row])}),
                                      tokenizer, data)["train"][0]
    pairs = list(zip(tokens["input_ids"], tokens["labels"], strict=True))
    learned = [label for _, label in pairs if label != script.IGNORE_INDEX]
    assert learned == [token for token, label in pairs if label != script.IGNORE_INDEX]
    masked = [token for token, label in pairs if label == script.IGNORE_INDEX]
    return tokenizer.decode(learned), tokenizer.decode(masked)


def assert_it_trains(root: Path, steps: int = 12) -> dict:
    result = run_script(root, "--max-steps", str(steps))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(root)
    assert metrics["eval_loss"] < metrics["eval_loss_before"]
    return metrics


def test_conversational_prompt_completion_learns_the_completion_only(tmp_path, chat_llama):
    config = init_project(tmp_path, chat_llama, chat_prompt_completion_rows(160, seed=1))
    assert (config["data"]["format"], config["data"]["prompt_column"],
            config["data"]["response_column"]) == ("chat_prompt_completion", "prompt",
                                                   "completion")
    # An assistant turn inside the prompt is context too: only the completion is learned.
    row = {"prompt": [{"role": "user", "content": "What colour is the old cat?"},
                      {"role": "assistant", "content": "The old cat is red ."},
                      {"role": "user", "content": "And the quick dog?"}],
           "completion": [{"role": "assistant", "content": "The quick dog is blue ."}]}
    learned, masked = learned_and_masked(tmp_path, chat_llama, row)
    assert learned == "The quick dog is blue .<|im_end|>\n"
    assert masked.startswith("<|im_start|>user\nWhat colour is the old cat?")
    assert "The old cat is red ." in masked and "[{" not in masked  # never the list's repr

    assert_it_trains(tmp_path)
    sample = json.loads((tmp_path / "outputs" / "fine-tuning" / "samples.jsonl").read_text()
                        .splitlines()[0])
    assert sample["prompt"].endswith("<|im_start|>assistant\n") and "[{" not in sample["prompt"]


def test_sharegpt_conversations_train_through_the_chat_template(tmp_path, chat_llama):
    config = init_project(tmp_path, chat_llama, sharegpt_rows(160, seed=2))
    assert config["data"]["format"] == "sharegpt"
    assert config["data"]["messages_column"] == "conversations"
    row = sharegpt_rows(1, seed=9)[0]
    learned, masked = learned_and_masked(tmp_path, chat_llama, row)
    assert learned == row["conversations"][2]["value"] + "<|im_end|>\n"
    assert masked.startswith("<|im_start|>system\nYou answer in one short sentence.")
    assert f"<|im_start|>user\n{row['conversations'][1]['value']}" in masked
    assert_it_trains(tmp_path)


def test_plain_prompt_completion_learns_the_completion_without_a_chat_template(tmp_path,
                                                                              plain_llama):
    config = init_project(tmp_path, plain_llama, prompt_completion_rows(160, seed=3))
    assert config["data"]["format"] == "prompt_completion"
    learned, masked = learned_and_masked(
        tmp_path, plain_llama, {"prompt": "What colour is the old cat? ",
                                "completion": "The old cat is red ."})
    assert (masked, learned) == ("What colour is the old cat? ", "The old cat is red .</s>")
    assert "###" not in (tmp_path / "train.py").read_text()  # no chat template code at all
    assert_it_trains(tmp_path)


def test_document_summary_pairs_plan_sft_on_the_summary_and_train(tmp_path, plain_llama):
    config = init_project(tmp_path, plain_llama, document_summary_rows(160, seed=4))
    data = config["data"]
    assert (data["objective"], data["format"]) == ("sft", "seq2seq")
    assert (data["prompt_column"], data["response_column"]) == ("document", "summary")
    row = document_summary_rows(1, seed=5)[0]
    learned, masked = learned_and_masked(tmp_path, plain_llama, row)
    assert learned.strip() == row["summary"] + "</s>"
    assert row["document"] in masked
    assert_it_trains(tmp_path)


def test_a_sharegpt_row_with_an_unknown_role_stops_init_naming_the_row(tmp_path, plain_llama):
    rows = sharegpt_rows(20)
    rows[4]["conversations"][2]["from"] = "bot"
    write_jsonl(tmp_path / "data" / "train.jsonl", rows)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = subprocess.run([sys.executable, "-m", "trainwright", "init", "fine-tuning",
                             str(tmp_path), "--model", str(plain_llama)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data/train.jsonl has rows that cannot be trained on" in result.stderr
    assert "row 5, message 3: role 'bot' is not one of system, human, user, gpt" in result.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
