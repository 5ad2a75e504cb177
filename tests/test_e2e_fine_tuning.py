"""End to end: init fine-tuning on instruction, chat and labelled data with tiny local models,
run the generated train.py, and check what it trained and saved."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from builders import (
    build_chat_llama,
    build_tiny_bert,
    build_tiny_llama,
    chat_rows,
    corpus_documents,
    instruction_rows,
    labelled_texts,
    pretrain_tiny_bert,
    write_csv,
    write_jsonl,
)
from safetensors.torch import load_file

from trainwright.cli import main


def vocabulary_texts() -> list[str]:
    return [r["instruction"] + " " + r["output"] for r in instruction_rows(300)] + \
        corpus_documents(100)


def run_script(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", "--config", "training_config.yaml", *arguments],
        cwd=project, capture_output=True, text=True, timeout=900, check=False)


def metrics_of(project: Path) -> dict:
    return json.loads((project / "outputs" / "fine-tuning" / "final_metrics.json").read_text())


def trainer_state(project: Path, output_dir: str = "outputs/fine-tuning") -> dict:
    return json.loads((project / output_dir / "trainer_state.json").read_text())


def evaluated_steps(state: dict) -> list[int]:
    """The step of every evaluation logged during training, in order (train() starts a fresh
    log: the evaluation before training is not in it)."""
    return [entry["step"] for entry in state["log_history"] if "eval_loss" in entry]


def load_script(project: Path):
    """The generated train.py as a module, to call its functions directly."""
    spec = importlib.util.spec_from_file_location(f"train_{project.name}", project / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lora_count(model_dir: Path, targets: list[str], rank: int) -> int:
    """LoRA parameters counted independently of trainwright: r * (in + out) per Linear whose
    name ends with a target."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return sum(rank * (module.in_features + module.out_features)
               for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear)
               and any(name.endswith("." + target) for target in targets))


# ---------------------------------------------------------------------------------------------
# LoRA SFT on instruction data (no chat template: the fallback format)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def instruction_project(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("instructions")
    build_tiny_llama(root / "models" / "tiny-llama", vocabulary_texts())
    write_jsonl(root / "data" / "train.jsonl", instruction_rows(400, seed=1))
    result = subprocess.run([sys.executable, "-m", "trainwright", "init", "fine-tuning",
                             str(root), "--model", "models/tiny-llama", "--yes"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root, result.stdout


@pytest.fixture(scope="module")
def instruction_run(instruction_project) -> subprocess.CompletedProcess:
    root, _ = instruction_project
    return run_script(root, "--max-steps", "60", "--merge",
                      "--set", "data.padding_free=true",
                      "--set", "training.include_num_input_tokens_seen=non_padding")


def test_the_plan_targets_every_block_linear_and_prints_the_count(instruction_project):
    root, summary = instruction_project
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    assert config["task"] == "fine-tuning"
    assert config["data"]["objective"] == "sft" and config["data"]["format"] == "instruction"
    adapter = config["adapter"]
    assert adapter["method"] == "lora"  # no GPU here: LoRA, never QLoRA
    assert adapter["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                         "up_proj", "down_proj"]
    expected = lora_count(root / "models" / "tiny-llama", adapter["target_modules"],
                          adapter["r"])
    assert adapter["trainable_parameters"] == expected
    assert f"{expected:,}" in summary
    readme = (root / "README-TRAINING.md").read_text()
    assert f"{expected:,}" in readme and "q_proj" in readme


def test_only_the_adapter_trains_and_held_out_loss_falls(instruction_project, instruction_run):
    root, _ = instruction_project
    assert instruction_run.returncode == 0, instruction_run.stderr[-3000:]
    metrics = metrics_of(root)
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    assert metrics["trainable_parameters"] == config["adapter"]["trainable_parameters"]
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.3
    assert "the plan counted" not in instruction_run.stderr


def test_a_padding_free_quick_check_learns_reports_its_speed_and_evaluates_once(
        instruction_project, instruction_run):
    root, _ = instruction_project
    assert instruction_run.returncode == 0, instruction_run.stderr[-3000:]
    assert "Batches: padding-free" in instruction_run.stderr
    metrics = metrics_of(root)
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.3
    assert metrics["train_tokens_per_second"] > 0 and metrics["train_samples_per_second"] > 0
    assert "tokens / s" in instruction_run.stdout and "samples / s" in instruction_run.stdout
    # 60 steps: a loss every 6 steps and one evaluation, at the end, which is also the final
    # one (before: one per epoch, and the last step evaluated twice)
    state = trainer_state(root)
    assert len([entry for entry in state["log_history"] if "loss" in entry]) >= 8
    assert evaluated_steps(state) == [60]
    assert "Quick check of 60 steps: a loss logged every 6 steps" in instruction_run.stderr
    assert "Final evaluation: the one of the last step (step 60), not repeated" in \
        instruction_run.stderr
    last = [entry for entry in state["log_history"] if "eval_loss" in entry][-1]
    assert metrics["eval_loss"] == last["eval_loss"]


def test_prompt_tokens_carry_no_loss(instruction_project):
    root, _ = instruction_project
    script = load_script(root)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(root / "models" / "tiny-llama")
    tokenizer.chat_template = script.FALLBACK_CHAT_TEMPLATE
    row = {"instruction": "What colour is the old cat?", "input": "",
           "output": "The old cat is red ."}
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    messages = script.conversation_of(row, config["data"])
    encoded = script.encode_conversation(tokenizer, messages, 512)
    learned = [t for t in encoded["labels"] if t != script.IGNORE_INDEX]
    first = encoded["labels"].index(learned[0])
    # Everything before the response is masked; from there on the labels are the input ids.
    assert all(t == script.IGNORE_INDEX for t in encoded["labels"][:first])
    assert encoded["labels"][first:] == encoded["input_ids"][first:]
    assert tokenizer.decode(learned).strip() == "The old cat is red .</s>"
    prompt = tokenizer.decode(encoded["input_ids"][:first])
    assert "What colour is the old cat?" in prompt and prompt.endswith("### Assistant:\n")


def test_the_adapter_reloads_and_the_merged_model_generates(instruction_project,
                                                           instruction_run):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, _ = instruction_project
    assert instruction_run.returncode == 0, instruction_run.stderr[-3000:]
    output = root / "outputs" / "fine-tuning"
    assert (output / "adapter_model.safetensors").is_file()
    assert not (output / "model.safetensors").exists()  # only the adapter is saved
    adapter = load_file(output / "adapter_model.safetensors")
    assert adapter and all("lora_" in key for key in adapter)

    base = AutoModelForCausalLM.from_pretrained(root / "models" / "tiny-llama")
    tuned = PeftModel.from_pretrained(base, output).eval()
    merged = AutoModelForCausalLM.from_pretrained(output / "merged").eval()
    tokenizer = AutoTokenizer.from_pretrained(output / "merged")
    inputs = tokenizer("### User:\nWhat colour is the red fox?\n\n### Assistant:\n",
                       return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(tuned(**inputs).logits, merged(**inputs).logits, atol=1e-4)
        generated = merged.generate(**inputs, max_new_tokens=8, do_sample=False,
                                    pad_token_id=tokenizer.eos_token_id)
    assert generated.shape[1] > inputs["input_ids"].shape[1]
    samples = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 and all(s["prompt"].endswith("### Assistant:\n") for s in samples)


def test_a_rerun_resumes_the_adapter_from_its_last_checkpoint(instruction_project,
                                                            instruction_run):
    root, _ = instruction_project
    assert instruction_run.returncode == 0, instruction_run.stderr[-3000:]
    checkpoints = sorted((root / "outputs" / "fine-tuning").glob("checkpoint-*"),
                         key=lambda path: int(path.name.split("-")[1]))
    assert checkpoints and (checkpoints[-1] / "adapter_model.safetensors").is_file()
    result = run_script(root, "--max-steps", "75",
                        "--set", "training.include_num_input_tokens_seen=non_padding")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(root)
    assert metrics["resumed_from"].endswith(checkpoints[-1].name)
    assert metrics["global_step"] == 75
    # tokens / s is of this run's 15 steps: the count it resumed from is not in it
    before = json.loads((checkpoints[-1] / "trainer_state.json").read_text())
    after = trainer_state(root)
    assert metrics["train_tokens_seen"] == \
        after["num_input_tokens_seen"] - before["num_input_tokens_seen"] > 0


# ---------------------------------------------------------------------------------------------
# Chat data through the tokenizer's chat template
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chat_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chat")
    build_chat_llama(root / "models" / "chat-llama", vocabulary_texts())
    write_jsonl(root / "data" / "train.jsonl", chat_rows(400, seed=2))
    assert main(["init", "fine-tuning", str(root), "--model", "models/chat-llama"]) == 0
    return root


def test_chat_rows_train_on_assistant_turns_through_the_chat_template(chat_project):
    root = chat_project
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    assert config["data"]["format"] == "chat" and config["data"]["messages_column"] == "messages"
    script = load_script(root)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(root / "models" / "chat-llama")
    messages = chat_rows(1, seed=5)[0]["messages"]
    encoded = script.encode_conversation(tokenizer, messages, 512)
    learned = [t for t in encoded["labels"] if t != script.IGNORE_INDEX]
    assert tokenizer.decode(learned) == messages[2]["content"] + "<|im_end|>\n"
    masked = tokenizer.decode([i for i, t in zip(encoded["input_ids"], encoded["labels"],
                                                 strict=True) if t == script.IGNORE_INDEX])
    assert masked.startswith("<|im_start|>system") and messages[1]["content"] in masked

    result = run_script(root, "--max-steps", "40", "--set", "evaluation.before_training_samples=16")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(root)
    assert metrics["eval_loss"] < metrics["eval_loss_before"]
    assert "Evaluating before training on 16 of 40 validation examples" in result.stderr
    # a 40-step quick check draws a curve: a loss every 4 steps
    assert len([entry for entry in trainer_state(root)["log_history"] if "loss" in entry]) >= 8
    assert metrics["trainable_parameters"] == config["adapter"]["trainable_parameters"]
    sample = json.loads((root / "outputs" / "fine-tuning" / "samples.jsonl").read_text()
                        .splitlines()[0])
    assert sample["prompt"].startswith("<|im_start|>system")
    assert sample["prompt"].endswith("<|im_start|>assistant\n")


def test_a_padding_free_full_run_counts_every_token_and_reuses_the_best_evaluation(
        chat_project, monkeypatch):
    """Two epochs over 48 examples: every example is trained on twice, so the tokens counted are
    twice those of the tokenised training split; the final metrics are the logged evaluation of
    the best epoch, which load_best_model_at_end restored, not a second pass."""
    root = chat_project
    output_dir = "outputs/padding-free"
    result = run_script(root, "--max-samples", "48", "--no-resume",
                        "--set", f"training.output_dir={output_dir}",
                        "--set", "training.num_train_epochs=2",
                        "--set", "data.padding_free=true",
                        "--set", "training.include_num_input_tokens_seen=non_padding",
                        "--set", "evaluation.before_training_samples=0")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((root / output_dir / "final_metrics.json").read_text())

    script = load_script(root)
    from transformers import AutoTokenizer

    monkeypatch.chdir(root)  # the config's data paths are relative to the project
    config = yaml.safe_load((root / "training_config.yaml").read_text())
    tokenizer = AutoTokenizer.from_pretrained(root / "models" / "chat-llama")
    examples = script.tokenize_examples(
        script.load_examples(config["data"], config["training"]["seed"], 48), tokenizer,
        config["data"])
    assert metrics["train_tokens_seen"] == 2 * sum(map(len, examples["train"]["input_ids"]))

    state = trainer_state(root, output_dir)
    steps = evaluated_steps(state)
    assert "eval_loss_before" not in metrics and "No evaluation before training" in result.stderr
    assert len(steps) == 2 and len(set(steps)) == 2  # one per epoch, none repeated at the end
    best = int(metrics["best_checkpoint"].rsplit("-", 1)[-1])
    logged = next(e for e in state["log_history"] if e.get("step") == best and "eval_loss" in e)
    assert metrics["eval_loss"] == logged["eval_loss"]
    assert f"Final evaluation: the one of the best checkpoint (step {best})" in result.stderr


# ---------------------------------------------------------------------------------------------
# Frozen layers
# ---------------------------------------------------------------------------------------------

def test_freeze_leaves_frozen_weights_bit_identical(tmp_path):
    from transformers import AutoModelForCausalLM

    build_tiny_llama(tmp_path / "models" / "tiny-llama", vocabulary_texts())
    write_jsonl(tmp_path / "data" / "train.jsonl", instruction_rows(200, seed=3))
    assert main(["init", "fine-tuning", str(tmp_path), "--model", "models/tiny-llama",
                 "--method", "freeze"]) == 0
    config = yaml.safe_load((tmp_path / "training_config.yaml").read_text())
    frozen = config["adapter"]["frozen_modules"]
    assert frozen == ["model.embed_tokens", "model.layers.0"]

    result = run_script(tmp_path, "--max-steps", "10")
    assert result.returncode == 0, result.stderr[-3000:]
    before = AutoModelForCausalLM.from_pretrained(tmp_path / "models" / "tiny-llama").state_dict()
    after = AutoModelForCausalLM.from_pretrained(
        tmp_path / "outputs" / "fine-tuning").state_dict()
    unchanged = {name for name in before if torch.equal(before[name], after[name])}
    for name in before:
        if any(name.startswith(module + ".") for module in frozen):
            assert name in unchanged, f"{name} is frozen but changed"
        elif name.startswith("model.layers.1.") and name.endswith("proj.weight"):
            assert name not in unchanged, f"{name} is trained but did not change"
    trainable = sum(after[n].numel() for n in after if n not in unchanged)
    assert trainable <= config["adapter"]["trainable_parameters"]
    assert metrics_of(tmp_path)["trainable_parameters"] == \
        config["adapter"]["trainable_parameters"]


# ---------------------------------------------------------------------------------------------
# LoRA sequence classification on labelled text
# ---------------------------------------------------------------------------------------------

def test_lora_classification_beats_the_majority_and_saves_its_head(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    rows = labelled_texts(700, seed=3)
    write_csv(tmp_path / "data" / "train.csv", rows)
    encoder = build_tiny_bert(tmp_path / "models" / "tiny-bert", [text for text, _ in rows])
    pretrain_tiny_bert(encoder, labelled_texts(300, seed=4))
    assert main(["init", "fine-tuning", str(tmp_path), "--model", "models/tiny-bert"]) == 0
    config = yaml.safe_load((tmp_path / "training_config.yaml").read_text())
    assert config["data"]["objective"] == "sequence_classification"
    assert config["adapter"]["modules_to_save"] == ["classifier"]
    # BERT's pooler is also called "dense": the targets say which dense layers are meant.
    assert "dense" not in config["adapter"]["target_modules"]

    result = run_script(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path)
    assert metrics["eval_accuracy"] > metrics["majority_class_rate"] + 0.15
    assert metrics["trainable_parameters"] == config["adapter"]["trainable_parameters"]

    output = tmp_path / "outputs" / "fine-tuning"
    assert any("classifier" in key for key in load_file(output / "adapter_model.safetensors"))
    base = AutoModelForSequenceClassification.from_pretrained(tmp_path / "models" / "tiny-bert",
                                                              num_labels=3)
    model = PeftModel.from_pretrained(base, output).eval()
    tokenizer = AutoTokenizer.from_pretrained(output)
    labels = config["data"]["labels"]
    texts, gold = zip(*rows[:200], strict=True)
    with torch.no_grad():
        logits = model(**tokenizer(list(texts), padding=True, return_tensors="pt")).logits
    predicted = [labels[i] for i in logits.argmax(-1).tolist()]
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
    majority = max(gold.count(label) for label in labels) / len(gold)
    assert accuracy > majority + 0.15


def test_train_py_names_a_bad_row_that_came_after_init(tmp_path):
    build_tiny_llama(tmp_path / "models" / "tiny-llama", vocabulary_texts())
    data = write_jsonl(tmp_path / "data" / "train.jsonl", chat_rows(60))
    assert main(["init", "fine-tuning", str(tmp_path), "--model", "models/tiny-llama"]) == 0
    bad = {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "yo"}]}
    with open(data, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(bad) + "\n")
    result = run_script(tmp_path, "--max-steps", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data/train.jsonl row 61, message 2: role 'bot' is not one of" in result.stderr


def test_plain_text_trains_a_causal_lm_adapter(tmp_path):
    build_tiny_llama(tmp_path / "models" / "tiny-llama", corpus_documents(300, seed=1))
    corpus = tmp_path / "data" / "corpus.txt"
    corpus.parent.mkdir()
    corpus.write_text("\n".join(corpus_documents(600, seed=2)) + "\n")
    assert main(["init", "fine-tuning", str(tmp_path), "--model", "models/tiny-llama"]) == 0
    config = yaml.safe_load((tmp_path / "training_config.yaml").read_text())
    assert config["data"]["objective"] == "causal_lm" and config["adapter"]["method"] == "lora"
    result = run_script(tmp_path, "--max-steps", "40")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path)
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.2
    assert metrics["trainable_parameters"] == config["adapter"]["trainable_parameters"]
    assert (tmp_path / "outputs" / "fine-tuning" / "adapter_model.safetensors").is_file()


def test_hpo_searches_the_adapter_rank_and_writes_a_valid_best_config(tmp_path):
    from trainwright.config.fields import installed_field_specs
    from trainwright.config.validate import validate_config

    build_tiny_llama(tmp_path / "models" / "tiny-llama", vocabulary_texts())
    write_jsonl(tmp_path / "data" / "train.jsonl", instruction_rows(120, seed=6))
    assert main(["init", "fine-tuning", str(tmp_path), "--model", "models/tiny-llama"]) == 0
    result = run_script(tmp_path, "--hpo", "2", "--max-steps", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    best = json.loads((tmp_path / "outputs" / "fine-tuning" / "best_hyperparameters.json")
                      .read_text())
    assert best["metric"] == "eval_loss" and best["parameters"]["adapter.r"] in (8, 16, 32)
    config = yaml.safe_load((tmp_path / "training_config.best.yaml").read_text())
    assert config["adapter"]["r"] == best["parameters"]["adapter.r"]
    assert validate_config(config, installed_field_specs()) == []
