"""Fine-tuning plans for simulated hardware: QLoRA's quantisation block and compute dtype on an
A100 and a T4, LoRA on a CPU with the reason, and QLoRA only when LoRA does not fit."""

from __future__ import annotations

import dataclasses

import pytest
from test_planning import A100, CPU, T4, data_file, facts

from trainwright.discovery.architecture import Architecture, LinearLayer
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import DataShape, Dependency
from trainwright.errors import UserError
from trainwright.planning import Options, plan

HIDDEN, MLP, LAYERS, VOCAB = 4096, 11008, 32, 32000


def llama_7b() -> tuple[ModelFacts, Architecture]:
    """Llama-2-7B's shape: what inspect_architecture reads from its config on the meta device."""
    shapes = [("self_attn.q_proj", HIDDEN, HIDDEN), ("self_attn.k_proj", HIDDEN, HIDDEN),
              ("self_attn.v_proj", HIDDEN, HIDDEN), ("self_attn.o_proj", HIDDEN, HIDDEN),
              ("mlp.gate_proj", HIDDEN, MLP), ("mlp.up_proj", HIDDEN, MLP),
              ("mlp.down_proj", MLP, HIDDEN)]
    linears = tuple(LinearLayer(f"model.layers.{i}.{name}", n_in, n_out)
                    for i in range(LAYERS) for name, n_in, n_out in shapes)
    layer = sum(n_in * n_out for _, n_in, n_out in shapes) + 2 * HIDDEN
    total = 2 * VOCAB * HIDDEN + LAYERS * layer + HIDDEN
    architecture = Architecture(
        model_class="LlamaForCausalLM", total_parameters=total, layers_module="model.layers",
        num_layers=LAYERS, layer_parameters=layer, block_linears=linears,
        other_linears=("lm_head",), embedding_modules=("model.embed_tokens",),
        embedding_parameters=VOCAB * HIDDEN, head_modules=("lm_head",),
        head_parameters=VOCAB * HIDDEN, source="test")
    model = ModelFacts("meta-llama/Llama-2-7b-hf", None, "llama", total, 4096, HIDDEN, LAYERS,
                       VOCAB, 32, False, "test", has_chat_template=False)
    return model, architecture


INSTRUCTIONS = dataclasses.replace(
    data_file(), path="data/train.jsonl", format="jsonl", columns=("instruction", "output"),
    text_column="instruction", label_column=None, label_counts={}, rows=5000,
    shape=DataShape("instruction", prompt_column="instruction", response_column="output"))


def fine_tuning_plan(hardware, options=None, data=INSTRUCTIONS, bitsandbytes=False):
    options = options or Options()
    project = facts(hardware, [data])
    if bitsandbytes:
        packages = (*project.dependencies.packages, Dependency("bitsandbytes", "0.50.2", ""))
        project = dataclasses.replace(project, dependencies=dataclasses.replace(
            project.dependencies, packages=packages))
    model, architecture = llama_7b()
    return plan("fine-tuning", project, model, options, None, architecture)


def test_the_lora_count_of_all_block_linears_matches_llama_7b():
    the_plan = fine_tuning_plan(A100, Options(method="lora"))
    adapter = the_plan.values()["adapter"]
    assert adapter["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                         "up_proj", "down_proj"]
    # r=16 on every linear layer of Llama-2-7B: 39,976,960 (what peft reports for it).
    assert adapter["trainable_parameters"] == 39_976_960


@pytest.mark.parametrize("hardware, compute, precision", [
    (A100, "bfloat16", {"bf16": True, "fp16": False}),
    (T4, "float16", {"bf16": False, "fp16": True}),
])
def test_qlora_quantises_in_nf4_with_the_compute_dtype_of_the_gpu(hardware, compute, precision):
    the_plan = fine_tuning_plan(hardware, Options(method="qlora", target_gpu="planned"))
    values = the_plan.values()
    assert values["adapter"]["method"] == "qlora"
    assert values["quantization"] == {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
                                      "bnb_4bit_use_double_quant": True,
                                      "bnb_4bit_compute_dtype": compute}
    assert {key: values["training"][key] for key in precision} == precision
    assert values["training"]["optim"] == "paged_adamw_8bit"
    assert values["training"]["gradient_checkpointing"] is True
    assert values["model"]["dtype"] == compute
    assert any(line.startswith("bitsandbytes") for line in the_plan.requirements)


def test_on_a_cpu_qlora_is_planned_as_lora_and_says_why():
    the_plan = fine_tuning_plan(CPU, Options(method="qlora"))
    values = the_plan.values()
    assert values["adapter"]["method"] == "lora"
    assert "quantization" not in values
    reason = the_plan.sections["adapter"]["method"].reason
    assert "CUDA" in reason and "LoRA" in reason
    assert reason in the_plan.warnings
    assert values["training"]["optim"] != "paged_adamw_8bit"


def test_qlora_needs_bitsandbytes_on_a_detected_gpu():
    without = fine_tuning_plan(A100, Options(method="qlora"))
    assert without.value("adapter", "method") == "lora"
    assert "pip install bitsandbytes" in without.sections["adapter"]["method"].reason
    with_it = fine_tuning_plan(A100, Options(method="qlora"), bitsandbytes=True)
    assert with_it.value("adapter", "method") == "qlora"


def test_qlora_is_chosen_only_when_lora_does_not_fit():
    # 7B in bf16 is 12.6 GiB of weights: LoRA fits an A100 80GB, not a T4's 15 GiB.
    assert fine_tuning_plan(A100, bitsandbytes=True).value("adapter", "method") == "lora"
    on_t4 = fine_tuning_plan(T4, bitsandbytes=True)
    assert on_t4.value("adapter", "method") == "qlora"
    assert "does not fit" in on_t4.sections["adapter"]["method"].reason
    assert on_t4.value("quantization", "bnb_4bit_compute_dtype") == "float16"


def test_when_nothing_fits_the_plan_refuses_and_suggests_a_change():
    from trainwright.discovery.models import GPU

    tiny = dataclasses.replace(T4, gpus=(GPU("a GPU with 2,048 MiB", 2_048, (8, 0)),))
    with pytest.raises(UserError) as error:
        fine_tuning_plan(tiny, Options(method="qlora", target_gpu="planned"))
    message = str(error.value)
    assert "no config was written" in message and "--target-gpu" in message


def test_freeze_trains_the_top_quarter_of_the_blocks():
    the_plan = fine_tuning_plan(CPU, Options(method="freeze"))
    adapter = the_plan.values()["adapter"]
    assert adapter["frozen_modules"] == ["model.embed_tokens"] + [
        f"model.layers.{i}" for i in range(24)]
    _, architecture = llama_7b()
    top = 8 * architecture.layer_parameters
    assert adapter["trainable_parameters"] == top + HIDDEN + VOCAB * HIDDEN  # + norm + lm_head


def test_objective_follows_the_data():
    labelled = data_file()
    labelled = dataclasses.replace(labelled, shape=DataShape("labelled"))
    text = dataclasses.replace(data_file(), label_column=None, label_counts={},
                               shape=DataShape("text"))
    assert fine_tuning_plan(CPU).value("data", "objective") == "sft"
    assert fine_tuning_plan(CPU, data=text).value("data", "objective") == "causal_lm"
    model, architecture = llama_7b()
    classifier = dataclasses.replace(architecture, head_modules=("score",),
                                     head_parameters=3 * HIDDEN)
    the_plan = plan("fine-tuning", facts(CPU, [labelled]), model, Options(), None, classifier)
    assert the_plan.value("data", "objective") == "sequence_classification"
    assert the_plan.value("adapter", "modules_to_save") == ["score"]
    assert the_plan.value("adapter", "trainable_parameters") == 39_976_960 + 3 * HIDDEN


@pytest.mark.parametrize("hardware", [T4, A100], ids=["t4", "a100"])
def test_reasons_name_the_flag_and_carry_the_figures(hardware):
    the_plan = fine_tuning_plan(hardware, Options(method="qlora", target_gpu="planned"))
    reasons = {(section, key): choice.reason for section, choices in the_plan.sections.items()
               for key, choice in choices.items()}
    gpu = hardware.gpus[0]
    assert "--method qlora" in reasons["adapter", "method"]
    assert "6.7 B parameters" in reasons["training", "learning_rate"]
    assert "224 in 32 blocks" in reasons["adapter", "target_modules"]  # 7 linears x 32 blocks
    assert "0.59%" in reasons["adapter", "trainable_parameters"]  # 39,976,960 of 6.7 B
    assert "4,500 training examples" in reasons["training", "num_train_epochs"]  # 5,000 - 10 %
    assert "40 words" in reasons["data", "max_length"]  # INSTRUCTIONS' 99th percentile
    assert gpu.name in reasons["quantization", "bnb_4bit_compute_dtype"]
    batch = reasons["training", "per_device_train_batch_size"]
    assert gpu.name in batch and f"{gpu.memory_mib:,} MiB" in batch


def test_full_fine_tuning_trains_everything_and_is_refused_where_it_cannot_fit():
    _, architecture = llama_7b()
    values = fine_tuning_plan(CPU, Options(method="full")).values()
    assert values["adapter"] == {"method": "full",
                                 "trainable_parameters": architecture.total_parameters}
    assert values["model"]["dtype"] == "float32"
    # 7B weights, gradients and AdamW states in fp32 are ~100 GiB: more than an A100 80GB.
    with pytest.raises(UserError) as error:
        fine_tuning_plan(A100, Options(method="full"))
    assert "QLoRA (--method qlora" in str(error.value)


@pytest.mark.parametrize("method, warmup, clipping", [
    ("lora", 0, 0.3), ("qlora", 0, 0.3), ("freeze", 0.03, 1.0)])
def test_adapters_start_without_warmup_and_the_models_own_weights_warm_up(method, warmup,
                                                                          clipping):
    # Adapters start at zero: a warmup only delays them (measured in bench_sft.py); the model's
    # own weights keep the short warmup of full fine-tuning recipes.
    options = Options(method=method, target_gpu="planned" if method == "qlora" else None)
    training = fine_tuning_plan(A100, options, bitsandbytes=method == "qlora").sections[
        "training"]
    assert training["warmup_steps"].value == warmup
    assert training["max_grad_norm"].value == clipping
    if method in {"lora", "qlora"}:
        assert "start at zero" in training["warmup_steps"].reason
        assert "1.607 without warmup" in training["warmup_steps"].reason
