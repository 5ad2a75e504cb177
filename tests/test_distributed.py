"""Several GPUs and machines: ZeRO's memory per device, the strategy the memory plan picks, the
launcher configs and the launch commands. Plans are made against hardware fixtures."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from builders import build_tiny_llama, corpus_documents, labelled_texts
from test_planning import A100, BERT_BASE, CPU, T4, facts

from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import Dependency
from trainwright.errors import UserError
from trainwright.planning import Options, plan
from trainwright.planning.memory import (
    ModelShape,
    TrainingSetup,
    estimate_memory,
    state_bytes,
)
from trainwright.planning.plan import FLAG
from trainwright.render import render
from trainwright.verify import accelerate_config_check, deepspeed_config_check, launcher_checks

# The paper's example (Rajbhandari et al. 2020, "ZeRO", section 5 and figure 1): a 7.5 B
# parameter model, K = 12, N_d = 64.
PSI, K, N_D = 7_500_000_000, 12, 64
PAPER_MODEL = ModelShape(parameters=PSI, hidden_size=4096, num_layers=32, num_heads=32)


def model_states(stage: int, zero_accounting: bool = True, devices: int = N_D,
                 method: str = "full", trainable_fraction: float = 1.0) -> dict[str, float]:
    setup = TrainingSetup(1, 512, half_precision=True, devices=devices, zero_stage=stage,
                          zero_accounting=zero_accounting, method=method,
                          trainable_fraction=trainable_fraction)
    return state_bytes(PAPER_MODEL, setup)


def test_zero_stages_give_the_papers_formulas_and_figures():
    formulas = {0: (2 + 2 + K) * PSI, 1: 4 * PSI + K * PSI / N_D,
                2: 2 * PSI + (2 + K) * PSI / N_D, 3: (4 + K) * PSI / N_D}
    figures_gb = {0: 120, 1: 31.4, 2: 16.6, 3: 1.9}  # figure 1 of the paper
    for stage, formula in formulas.items():
        total = sum(model_states(stage).values())
        assert total == pytest.approx(formula, rel=1e-12)
        assert total / 1e9 == pytest.approx(figures_gb[stage], abs=0.05)


def test_our_fp32_accounting_divides_the_right_components():
    # The Trainer alone and FSDP keep fp32 weights (4 bytes) and fp32 gradients (4): the same
    # 16 bytes a parameter, and each stage divides one more component by N_d.
    base = model_states(0, zero_accounting=False)
    assert base == {"weights": 4 * PSI, "gradients": 4 * PSI, "optimizer states": 8 * PSI}
    stage1, stage2, stage3 = (model_states(s, zero_accounting=False) for s in (1, 2, 3))
    assert stage1 == {**base, "optimizer states": 8 * PSI / N_D}
    assert stage2 == {**stage1, "gradients": 4 * PSI / N_D}
    assert stage3 == {**stage2, "weights": 4 * PSI / N_D}
    assert sum(stage3.values()) == pytest.approx(sum(model_states(3).values()))  # (4+K)Psi/N_d


def test_lora_shards_its_trainable_part_and_the_frozen_base_only_at_stage_3():
    lora = {s: model_states(s, method="lora", trainable_fraction=0.01) for s in (0, 2, 3)}
    assert lora[2]["weights"] == lora[0]["weights"] == 2 * PSI  # the 16-bit base, whole
    assert lora[2]["optimizer states"] == pytest.approx(lora[0]["optimizer states"] / N_D)
    assert lora[3]["weights"] == pytest.approx(2 * PSI / N_D)


def test_activations_and_logits_are_never_sharded():
    causal = dataclasses.replace(PAPER_MODEL, vocab_size=32_000, causal_lm=True)
    one, sharded = (estimate_memory(causal, TrainingSetup(4, 1024, True, devices=devices,
                                                          zero_stage=stage))
                    for devices, stage in ((1, 0), (N_D, 3)))
    for name in ("activations", "logits (fp32)"):
        assert sharded.components[name] == one.components[name]
    assert sharded.components["gathered block weights"] > 0  # stage 3 gathers a block at a time


LLAMA_7B = ModelFacts("org/llama-7b", None, "llama", 6_738_415_616, 4096, 4096, 32, 32_000, 32,
                      False, "built-in table")
EIGHT_A100 = dataclasses.replace(A100, gpus=A100.gpus * 8)
FOUR_A100 = dataclasses.replace(A100, gpus=A100.gpus * 4)


def with_deepspeed(project_facts):
    dependencies = project_facts.dependencies
    packages = dependencies.packages + (Dependency("deepspeed", "0.19.8", ""),)
    return dataclasses.replace(project_facts,
                               dependencies=dataclasses.replace(dependencies, packages=packages))


def training(the_plan):
    return the_plan.values()["training"]


def test_a_7b_full_fine_tune_on_8_a100s_is_sharded_with_the_figures():
    without = plan("generation", facts(EIGHT_A100), LLAMA_7B, Options())
    strategy = without.sections["distributed"]["strategy"]
    assert strategy.value == "fsdp" and "DeepSpeed is not installed" in strategy.reason
    assert "more than 90 % of 81,920 MiB" in strategy.reason and "over 8 processes" in strategy.reason
    values = training(without)
    assert values["fsdp"] == "full_shard" and values["fsdp_config"]["version"] == 2
    assert "ddp_find_unused_parameters" not in values  # DDP only
    with_ds = plan("generation", with_deepspeed(facts(EIGHT_A100)), LLAMA_7B, Options())
    assert with_ds.distribution.strategy == "zero2"  # gradients + states sharded are enough
    assert training(with_ds)["deepspeed"] == "ds_config.json"
    assert "deepspeed>=0.19,<1" in with_ds.requirements


def test_a_small_bert_on_4_gpus_keeps_ddp_and_the_global_batch():
    single = plan("classification", facts(A100), BERT_BASE, Options())
    four = plan("classification", facts(FOUR_A100), BERT_BASE, Options())
    assert single.distribution is None and "distributed" not in single.sections
    assert four.distribution.strategy == "ddp" and four.distribution.processes == 4
    assert "fit one GPU" in four.sections["distributed"]["strategy"].reason
    one, many = training(single), training(four)
    assert (one["per_device_train_batch_size"] * one["gradient_accumulation_steps"]
            == many["per_device_train_batch_size"] * many["gradient_accumulation_steps"] * 4)
    assert many["ddp_find_unused_parameters"] is False
    assert "ddp_find_unused_parameters" not in one


def test_the_global_batch_is_kept_over_2_machines_with_4_gpus_each():
    options = Options(gpus=4, nodes=2, target_gpu="a100-80gb")
    the_plan = plan("classification", facts(FOUR_A100), BERT_BASE, options)
    values = training(the_plan)
    single = training(plan("classification", facts(A100), BERT_BASE, Options()))
    planned = single["per_device_train_batch_size"] * single["gradient_accumulation_steps"]
    assert values["per_device_train_batch_size"] * values["gradient_accumulation_steps"] * 8 \
        == planned
    assert "x 8 GPUs (4 a machine x 2 machines)" in \
        the_plan.sections["training"]["per_device_train_batch_size"].reason


def test_strategy_flag_overrides_and_is_checked():
    zero3 = plan("classification", facts(FOUR_A100), BERT_BASE, Options(strategy="zero3"))
    strategy = zero3.sections["distributed"]["strategy"]
    assert (strategy.value, strategy.source) == ("zero3", FLAG)
    assert "DeepSpeed is not installed here" in strategy.reason
    with pytest.raises(UserError, match="this plan has one"):
        plan("classification", facts(A100), BERT_BASE, Options(strategy="fsdp"))
    with pytest.raises(UserError, match="only DDP applies"):
        plan("classification", facts(CPU), BERT_BASE, Options(gpus=2, strategy="zero2"))


def test_even_full_sharding_that_does_not_fit_is_exit_2_with_the_numbers():
    llama_70b = dataclasses.replace(LLAMA_7B, num_parameters=70_000_000_000, hidden_size=8192,
                                    num_layers=80, num_heads=64)
    two_t4 = dataclasses.replace(T4, gpus=T4.gpus * 2)
    with pytest.raises(UserError) as raised:
        plan("generation", facts(two_t4), llama_70b, Options())
    message = str(raised.value)
    assert "Even fully sharded" in message and "over 2 processes" in message
    assert "MiB a GPU" in message and "15,360 MiB of Tesla T4" in message
    assert raised.value.exit_code == 2


def test_qlora_sharded_stores_4_bit_weights_as_the_compute_dtype():
    from trainwright.planning.distributed import quantization_choices

    assert quantization_choices("fsdp", "bfloat16")["bnb_4bit_quant_storage"].value == "bfloat16"
    assert quantization_choices("zero2", "bfloat16") == {}  # each GPU keeps the whole base


def rendered(the_plan) -> dict[str, str]:
    return render(the_plan, "trainwright init . --force", {})


def test_the_written_configs_load_and_agree_with_the_training_section():
    for strategy in ("ddp", "zero2", "zero3", "fsdp"):
        the_plan = plan("generation", with_deepspeed(facts(EIGHT_A100)),
                        BERT_BASE if strategy == "ddp" else LLAMA_7B, Options(strategy=strategy))
        files = rendered(the_plan)
        config = yaml.safe_load(files["training_config.yaml"])
        checks = launcher_checks(files, config)
        assert [check.name for check in checks][:1] == ["accelerate config"]
        assert all(check.ok and not check.skipped for check in checks), checks
        accelerate = yaml.safe_load(files["accelerate_config.yaml"])
        assert "mixed_precision" not in accelerate  # bf16 / fp16 of the training section alone
        assert accelerate["num_processes"] == 8
        if strategy.startswith("zero"):
            ds = json.loads(files["ds_config.json"])
            assert ds["zero_optimization"]["stage"] == int(strategy[-1])
            for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                        "train_batch_size", "gradient_clipping"):
                assert ds[key] == "auto"
            assert ds["bf16"] == {"enabled": "auto"} and ds["fp16"] == {"enabled": "auto"}
            assert "optimizer" not in ds and "scheduler" not in ds  # optim decides
            assert len(checks) == 2
        if strategy == "zero3":
            assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
        if strategy == "fsdp":
            assert accelerate["distributed_type"] == "FSDP"
            assert "fsdp_config" not in accelerate  # one place: training.fsdp_config
            assert config["training"]["fsdp_config"]["state_dict_type"] == "SHARDED_STATE_DICT"
            assert "# one FSDP unit per transformer block" in files["training_config.yaml"]
        script = files["train.py"]
        compile(script, "train.py", "exec")
        # Sharded weights: every rank takes part in generating the samples, one writes them;
        # FSDP's final save is one full state dict, the checkpoints stay sharded.
        sharded = strategy in ("zero3", "fsdp")
        assert ("else os.devnull" in script) == sharded
        full_save = 'set_state_dict_type("FULL_STATE_DICT")\n    trainer.save_model(output_dir)'
        assert (full_save in script) == (strategy == "fsdp")


def test_a_disagreeing_deepspeed_or_accelerate_config_fails_the_check():
    ds = {"train_micro_batch_size_per_gpu": 3, "gradient_accumulation_steps": "auto",
          "bf16": {"enabled": False}, "zero_optimization": {"stage": 2}}
    check = deepspeed_config_check(json.dumps(ds), "ds_config.json",
                                   {"per_device_train_batch_size": 2, "bf16": True}, 8)
    assert not check.ok and "train_micro_batch_size_per_gpu=3" in check.detail
    assert "bf16.enabled=False" in check.detail
    text = ("compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\nnum_machines: 1\n"
            "num_processes: 2\nmixed_precision: fp16\n")
    check = accelerate_config_check(text, "accelerate_config.yaml",
                                    {"gpus": 4, "nodes": 1, "strategy": "ddp"})
    assert not check.ok and "2 processes on 1 machines" in check.detail
    assert "mixed_precision fp16" in check.detail


def test_one_process_writes_no_launcher_files_and_no_new_keys():
    files = rendered(plan("classification", facts(A100), BERT_BASE, Options()))
    assert "accelerate_config.yaml" not in files and "ds_config.json" not in files
    assert "distributed:" not in files["training_config.yaml"]
    assert "## Several GPUs" not in files["README-TRAINING.md"]


def test_fsdp_wraps_the_architectures_layer_class(tmp_path):
    from trainwright.discovery.architecture import inspect_architecture
    from trainwright.discovery.model import describe_model
    from trainwright.planning.distributed import fsdp_config
    from trainwright.planning.plan import Distribution

    llama = build_tiny_llama(tmp_path / "llama", corpus_documents(40))
    from builders import build_tiny_bert

    bert = build_tiny_bert(tmp_path / "bert", [text for text, _ in labelled_texts(60)])
    classes = {head: inspect_architecture(describe_model(str(path), tmp_path), head).layer_class
               for head, path in (("causal_lm", llama), ("sequence_classification", bert))}
    assert classes == {"causal_lm": "LlamaDecoderLayer", "sequence_classification": "BertLayer"}
    spread = Distribution(8, 1, "fsdp", True, "accelerate_config.yaml",
                          layer_class=classes["causal_lm"])
    assert fsdp_config(spread, None).value["transformer_layer_cls_to_wrap"] == \
        ["LlamaDecoderLayer"]


def test_launch_commands_for_2_machines_with_4_gpus_each(capsys):
    from trainwright.cli import _print_launch

    the_plan = plan("classification", facts(FOUR_A100), BERT_BASE, Options(gpus=4, nodes=2))
    accelerate = ("accelerate launch --config_file accelerate_config.yaml --machine_rank "
                  "$NODE_RANK train.py --config training_config.yaml")
    torchrun = ("torchrun --nnodes 2 --nproc-per-node 4 --node-rank $NODE_RANK --rdzv-backend "
                "c10d --rdzv-id $JOB_ID --rdzv-endpoint $MASTER_ADDR:29500 train.py --config "
                "training_config.yaml")
    assert the_plan.train_command == accelerate
    assert the_plan.launch_commands == {"accelerate": accelerate, "torchrun": torchrun}
    readme = rendered(the_plan)["README-TRAINING.md"]
    assert accelerate in readme and torchrun in readme
    for variable in ("`NODE_RANK`", "`MASTER_ADDR`", "`JOB_ID`", "`--rdzv-backend c10d`"):
        assert variable in readme
    accelerate_config = yaml.safe_load(rendered(the_plan)["accelerate_config.yaml"])
    assert (accelerate_config["num_machines"], accelerate_config["num_processes"],
            accelerate_config["machine_rank"]) == (2, 8, 0)
    _print_launch(the_plan)
    output = capsys.readouterr().out
    assert torchrun in output and "NODE_RANK is its number" in output
    from trainwright.init_report import plan_document

    assert plan_document(the_plan)["launch_commands"] == the_plan.launch_commands
    single = plan("classification", facts(A100), BERT_BASE, Options())
    assert plan_document(single)["launch_commands"] == {}


def test_cpu_processes_run_ddp_over_gloo():
    the_plan = plan("classification", facts(CPU), BERT_BASE, Options(gpus=2))
    values = training(the_plan)
    assert the_plan.distribution.strategy == "ddp" and not the_plan.distribution.on_gpu
    assert values["use_cpu"] is True and values["ddp_find_unused_parameters"] is False
    assert values["per_device_train_batch_size"] * values["gradient_accumulation_steps"] * 2 \
        == 32
    files = rendered(the_plan)
    accelerate = yaml.safe_load(files["accelerate_config.yaml"])
    assert accelerate["distributed_type"] == "MULTI_GPU" and accelerate["use_cpu"] is False


def test_a_plan_without_the_launcher_configs_keeps_and_names_the_old_ones(tmp_path, tiny_bert):
    from builders import write_csv

    from trainwright.pipeline import prepare
    from trainwright.write import apply_changes

    write_csv(tmp_path / "data" / "reviews.csv", labelled_texts(120, seed=3))

    def init(gpus: int):
        prepared = prepare("classification", tmp_path, Options(model=str(tiny_bert), gpus=gpus),
                           hardware=CPU, force=True, pictures=False)
        apply_changes(tmp_path, prepared.changes)
        return {change.path: change for change in prepared.changes}

    init(2)
    written = (tmp_path / "accelerate_config.yaml").read_text()
    left = init(1)["accelerate_config.yaml"]
    assert left.status == "skip" and "no longer used" in left.note
    assert "one process" in left.note
    assert (tmp_path / "accelerate_config.yaml").read_text() == written  # nothing lost
    assert init(2)["accelerate_config.yaml"].status == "identical"  # used again: no note


def test_the_deepspeed_config_an_earlier_plan_named_is_a_launcher_config(tmp_path):
    from trainwright.discovery.existing import discover_existing
    from trainwright.discovery.framework import GENERATED_MARKER

    (tmp_path / "training_config.yaml").write_text(
        f"# {GENERATED_MARKER} 0.1.0.\ntask: generation\ntraining:\n  deepspeed: ds_config.json\n")
    for name in ("ds_config.json", "zero3.json"):  # the second: the project's own, not named
        (tmp_path / name).write_text('{"zero_optimization": {"stage": 3}}\n')
    existing = discover_existing(tmp_path, [], [tmp_path / "ds_config.json",
                                                tmp_path / "zero3.json"])
    assert existing.launcher_configs == ("ds_config.json",)
