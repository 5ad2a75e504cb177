"""Planning is pure: the same facts on a T4, an A100 or a CPU give the expected differences."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from trainwright.discovery.dependencies import KNOWN_TRAINING_ARGUMENT_FIELDS
from trainwright.discovery.model import describe_model
from trainwright.discovery.models import (
    GPU,
    Conventions,
    DataFile,
    Dependencies,
    Dependency,
    ExistingTraining,
    FrameworkFacts,
    Hardware,
    ProjectFacts,
)
from trainwright.errors import UserError
from trainwright.planning import Options, plan

CPU = Hardware(gpus=(), mps=False, cpu_cores=8, cpu_bf16=False, ram_mib=32_000, source="test")
T4 = Hardware(gpus=(GPU("Tesla T4", 15_360, (7, 5)),), mps=False, cpu_cores=8, cpu_bf16=False,
              ram_mib=32_000, source="test")
A100 = Hardware(gpus=(GPU("NVIDIA A100-SXM4-80GB", 81_920, (8, 0)),), mps=False, cpu_cores=16,
                cpu_bf16=True, ram_mib=256_000, source="test")


def data_file(counts=None, rows=None, words_p99=40, split="train", path="data/train.csv"):
    counts = counts or {"positive": 6000, "negative": 3000, "question": 1000}
    return DataFile(path=path, format="csv", split=split, size_bytes=1_000_000,
                    rows=rows or sum(counts.values()), columns=("text", "label"),
                    text_column="text", label_column="label", label_counts=counts,
                    text_length_chars={"p50": words_p99 * 2, "p99": words_p99 * 6},
                    text_length_words={"p50": words_p99 // 3, "p99": words_p99},
                    sampled_rows=1000)


def dependencies(fields=KNOWN_TRAINING_ARGUMENT_FIELDS, tensorboard=True):
    packages = [Dependency("transformers", "5.24.0", ""), Dependency("torch", "2.13.0", "")]
    if tensorboard:
        packages.append(Dependency("tensorboard", "2.21.0", ""))
    return Dependencies(tuple(packages), tuple(fields), "5.24.0", True)


def facts(hardware=CPU, data=None, existing_values=None, fields=KNOWN_TRAINING_ARGUMENT_FIELDS,
          config_dir=None, scripts_dir=None):
    existing = ExistingTraining((), "training_config.yaml" if existing_values else None,
                                existing_values or {}, (), ())
    return ProjectFacts(
        root=Path("/project"),
        framework=FrameworkFacts("pytorch", {"pytorch": 3.0}, (), "test"),
        existing=existing,
        data=tuple(data or [data_file()]),
        dependencies=dependencies(fields),
        hardware=hardware,
        conventions=Conventions(scripts_dir, config_dir, None, None),
    )


BERT_BASE = describe_model("google-bert/bert-base-uncased", Path("/project"))


def training(the_plan):
    return the_plan.values()["training"]


def test_precision_follows_the_hardware():
    on_cpu, on_t4, on_a100 = (training(plan("classification", facts(h), BERT_BASE, Options()))
                              for h in (CPU, T4, A100))
    assert (on_cpu["bf16"], on_cpu["fp16"]) == (False, False)
    assert (on_t4["bf16"], on_t4["fp16"]) == (False, True)  # T4: no fast bf16
    assert (on_a100["bf16"], on_a100["fp16"]) == (True, False)
    assert on_a100["tf32"] is True and "tf32" not in on_t4 and "tf32" not in on_cpu


def test_gpu_plans_pin_memory_and_use_workers_cpu_plans_do_not():
    on_cpu = training(plan("classification", facts(CPU), BERT_BASE, Options()))
    on_a100 = training(plan("classification", facts(A100), BERT_BASE, Options()))
    assert on_cpu["dataloader_num_workers"] == 0 and on_cpu["dataloader_pin_memory"] is False
    assert on_a100["dataloader_num_workers"] >= 1 and on_a100["dataloader_pin_memory"] is True


def test_effective_batch_is_reached_on_every_device():
    for hardware in (CPU, T4, A100):
        values = training(plan("classification", facts(hardware), BERT_BASE, Options()))
        effective = values["per_device_train_batch_size"] * values["gradient_accumulation_steps"]
        assert effective == 32  # 9,000 training rows: the table's 32


def test_small_gpu_memory_trades_batch_for_accumulation():
    small = Hardware(gpus=(GPU("Small GPU", 4_096, (8, 6)),), mps=False, cpu_cores=4,
                     cpu_bf16=False, ram_mib=16_000, source="test")
    long_texts = data_file(words_p99=400)
    values = training(plan("classification", facts(small, [long_texts]), BERT_BASE, Options()))
    assert values["per_device_train_batch_size"] < 32
    assert values["per_device_train_batch_size"] * values["gradient_accumulation_steps"] == 32


def test_class_weights_only_when_imbalanced():
    imbalanced = plan("classification", facts(), BERT_BASE, Options()).values()
    weights = imbalanced["loss"]["class_weights"]
    assert weights["question"] > weights["negative"] > weights["positive"]
    assert sum(weights[k] * n for k, n in data_file().label_counts.items()) == \
        pytest.approx(10_000, rel=1e-3)  # balanced weights keep the total weight
    assert imbalanced["training"]["metric_for_best_model"] == "f1_macro"
    balanced = data_file(counts={"a": 500, "b": 480, "c": 510})
    values = plan("classification", facts(data=[balanced]), BERT_BASE, Options()).values()
    assert values["loss"]["class_weights"] is None
    assert values["training"]["metric_for_best_model"] == "accuracy"


def test_max_length_from_the_length_distribution_not_the_model_maximum():
    short = plan("classification", facts(data=[data_file(words_p99=20)]), BERT_BASE, Options())
    long = plan("classification", facts(data=[data_file(words_p99=2000)]), BERT_BASE, Options())
    assert short.value("data", "max_length") == 32  # 20 words x 1.4 + 2 = 30 -> 32
    assert long.value("data", "max_length") == 512  # capped at the model's positions
    measured = plan("classification", facts(), BERT_BASE, Options(), token_lengths=[10] * 90 + [77] * 10)
    assert measured.value("data", "max_length") == 80
    assert "measured with the model's tokenizer" in measured.sections["data"]["max_length"].reason


def with_parameters(count: int):
    """BERT base's shape with another parameter count: the learning rate reads only the count."""
    return dataclasses.replace(BERT_BASE, num_parameters=count)


@pytest.mark.parametrize("model, rate, count", [
    # One model per row of defaults.CLASSIFICATION_LEARNING_RATES:
    (with_parameters(4_385_920), 3e-4, "4.4 M"),  # BERT-tiny (L-2, H-128): "under 5 M"
    (with_parameters(11_170_560), 1e-4, "11.2 M"),  # BERT-mini (L-4, H-256): "under 20 M"
    (describe_model("sentence-transformers/all-MiniLM-L6-v2", Path("/project")), 3e-5,
     "22.7 M"),  # just over 20 M: "base-size encoders (20-200 M)"
    (describe_model("google-bert/bert-large-uncased", Path("/project")), 2e-5,
     "335.1 M"),  # "large encoders (200-600 M)"
    (with_parameters(1_500_000_000), 1e-5, "1.5 B"),  # DeBERTa-v2-xxlarge: "over 600 M"
], ids=["bert-tiny", "bert-mini", "minilm", "bert-large", "deberta-xxlarge"])
def test_learning_rate_follows_the_model_size(model, rate, count):
    the_plan = plan("classification", facts(), model, Options())
    assert the_plan.value("training", "learning_rate") == rate
    assert f"{count} parameters" in the_plan.sections["training"]["learning_rate"].reason


def test_without_a_parameter_count_the_learning_rate_is_the_base_size_one():
    unknown = dataclasses.replace(BERT_BASE, num_parameters=None)
    the_plan = plan("classification", facts(), unknown, Options())
    assert the_plan.value("training", "learning_rate") == 3e-5
    assert "unknown" in the_plan.sections["training"]["learning_rate"].reason


def test_epochs_follow_the_number_of_training_rows():
    small_data = data_file(counts={"a": 400, "b": 300})  # 630 training rows: "under 1,000"
    big_data = data_file(counts={"a": 400_000, "b": 300_000})
    assert training(plan("classification", facts(data=[small_data]), BERT_BASE,
                         Options()))["num_train_epochs"] == 10
    assert training(plan("classification", facts(data=[big_data]), BERT_BASE,
                         Options()))["num_train_epochs"] == 2


def test_large_datasets_evaluate_on_steps():
    big = data_file(counts={"a": 400_000, "b": 300_000})
    values = training(plan("classification", facts(data=[big]), BERT_BASE, Options()))
    assert values["eval_strategy"] == "steps" and values["save_strategy"] == "steps"
    assert values["eval_steps"] == values["save_steps"]  # needed by load_best_model_at_end


def test_keys_follow_the_installed_transformers_version():
    current = training(plan("classification", facts(), BERT_BASE, Options()))
    assert "warmup_steps" in current and "warmup_ratio" not in current
    assert current["train_sampling_strategy"] == "group_by_length"
    old_fields = (set(KNOWN_TRAINING_ARGUMENT_FIELDS) - {"eval_strategy", "train_sampling_strategy"}
                  | {"evaluation_strategy", "warmup_ratio", "group_by_length"})
    old = training(plan("classification", facts(fields=old_fields), BERT_BASE, Options()))
    assert old["evaluation_strategy"] == "epoch" and "eval_strategy" not in old
    assert old["warmup_ratio"] == current["warmup_steps"]
    assert old["group_by_length"] is True


def test_existing_training_config_is_the_starting_point():
    existing = {"training": {"learning_rate": 1e-5, "seed": 7},
                "data": {"max_length": 200}}
    the_plan = plan("classification", facts(existing_values=existing), BERT_BASE, Options())
    assert the_plan.value("training", "learning_rate") == 1e-5
    assert the_plan.value("training", "seed") == 7
    assert the_plan.value("data", "max_length") == 200
    kept = the_plan.sections["training"]["learning_rate"]
    assert kept.reason.startswith("kept from the existing")
    # The reason is this run's: what its facts would plan, and why.
    fresh = plan("classification", facts(), BERT_BASE, Options()).sections["training"]
    assert f"it would be {fresh['learning_rate'].value!r}" in kept.reason
    assert fresh["learning_rate"].reason in kept.reason
    assert kept.comment == "kept from the existing training_config.yaml"


def test_files_follow_the_project_layout():
    flat = plan("classification", facts(), BERT_BASE, Options())
    assert (flat.config_path, flat.script_path) == ("training_config.yaml", "train.py")
    laid_out = plan("classification", facts(config_dir="configs", scripts_dir="scripts"),
                    BERT_BASE, Options())
    assert laid_out.config_path == "configs/training_config.yaml"
    assert laid_out.script_path == "scripts/train.py"
    assert laid_out.train_command == \
        "python scripts/train.py --config configs/training_config.yaml"


def test_report_to_prefers_tensorboard_and_respects_the_flag():
    assert training(plan("classification", facts(), BERT_BASE, Options()))["report_to"] == \
        "tensorboard"
    assert training(plan("classification", facts(), BERT_BASE,
                         Options(report_to="wandb")))["report_to"] == "wandb"


def reasons_of(the_plan) -> dict[tuple[str, str], str]:
    return {(section, key): choice.reason for section, choices in the_plan.sections.items()
            for key, choice in choices.items()}


def test_reasons_name_the_flag_that_set_a_value_or_that_overrides_it():
    flags = Options(report_to="wandb", output_dir="runs/first", text_column="text")
    reasons = reasons_of(plan("classification", facts(A100), BERT_BASE, flags))
    assert "--report-to" in reasons["training", "report_to"]
    assert "--output-dir" in reasons["training", "output_dir"]
    assert "--text-column" in reasons["data", "text_column"]
    # Inferred, not given: the reason says so and names the flag that overrides it.
    assert "inferred" in reasons["data", "label_column"]
    assert "--label-column" in reasons["data", "label_column"]


def test_reasons_carry_the_figures_they_were_decided_from():
    reasons = reasons_of(plan("classification", facts(A100), BERT_BASE, Options()))
    assert "109.5 M parameters" in reasons["training", "learning_rate"]
    assert "99th percentile" in reasons["data", "max_length"]
    assert "40 words" in reasons["data", "max_length"]  # data_file()'s p99
    assert "9,000 training rows" in reasons["training", "num_train_epochs"]  # 10,000 - 10 %
    assert "6.0" in reasons["loss", "class_weights"]  # 6,000 positive / 1,000 question
    batch = reasons["training", "per_device_train_batch_size"]
    assert "NVIDIA A100-SXM4-80GB" in batch and "81,920 MiB" in batch
    assert "8.0" in reasons["training", "bf16"]  # the A100's compute capability
    assert "16 CPU cores" in reasons["training", "dataloader_num_workers"]


def test_search_space_surrounds_the_planned_values():
    the_plan = plan("classification", facts(), BERT_BASE, Options())
    for parameter in the_plan.search_space.parameters:
        if parameter.type == "categorical":
            assert parameter.default in parameter.choices
        else:
            assert parameter.low <= parameter.default <= parameter.high


def test_a_single_class_is_refused():
    one_class = data_file(counts={"only": 100})
    with pytest.raises(UserError, match="single class"):
        plan("classification", facts(data=[one_class]), BERT_BASE, Options())


def test_torch_compile_only_where_it_pays_and_liger_for_supported_causal_lms():
    from dataclasses import replace

    from trainwright.planning.hardware_rules import compile_choice, liger_choice

    assert compile_choice(A100, fixed_shapes=True, total_steps=5000)["torch_compile"].value
    assert not compile_choice(A100, fixed_shapes=False, total_steps=5000)["torch_compile"].value
    assert not compile_choice(A100, fixed_shapes=True, total_steps=300)["torch_compile"].value
    assert not compile_choice(CPU, fixed_shapes=True, total_steps=5000)["torch_compile"].value
    with_liger = replace(facts(A100), dependencies=Dependencies(
        (Dependency("liger-kernel", "0.6.0", ""),), KNOWN_TRAINING_ARGUMENT_FIELDS, "5.24.0",
        True))
    assert liger_choice(with_liger, "llama")["use_liger_kernel"].value is True
    # Not installed here: still planned, liger-kernel joins requirements-training.txt.
    assert "requirements-training.txt" in liger_choice(facts(A100), "llama")[
        "use_liger_kernel"].reason
    assert liger_choice(with_liger, "bert")["use_liger_kernel"].value is False
    assert liger_choice(facts(CPU), "llama") == {}
    values = training(plan("classification", facts(A100), BERT_BASE, Options()))
    assert values["torch_compile"] is False  # dynamic padding
