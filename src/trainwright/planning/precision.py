"""The precision rule, in one place: bf16 on compute capability >= 8.0, fp16 on older GPUs, fp32
on CPU unless it has bf16 instructions; tf32 on Ampere and newer.

The plan, `trainwright validate`, the TrainingArguments check of `init` and (as its own copy, the
script being self-contained) the generated train.py all follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainwright.discovery.models import Hardware
from trainwright.planning.plan import Choice


@dataclass(frozen=True)
class Precision:
    mode: str  # bf16 | fp16 | fp32
    use_cpu: bool = False  # TrainingArguments allows bf16 without a GPU only with use_cpu
    tf32: bool = False

    @property
    def half_dtype(self) -> str | None:
        """The torch dtype of 16-bit weights, None for fp32."""
        return {"bf16": "bfloat16", "fp16": "float16"}.get(self.mode)


def precision_for(hardware: Hardware) -> Precision:
    if hardware.gpus:
        gpu = hardware.gpus[0]
        return Precision("bf16", tf32=True) if gpu.supports_bf16 else Precision("fp16")
    if hardware.mps:
        return Precision("fp32")
    return Precision("bf16", use_cpu=True) if hardware.cpu_bf16 else Precision("fp32")


def choose_precision(hardware: Hardware) -> dict[str, Choice]:
    precision = precision_for(hardware)
    if hardware.gpus:
        gpu = hardware.gpus[0]
        capability = (f"{gpu.compute_capability[0]}.{gpu.compute_capability[1]}"
                      if gpu.compute_capability else "unknown")
        if precision.mode == "bf16":
            return {
                "bf16": Choice(True, f"{gpu.name} has compute capability {capability} (>= 8.0): "
                                     "bf16 has fp32's range, so no loss scaling is needed",
                               f"{gpu.name} computes bf16 natively"),
                "fp16": Choice(False, "bf16 is used instead", "bf16 is used instead"),
                "tf32": Choice(True, f"TF32 matmuls are fast and accurate enough on {gpu.name} "
                                     "(Ampere or newer)", "fast TF32 matmuls (Ampere or newer)"),
            }
        return {
            "bf16": Choice(False, f"{gpu.name} (compute capability {capability}) has no fast "
                                  "bf16; torch.cuda.is_bf16_supported() may still say yes",
                           f"{gpu.name} has no fast bf16"),
            "fp16": Choice(True, f"fp16 with loss scaling roughly doubles speed on {gpu.name}",
                           "fp16 with loss scaling"),
        }
    if hardware.mps:
        return {
            "bf16": Choice(False, "mixed precision on Apple MPS is not reliable for training",
                           "not reliable on Apple MPS"),
            "fp16": Choice(False, "fp32 on Apple MPS", "fp32 on Apple MPS"),
        }
    if precision.use_cpu:
        return {
            "bf16": Choice(True, "the CPU has bf16 instructions (AVX512-BF16 / AMX)",
                           "the CPU has bf16 instructions"),
            "fp16": Choice(False, "fp16 is not used on CPU", "not used on CPU"),
            "use_cpu": Choice(True, "TrainingArguments allows bf16 without a GPU only with "
                                    "use_cpu", "bf16 without a GPU needs use_cpu"),
        }
    return {
        "bf16": Choice(False, "no GPU and no bf16 instructions on this CPU: fp32",
                       "no GPU, no bf16 instructions: fp32"),
        "fp16": Choice(False, "no GPU: fp32", "no GPU: fp32"),
    }


def precision_problems(training: dict, hardware: Hardware | None) -> list[tuple[str, str, str]]:
    """(key, problem, fix) where the config's precision breaks the rule for this hardware."""
    problems = []
    if training.get("bf16") is True and training.get("fp16") is True:
        problems.append(("training.fp16", "bf16 and fp16 are both on",
                         ("keep bf16 on GPUs with compute capability >= 8.0, fp16 on older "
                          "ones; set the other to false")))
    if training.get("bf16") is True and hardware is not None and hardware.gpus \
            and precision_for(hardware).mode != "bf16":
        gpu = hardware.gpus[0]
        problems.append(("training.bf16", (f"is on, but {gpu.name} (compute capability "
                                           f"{gpu.compute_capability}) has no fast bf16"),
                         "set bf16: false and fp16: true"))
    return problems


def on_this_machine(training: dict, cuda: bool) -> dict:
    """The training settings as train.py passes them to TrainingArguments: without a CUDA GPU,
    fp16 and tf32 are off, and bf16 stays only where the plan gave it use_cpu."""
    if cuda:
        return dict(training)
    adjusted = dict(training, fp16=False)
    adjusted.pop("tf32", None)
    adjusted["bf16"] = bool(training.get("bf16")) and bool(training.get("use_cpu"))
    return adjusted
