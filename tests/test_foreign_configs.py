"""Start from what the project already has: Axolotl, LLaMA-Factory and flat TrainingArguments
configs are imported into the plan, each value naming its file and key, what changed said with
why, keys without an equivalent listed; the generated script trains on the imported plan."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from builders import build_tiny_llama, instruction_rows, labelled_texts, write_csv, write_jsonl
from test_model_availability import CPU

from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.planning.plan import IMPORTED

AXOLOTL = """\
base_model: models/tiny-llama
model_type: LlamaForCausalLM
load_in_8bit: false
load_in_4bit: false
strict: false

datasets:
  - path: data/train.jsonl
    type: alpaca
dataset_prepared_path: last_run_prepared
val_set_size: 0.1
output_dir: ./outputs/lora-out

sequence_len: 96
sample_packing: false

adapter: lora
lora_r: 64
lora_alpha: 128
lora_dropout: 0.05
lora_target_linear: true

wandb_project: colours
gradient_accumulation_steps: 4
micro_batch_size: 2
num_epochs: 7
optimizer: adamw_torch
lr_scheduler: cosine
learning_rate: 1.1e-4
bf16: auto
tf32: false
gradient_checkpointing: true
logging_steps: 1
flash_attention: true
warmup_steps: 10
weight_decay: 0.0
special_tokens:
  pad_token: "</s>"
"""

LLAMA_FACTORY = """\
### model
model_name_or_path: models/tiny-llama

### method
stage: sft
do_train: true
finetuning_type: lora
lora_rank: 8
lora_target: all

### dataset
dataset: colours
dataset_dir: data
template: llama3
cutoff_len: 80
max_samples: 1000
overwrite_cache: true
preprocessing_num_workers: 16

### output
output_dir: saves/tiny/lora/sft
logging_steps: 10
save_steps: 500
plot_loss: true
overwrite_output_dir: true

### train
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
learning_rate: 1.0e-4
num_train_epochs: 3.0
lr_scheduler_type: cosine
warmup_ratio: 0.1
bf16: true
ddp_timeout: 180000000

### eval
val_size: 0.1
per_device_eval_batch_size: 1
eval_strategy: steps
eval_steps: 500
"""


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    texts = [f"{row['instruction']} {row['output']}" for row in instruction_rows(300)]
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama", texts)


def project_with(tmp_path, tiny_llama, name, text, data="data/train.jsonl"):
    import shutil

    shutil.copytree(tiny_llama, tmp_path / "models" / "tiny-llama")
    write_jsonl(tmp_path / data, instruction_rows(120))
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def rows_by_setting(plan):
    return {row.setting: row for row in plan.imported}


def test_an_axolotl_config_is_the_starting_point_of_the_plan(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", AXOLOTL)
    plan = prepare("fine-tuning", project, Options(), hardware=CPU).plan
    values = plan.values()
    assert values["model"]["name_or_path"] == "models/tiny-llama"
    assert values["data"]["train_file"] == "data/train.jsonl"
    assert values["data"]["format"] == "instruction"
    assert values["data"]["max_length"] == 96
    assert values["data"]["validation_fraction"] == 0.1
    assert values["adapter"]["r"] == 64 and values["adapter"]["lora_alpha"] == 128
    assert values["adapter"]["lora_dropout"] == 0.05
    assert values["training"]["learning_rate"] == pytest.approx(1.1e-4)
    assert values["training"]["num_train_epochs"] == 7
    assert values["training"]["warmup_steps"] == 10
    assert values["training"]["lr_scheduler_type"] == "cosine"
    # The other tool's run folder is not reused: its checkpoints would be resumed.
    assert values["training"]["output_dir"] == "outputs/fine-tuning"
    # Every imported value says where it came from.
    r = plan.sections["adapter"]["r"]
    assert r.source == IMPORTED and "from axolotl.yml: lora_r" in r.reason
    assert "from axolotl.yml: learning_rate" in plan.sections["training"]["learning_rate"].reason
    assert "from axolotl.yml: datasets[0].path" in plan.sections["data"]["train_file"].reason
    assert "from axolotl.yml: base_model" in plan.sections["model"]["name_or_path"].reason
    # The batch: 2 x 4 is an effective batch of 8, kept on a CPU.
    training = values["training"]
    assert training["per_device_train_batch_size"] * training[
        "gradient_accumulation_steps"] == 8
    rows = rows_by_setting(plan)
    assert rows["adapter.r"].status == "kept" and rows["adapter.r"].value == 64
    # What could not be kept is said, with why.
    attention = rows["model.attn_implementation"]
    assert attention.status == "changed" and "flash-attn" in attention.why
    assert rows["training.bf16"].status in {"kept", "changed"}
    unmapped = {(u.file, u.key): u.note for u in plan.unmapped}
    assert ("axolotl.yml", "wandb_project") in unmapped
    assert "never resumed" in unmapped[("axolotl.yml", "output_dir")]
    assert ("axolotl.yml", "special_tokens") in unmapped
    assert "WANDB_PROJECT" in unmapped[("axolotl.yml", "wandb_project")]


def test_a_llama_factory_config_and_its_dataset_info_are_imported(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "examples/train_lora/tiny_lora_sft.yaml",
                           LLAMA_FACTORY, data="data/colours.json")
    rows = instruction_rows(120)
    (tmp_path / "data" / "colours.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "data" / "dataset_info.json").write_text(json.dumps(
        {"colours": {"file_name": "colours.json", "formatting": "alpaca"}}), encoding="utf-8")
    plan = prepare("fine-tuning", project, Options(), hardware=CPU).plan
    values = plan.values()
    assert values["data"]["train_file"] == "data/colours.json"
    assert values["data"]["max_length"] == 80
    assert values["adapter"]["r"] == 8
    assert values["training"]["learning_rate"] == pytest.approx(1e-4)
    assert values["training"]["num_train_epochs"] == 3
    assert values["training"]["warmup_steps"] == pytest.approx(0.1)  # warmup_ratio, renamed
    source = "from examples/train_lora/tiny_lora_sft.yaml: warmup_ratio"
    assert source in plan.sections["training"]["warmup_steps"].reason
    unmapped = {u.key: u.note for u in plan.unmapped}
    assert "removed in transformers 5.0" in unmapped["overwrite_output_dir"]
    assert "chat template" in unmapped["template"]
    assert "--max-samples" in unmapped["max_samples"]


def test_the_most_specific_config_wins_and_the_summary_says_which(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", AXOLOTL)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "args.yaml").write_text(
        "learning_rate: 4.0e-5\nnum_train_epochs: 8\nper_device_train_batch_size: 32\n"
        "output_dir: out\n", encoding="utf-8")
    plan = prepare("fine-tuning", project, Options(), hardware=CPU).plan
    assert plan.values()["training"]["learning_rate"] == pytest.approx(1.1e-4)
    lost = {(row.setting, row.value, row.status) for row in plan.imported}
    assert ("training.learning_rate", 4e-5, "overruled by axolotl.yml") in lost
    assert ("training.num_train_epochs", 8, "overruled by axolotl.yml") in lost


def test_a_flat_4x_training_arguments_file_is_reused_by_init(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "training_args.yaml").write_text(yaml.safe_dump({
        "output_dir": "results", "evaluation_strategy": "epoch", "warmup_ratio": 0.2,
        "logging_dir": "logs", "learning_rate": 4e-5, "num_train_epochs": 8,
        "per_device_train_batch_size": 32, "weight_decay": 0.01}), encoding="utf-8")
    plan = prepare("classification", tmp_path, Options(model="models/none"), hardware=CPU).plan
    training = plan.values()["training"]
    assert training["learning_rate"] == pytest.approx(4e-5)
    assert training["num_train_epochs"] == 8
    assert training["warmup_steps"] == pytest.approx(0.2)
    assert training["eval_strategy"] == "epoch"
    assert training["output_dir"] == "outputs/classification"
    assert "from config/training_args.yaml: evaluation_strategy" in \
        plan.sections["training"]["eval_strategy"].reason
    unmapped = {u.key: u.note for u in plan.unmapped}
    assert "TENSORBOARD_LOGGING_DIR" in unmapped["logging_dir"]


def test_a_flag_wins_over_an_imported_value(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", AXOLOTL)
    plan = prepare("fine-tuning", project, Options(data_paths=("data/train.jsonl",),
                                                   model=str(tmp_path / "models" / "tiny-llama")),
                   hardware=CPU).plan
    assert plan.sections["data"]["train_file"].source == "flag"
    assert plan.sections["model"]["name_or_path"].source == "flag"
    assert plan.values()["adapter"]["r"] == 64  # what no flag set is still imported


def test_what_cannot_carry_over_is_listed_with_why(tmp_path, tiny_llama):
    """A Hub dataset, a validation size that is no fraction and a step cadence are listed;
    a format that differs from what the rows hold is read from the rows and said so."""
    text = AXOLOTL.replace("val_set_size: 0.1", "val_set_size: 0").replace(
        "type: alpaca", "type: chat_template") + (
        "test_datasets:\n  - path: someone/eval-set\neval_strategy: steps\neval_steps: 50\n")
    text = text.replace("    type: chat_template\n",
                        "    type: chat_template\n  - path: someone/hub-set\n")
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", text)
    plan = prepare("fine-tuning", project, Options(), hardware=CPU).plan
    notes = {u.key: u.note for u in plan.unmapped}
    assert "pass --data someone/hub-set" in notes["datasets[1].path"]
    assert "fraction between 0 and 1" in notes["val_set_size"]
    assert "cadence" in notes["eval_strategy"] and "cadence" in notes["eval_steps"]
    assert plan.values()["data"]["format"] == "instruction"  # what the rows are
    row = rows_by_setting(plan)["data.format"]
    assert row.value == "chat" and row.status == "changed"
    assert 0 < plan.values()["data"]["validation_fraction"] < 1


@pytest.mark.e2e  # runs init and the generated train.py
def test_the_script_trains_on_the_imported_axolotl_plan(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", AXOLOTL)
    init = subprocess.run([sys.executable, "-m", "trainwright", "init", "fine-tuning",
                           str(project), "--yes"], capture_output=True, text=True, timeout=300,
                          check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "Taken from your configs" in init.stdout
    assert "from axolotl.yml: lora_r" in (project / "README-TRAINING.md").read_text()
    run = subprocess.run([sys.executable, "train.py", "--max-steps", "3"], cwd=project,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    saved = project / "outputs" / "fine-tuning" / "quick-check"
    folder = saved if saved.exists() else project / "outputs" / "fine-tuning"
    assert (folder / "final_metrics.json").is_file()
    adapter = json.loads(next(folder.rglob("adapter_config.json")).read_text())
    assert adapter["r"] == 64 and adapter["lora_alpha"] == 128


def test_deepspeed_and_accelerate_settings_are_read_and_auto_is_left_to_the_plan(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200))
    (tmp_path / "ds_config.json").write_text(json.dumps({
        "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
        "gradient_clipping": 0.5, "bf16": {"enabled": "auto"},
        "optimizer": {"type": "AdamW", "params": {"lr": 3e-5, "weight_decay": 0.02}},
        "zero_optimization": {"stage": 2}}), encoding="utf-8")
    (tmp_path / "accelerate_config.yaml").write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\nmixed_precision: "
        "fp16\nnum_processes: 2\n", encoding="utf-8")
    plan = prepare("classification", tmp_path, Options(model="models/none"), hardware=CPU).plan
    training = plan.values()["training"]
    assert training["max_grad_norm"] == 0.5 and training["weight_decay"] == 0.02
    assert training["learning_rate"] == pytest.approx(3e-5)
    rows = rows_by_setting(plan)
    assert "training.per_device_train_batch_size" not in rows  # "auto": the plan decides
    assert rows["training.fp16"].status == "changed"  # no fp16 on a CPU
    notes = {u.key: u.note for u in plan.unmapped}
    assert "--gpus N" in notes["zero_optimization"] and "--strategy" in notes["num_processes"]


def test_from_names_one_config_and_an_unknown_one_is_a_clear_stop(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", AXOLOTL)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "args.yaml").write_text("learning_rate: 4.0e-5\noutput_dir: out\n",
                                                   encoding="utf-8")
    plan = prepare("fine-tuning", project, Options(import_from="config/args.yaml"),
                   hardware=CPU).plan
    assert plan.values()["training"]["learning_rate"] == pytest.approx(4e-5)
    assert {row.where.split(":")[0] for row in plan.imported} == {"from config/args.yaml"}
    from trainwright.errors import UserError

    with pytest.raises(UserError, match="--from nothing.yml: not a config"):
        prepare("fine-tuning", project, Options(import_from="nothing.yml"), hardware=CPU)


def test_a_trl_sft_config_is_imported(tmp_path, tiny_llama):
    trl = ("model_name_or_path: models/tiny-llama\ndataset_name: data/train.jsonl\n"
           "use_peft: true\nlora_r: 32\nlora_alpha: 16\nmax_length: 72\nlearning_rate: 2.0e-4\n"
           "num_train_epochs: 2\npacking: true\noutput_dir: trl-out\n")
    project = project_with(tmp_path, tiny_llama, "sft_config.yaml", trl)
    plan = prepare("fine-tuning", project, Options(), hardware=CPU).plan
    values = plan.values()
    assert values["model"]["name_or_path"] == "models/tiny-llama"
    assert values["data"]["train_file"] == "data/train.jsonl"
    assert values["adapter"]["method"] == "lora" and values["adapter"]["r"] == 32
    assert values["adapter"]["lora_alpha"] == 16 and values["data"]["max_length"] == 72
    assert values["training"]["num_train_epochs"] == 2
    assert "from sft_config.yaml: use_peft" in plan.sections["adapter"]["method"].reason
    # TRL's packing is the plan's padding-free rows, decided by the plan and said either way.
    packing = rows_by_setting(plan)["data.padding_free"]
    assert packing.value is True and packing.where == "from sft_config.yaml: packing"
    planned = plan.sections["data"]["padding_free"]
    assert packing.status == ("kept" if planned.value else "changed")
    assert packing.status == "kept" or packing.why == planned.reason
    assert "packing" not in {u.key for u in plan.unmapped}


def test_a_rerun_over_the_imported_setup_writes_the_same_files(tmp_path, tiny_llama):
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", AXOLOTL)
    first = prepare("fine-tuning", project, Options(), hardware=CPU)
    for path, text in first.files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text, encoding="utf-8")
    again = prepare("fine-tuning", project, Options(), hardware=CPU, force=True)
    assert again.files == first.files


def test_a_fine_tuning_tools_config_is_named_not_imported_for_classification(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200))
    (tmp_path / "axolotl.yml").write_text(AXOLOTL, encoding="utf-8")
    plan = prepare("classification", tmp_path, Options(model="models/none"), hardware=CPU).plan
    assert plan.values()["training"]["learning_rate"] != pytest.approx(1.1e-4)
    (note,) = [u for u in plan.unmapped if u.file == "axolotl.yml"]
    assert "init fine-tuning" in note.note and not plan.imported


def test_the_imported_effective_batch_is_kept_exactly_when_split_for_a_cpu(tmp_path, tiny_llama):
    text = AXOLOTL.replace("micro_batch_size: 2", "micro_batch_size: 3")  # 3 x 4 = 12
    project = project_with(tmp_path, tiny_llama, "axolotl.yml", text)
    training = prepare("fine-tuning", project, Options(), hardware=CPU).plan.values()["training"]
    assert training["per_device_train_batch_size"] * training[
        "gradient_accumulation_steps"] == 12
