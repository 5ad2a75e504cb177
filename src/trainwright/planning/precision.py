"""The precision rule: bf16 on compute capability >= 8.0, fp16 on older GPUs, fp32 on CPU
unless it has bf16 instructions; tf32 on Ampere and newer."""

from __future__ import annotations

from trainwright.discovery.models import Hardware
from trainwright.planning.plan import Choice


def choose_precision(hardware: Hardware) -> dict[str, Choice]:
    if hardware.gpus:
        gpu = hardware.gpus[0]
        capability = (f"{gpu.compute_capability[0]}.{gpu.compute_capability[1]}"
                      if gpu.compute_capability else "unknown")
        if gpu.supports_bf16:
            reason = (f"{gpu.name} has compute capability {capability} (>= 8.0): bf16 has "
                      "fp32's range, so no loss scaling is needed")
            return {
                "bf16": Choice(True, reason),
                "fp16": Choice(False, "bf16 is used instead"),
                "tf32": Choice(True, f"TF32 matmuls are fast and accurate enough on "
                                     f"{gpu.name} (Ampere or newer)"),
            }
        return {
            "bf16": Choice(False, f"{gpu.name} (compute capability {capability}) has no fast "
                                  "bf16; torch.cuda.is_bf16_supported() may still say yes"),
            "fp16": Choice(True, f"fp16 with loss scaling roughly doubles speed on {gpu.name}"),
        }
    if hardware.mps:
        return {
            "bf16": Choice(False, "mixed precision on Apple MPS is not reliable for training"),
            "fp16": Choice(False, "fp32 on Apple MPS"),
        }
    if hardware.cpu_bf16:
        return {
            "bf16": Choice(True, "the CPU has bf16 instructions (AVX512-BF16 / AMX)"),
            "fp16": Choice(False, "fp16 is not used on CPU"),
            "use_cpu": Choice(True, "TrainingArguments allows bf16 without a GPU only with "
                                    "use_cpu"),
        }
    return {
        "bf16": Choice(False, "no GPU and no bf16 instructions on this CPU: fp32"),
        "fp16": Choice(False, "no GPU: fp32"),
    }
