"""The speed choices of a plan: padding-free SFT batches with the measured padding share, a
bounded evaluation before training, the token count behind tokens/s, and Liger kernels,
FlashAttention-2 and torch.compile on GPUs only. Planned against hardware fixtures."""

from __future__ import annotations

import dataclasses
import itertools
import shutil

import pytest
import yaml
from builders import build_tiny_llama, instruction_rows, write_jsonl
from test_fine_tuning_planning import INSTRUCTIONS, llama_7b
from test_planning import A100, CPU, T4, data_file, facts

from trainwright.config.fields import installed_field_specs
from trainwright.config.releases import release_field_specs
from trainwright.config.validate import validate_config
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataShape, Dependency
from trainwright.pipeline import prepare
from trainwright.planning import Options, plan
from trainwright.planning.speed import (
    NON_PADDING_COUNT,
    PaddingFacts,
    padding_free_choice,
    padding_stats,
)

# Skewed instruction lengths in tokens: most short, a few long (as chat data is).
LENGTHS = [18, 22, 25, 25, 30, 34, 40, 41, 52, 60, 75, 90, 120, 180, 260]


def with_packages(project, *packages):
    added = tuple(Dependency(name, version, "") for name, version in packages)
    return dataclasses.replace(project, dependencies=dataclasses.replace(
        project.dependencies, packages=project.dependencies.packages + added))


def targeting(project, release):
    """The project as if it pinned transformers==release (fields from the release table)."""
    return dataclasses.replace(project, dependencies=dataclasses.replace(
        project.dependencies, transformers_target=release,
        training_argument_fields=tuple(release_field_specs(release))))


def sft_plan(project, token_lengths=None, options=None, data=INSTRUCTIONS):
    model, architecture = llama_7b()
    return plan("fine-tuning", project, model, options or Options(), token_lengths,
                architecture)


def brute_force_share(lengths, batch):
    """Padding share over every batch of distinct examples, each padded to its longest."""
    padded = real = 0
    for chosen in itertools.combinations(lengths, batch):
        padded += batch * max(chosen)
        real += sum(chosen)
    return 1 - real / padded


# ---------------------------------------------------------------------------------------------
# The padding share
# ---------------------------------------------------------------------------------------------

def test_the_padding_share_is_exact_on_a_known_length_list():
    # Batches of 2 of [1, 2, 3, 4]: longest 2, 3, 4, 3, 4, 4 -> 40 padded tokens, 30 real.
    stats = padding_stats([4, 1, 3, 2], 2)
    assert stats.longest == pytest.approx(20 / 6)
    assert stats.share == pytest.approx(0.25)
    for batch in (1, 3, 8):
        assert padding_stats(LENGTHS, batch).share == pytest.approx(
            brute_force_share(LENGTHS, batch))
    assert padding_stats([64] * 10, 8).share == 0  # equal lengths: nothing padded
    assert padding_stats([10, 30], 8).batch == 2  # a batch never holds more than the sample


# ---------------------------------------------------------------------------------------------
# data.padding_free
# ---------------------------------------------------------------------------------------------

def test_sft_on_5x_is_padding_free_with_the_measured_share_and_no_length_grouping():
    the_plan = sft_plan(facts(CPU, [INSTRUCTIONS]), LENGTHS)
    data, training = the_plan.sections["data"], the_plan.values()["training"]
    batch = training["per_device_train_batch_size"]
    max_length = data["max_length"].value
    trained = [min(max_length, length + 32) for length in LENGTHS]  # + the chat template
    share = brute_force_share(trained, batch)
    choice = data["padding_free"]
    assert choice.value is True
    assert f"{100 * share:.0f} % of the tokens of padded batches of {batch} would be padding" \
        in choice.reason
    assert "position ids restart per example" in choice.reason
    assert "sdpa" in choice.reason and "block-diagonal mask" in choice.reason
    # Grouping by length only saves padding, and there is none left.
    assert "train_sampling_strategy" not in training and "group_by_length" not in training
    # Every token of a padding-free row is trained, so every one is counted for tokens/s.
    assert training["include_num_input_tokens_seen"] == "all"


def test_a_pinned_4_46_target_pads_and_groups_by_length_and_says_why():
    the_plan = sft_plan(targeting(facts(CPU, [INSTRUCTIONS]), "4.46.3"), LENGTHS)
    choice = the_plan.sections["data"]["padding_free"]
    assert choice.value is False
    assert "transformers 4.46.3 builds no packed-sequence mask for sdpa" in choice.reason
    assert "4.54" in choice.reason and "grouped by length" in choice.reason
    assert "% of the tokens of padded batches of" in choice.reason  # what padding costs
    training = the_plan.values()["training"]
    assert training["group_by_length"] is True
    # 4.46 counts every token: tokens/s then includes the padding, and the reason says so.
    seen = the_plan.sections["training"]["include_num_input_tokens_seen"]
    assert seen.value is True and "padding included" in seen.reason


def test_flash_attention_reads_position_ids_even_on_4_46():
    project = with_packages(targeting(facts(A100, [INSTRUCTIONS]), "4.46.3"),
                            ("flash-attn", "2.8.3"))
    the_plan = sft_plan(project, LENGTHS)
    assert the_plan.value("model", "attn_implementation") == "flash_attention_2"
    choice = the_plan.sections["data"]["padding_free"]
    assert choice.value is True and "flash_attention_2 reads the position ids" in choice.reason


def facts_for(lengths, batch=8, hidden=576, attention=None, model_type="llama",
              target="5.24.0"):
    return PaddingFacts(lengths=lengths, counted="measured", batch=batch, max_length=512,
                        hidden_size=hidden, model_type=model_type, attention=attention,
                        transformers_target=target)


def test_padding_free_is_refused_where_it_would_cost_more_or_mix_examples():
    # Equal lengths: no padding to skip, and a mask over the whole row costs more.
    equal = padding_free_choice(facts_for([256] * 20))
    assert equal.value is False and "0 % of the tokens" in equal.reason
    assert "grouped by length" in equal.reason
    # Flash attention keeps each example to itself: equal lengths cost the same, so no gain.
    assert padding_free_choice(facts_for([256] * 20, attention="flash_attention_2")).value \
        is False
    assert padding_free_choice(facts_for(LENGTHS, attention="flash_attention_2")).value is True
    # Long rows under sdpa would need a huge mask; flash attention needs none.
    long_rows = padding_free_choice(dataclasses.replace(facts_for(LENGTHS, batch=32),
                                                        max_length=2048))
    assert long_rows.value is False and "32 x 2048 = 65,536 tokens" in long_rows.reason
    # ALiBi models take no position ids: examples in one row would see each other.
    bloom = padding_free_choice(facts_for(LENGTHS, model_type="bloom"))
    assert bloom.value is False and "bloom takes no position ids" in bloom.reason


def test_causal_lm_blocks_are_full_so_there_is_no_padding_to_skip():
    corpus = dataclasses.replace(
        data_file(), path="data/corpus.txt", format="txt", columns=("text",),
        text_column="text", label_column=None, label_counts={}, size_bytes=2_000_000,
        rows=5_000, shape=DataShape("text"))
    the_plan = sft_plan(facts(CPU, [corpus]))
    assert the_plan.value("data", "objective") == "causal_lm"
    choice = the_plan.sections["data"]["padding_free"]
    assert choice.value is False and "full blocks" in choice.reason
    # A 2 MB corpus holds out fewer than 256 blocks: all of them are evaluated.
    before = the_plan.sections["evaluation"]["before_training_samples"]
    assert before.value < 256 and f"all {before.value} validation blocks" in before.reason


# ---------------------------------------------------------------------------------------------
# evaluation.before_training_samples
# ---------------------------------------------------------------------------------------------

def test_the_evaluation_before_training_is_a_bounded_sample_with_its_cost():
    big = sft_plan(facts(CPU, [INSTRUCTIONS]))  # 5,000 rows: 500 held out
    choice = big.sections["evaluation"]["before_training_samples"]
    assert choice.value == 256
    assert "256 of the 500 validation examples" in choice.reason
    # A forward pass over 500 examples is about 1/2 of a LoRA step of 16: about 16 steps.
    assert "about as much as 16 training steps" in choice.reason
    assert "0 switches it off" in choice.reason
    small = sft_plan(facts(CPU, [dataclasses.replace(INSTRUCTIONS, rows=600)]))
    assert small.value("evaluation", "before_training_samples") == 60  # all 60 held out
    classifier = plan("classification", facts(CPU), llama_7b()[0], Options())
    assert "evaluation" not in classifier.sections


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    texts = [f"{row['instruction']} {row['output']}" for row in instruction_rows(200)]
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama", texts)


def test_the_written_config_validates_and_a_negative_sample_is_an_error_naming_the_key(
        tmp_path, tiny_llama):
    shutil.copytree(tiny_llama, tmp_path / "models" / "tiny-llama")
    write_jsonl(tmp_path / "data" / "train.jsonl", instruction_rows(120))
    prepared = prepare("fine-tuning", tmp_path, Options(), hardware=CPU, pictures=False)
    config = yaml.safe_load(prepared.files["training_config.yaml"])
    padding_free = prepared.plan.sections["data"]["padding_free"]
    assert config["data"]["padding_free"] is padding_free.value
    assert "120 sampled examples measured with the model's tokenizer" in padding_free.reason
    assert config["evaluation"]["before_training_samples"] == 12  # 10 % of 120 rows
    assert config["training"]["include_num_input_tokens_seen"] == (
        "all" if padding_free.value else "non_padding")
    assert validate_config(config, installed_field_specs()) == []
    config["evaluation"]["before_training_samples"] = -1
    problems = validate_config(config, installed_field_specs())
    assert [p.location for p in problems] == ["evaluation.before_training_samples"]
    config["evaluation"]["before_training_samples"] = 0  # switched off
    assert validate_config(config, installed_field_specs()) == []


# ---------------------------------------------------------------------------------------------
# training.include_num_input_tokens_seen
# ---------------------------------------------------------------------------------------------

def test_tokens_are_counted_without_padding_for_every_task_where_the_release_can():
    classifier = plan("classification", facts(CPU), llama_7b()[0], Options())
    seen = classifier.sections["training"]["include_num_input_tokens_seen"]
    assert seen.value == "non_padding" and "tokens/s" in seen.reason
    # The release table agrees: a bool before 4.57, a str ("non_padding") from it on.
    before = release_field_specs("4.56.2")["include_num_input_tokens_seen"].annotation
    since = release_field_specs("4.57.4")["include_num_input_tokens_seen"].annotation
    assert "str" not in before and "str" in since
    assert NON_PADDING_COUNT == (4, 57)


# ---------------------------------------------------------------------------------------------
# GPU kernels
# ---------------------------------------------------------------------------------------------

SMOLLM = ModelFacts("HuggingFaceTB/SmolLM2-135M", None, "llama", 135_000_000, 2048, 576, 30,
                    49152, 9, False, "test")
CORPUS = dataclasses.replace(
    data_file(), path="data/corpus.txt", format="txt", columns=("text",), text_column="text",
    label_column=None, label_counts={}, size_bytes=400_000_000, rows=2_000_000)


def test_an_a100_llama_gets_liger_flash_attention_and_compiled_blocks():
    project = with_packages(facts(A100, [CORPUS]), ("flash-attn", "2.8.3"))
    the_plan = plan("generation", project, SMOLLM, Options())
    training = the_plan.sections["training"]
    assert training["use_liger_kernel"].value is True
    assert "fused linear cross-entropy" in training["use_liger_kernel"].reason
    assert "MiB an example" in training["use_liger_kernel"].reason  # the logits it never holds
    attention = the_plan.sections["model"]["attn_implementation"]
    assert attention.value == "flash_attention_2" and "8.0" in attention.reason
    assert training["torch_compile"].value is True  # full blocks, a long run
    assert training["include_num_input_tokens_seen"].value == "all"  # full blocks: no padding
    requirements = "\n".join(the_plan.requirements)
    assert "liger-kernel>=0.3" in requirements and "flash-attn>=2.8,<3" in requirements
    assert the_plan.sections["evaluation"]["before_training_samples"].value == 256


def test_fine_tuning_a_llama_on_an_a100_gets_liger_and_sdpa_without_flash_attn():
    the_plan = sft_plan(facts(A100, [INSTRUCTIONS]), LENGTHS)
    training = the_plan.sections["training"]
    assert training["use_liger_kernel"].value is True
    attention = the_plan.sections["model"]["attn_implementation"]
    assert attention.value == "sdpa" and "flash-attn" in attention.reason
    assert training["torch_compile"].value is False  # padding-free rows vary in length
    assert "padding-free" in training["torch_compile"].reason
    assert "liger-kernel>=0.3" in the_plan.requirements


def test_a_t4_keeps_sdpa_even_with_flash_attn_installed():
    project = with_packages(facts(T4, [CORPUS]), ("flash-attn", "2.8.3"))
    the_plan = plan("generation", project, SMOLLM, Options())
    attention = the_plan.sections["model"]["attn_implementation"]
    assert attention.value == "sdpa" and "7.5" in attention.reason
    assert not any(line.startswith("flash") for line in the_plan.requirements)


def test_no_gpu_kernels_on_cpu():
    project = with_packages(facts(CPU, [CORPUS]), ("flash-attn", "2.8.3"),
                            ("liger-kernel", "0.8.5"))
    for the_plan in (plan("generation", project, SMOLLM, Options()),
                     sft_plan(with_packages(facts(CPU, [INSTRUCTIONS]),
                                            ("flash-attn", "2.8.3")), LENGTHS)):
        training = the_plan.values()["training"]
        assert "use_liger_kernel" not in training
        assert training["torch_compile"] is False
        assert the_plan.value("model", "attn_implementation") is None
        assert not any(line.startswith(("liger", "flash")) for line in the_plan.requirements)


def test_no_liger_for_an_architecture_it_has_no_kernels_for():
    gpt2 = dataclasses.replace(SMOLLM, name_or_path="openai-community/gpt2", model_type="gpt2",
                               hidden_size=768, num_layers=12, num_heads=12, vocab_size=50257)
    the_plan = plan("generation", facts(A100, [CORPUS]), gpt2, Options())
    liger = the_plan.sections["training"]["use_liger_kernel"]
    assert liger.value is False and "no kernels for gpt2" in liger.reason
    assert not any(line.startswith("liger") for line in the_plan.requirements)
