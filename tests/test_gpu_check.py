"""benchmarks/gpu_check.py without a GPU: the three configs it runs on one are planned for an
A100, estimated, written and runnable; its rates and MFU come from the observed batches."""

from __future__ import annotations

import importlib
import itertools
import sys
from pathlib import Path

import pytest
import yaml

from trainwright.discovery.models import GPU, Hardware

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
A100 = Hardware(gpus=(GPU("NVIDIA A100-SXM4-80GB", 81_920, (8, 0)),), mps=False, cpu_cores=16,
                cpu_bf16=True, ram_mib=256_000, source="fixture")


@pytest.fixture(scope="module")
def gpu_check():
    sys.path.insert(0, str(BENCHMARKS))  # a script beside its sibling benchmarks
    return importlib.import_module("gpu_check")


def overrides(command: list[str]) -> dict[str, str]:
    return {value.split("=", 1)[0]: value.split("=", 1)[1]
            for flag, value in itertools.pairwise(command) if flag == "--set"}


def test_plans_estimates_and_writes_three_runnable_checks_for_an_a100(gpu_check, tmp_path):
    planned = {check.name: check for check in gpu_check.plan_checks(tmp_path, A100, steps=7,
                                                                     rows=300)}

    assert sorted(planned) == ["classification", "generation", "sft"]
    for check in planned.values():
        # The estimate of the written config on the A100: a peak that fits its 80 GB.
        assert check.device == "NVIDIA A100-SXM4-80GB"
        assert check.estimate_fits and 500 < check.estimate_peak_mib < 0.9 * 81_920
        assert check.estimate_peak_mib == pytest.approx(sum(check.estimate_components.values()))
        assert check.peak_tflops == 312.0  # the A100's dense bf16 peak, for MFU
        assert check.config["training"]["bf16"] is True
        # The command runs the written script on the written config, for 7 steps, with no
        # evaluation or checkpoint inside the timed loop; every key it sets is one the plan has.
        script, flag, config_path = check.command[1:4]
        assert flag == "--config"
        source = (check.project / script).read_text(encoding="utf-8")
        compile(source, script, "exec")
        assert yaml.safe_load((check.project / config_path).read_text()) == check.config
        sets = overrides(check.command)
        assert sets["training.max_steps"] == "7"
        assert sets["training.eval_strategy"] == "'no'" and sets["training.save_strategy"] == "'no'"
        assert {key.split(".")[1] for key in sets} - {"max_steps"} <= set(check.config["training"])
        # Planning needs the model's config and tokenizer; the weights are written on the GPU.
        assert (check.model_dir / "config.json").is_file()
        assert (check.model_dir / "tokenizer.json").is_file()
        assert not list(check.model_dir.glob("*.safetensors"))

    assert planned["classification"].config["task"] == "classification"
    assert planned["generation"].config["task"] == "generation"
    sft = planned["sft"].config
    assert sft["task"] == "fine-tuning" and sft["adapter"]["method"] == "lora"
    assert sft["data"]["objective"] == "sft"
    assert planned["sft"].parameters > planned["generation"].parameters > 100e6


def test_rates_and_mfu_leave_the_warm_up_steps_out(gpu_check, tmp_path):
    check = gpu_check.PlannedCheck(
        name="sft", task="fine-tuning", project=tmp_path, model_dir=tmp_path,
        architecture="llama", config={"training": {"per_device_train_batch_size": 4}},
        parameters=100_000_000, device="NVIDIA A100-SXM4-80GB", peak_tflops=312.0,
        estimate_peak_mib=3000.0, estimate_components={"weights": 3000.0}, estimate_fits=True,
        command=[], output_dir=tmp_path)
    # 10 steps of 2 micro-batches of 1,000 tokens: the first step takes 5 s, the others 1 s.
    times = [0.0 + 2.5, 5.0] + [5.0 + 0.5 * (i + 1) for i in range(18)]
    record = {"trains": [{"train_runtime": 14.0, "global_step": 10,
                          "per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
                          "cuda_max_allocated_mib": 2000.0, "cuda_max_reserved_mib": 2500.0}],
              "batch_end_times": times, "batch_tokens": [1000] * 20, "train_started": 0.0,
              "tokens": 20_000, "positions": 25_000, "examples": 80}

    result = gpu_check.measured(check, record, warmup=1, wall=20.0)

    assert result["tokens_per_second"] == pytest.approx(20_000 / 14.0)
    assert result["steady_steps"] == 9
    assert result["steady_tokens_per_second"] == pytest.approx(2000.0)  # 18,000 tokens in 9 s
    assert result["steady_samples_per_second"] == pytest.approx(8.0)
    assert result["mfu"] == pytest.approx(6 * 100e6 * 2000.0 / 312e12)
    assert result["padding_share"] == pytest.approx(0.2)
    assert result["estimate_over_allocated"] == pytest.approx(1.5)
