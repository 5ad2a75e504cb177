"""GPUs people plan for, so `--target-gpu T4` plans for a machine you do not have.

Memory is what the device reports (MiB); peak dense FLOPS are the vendor's tensor-core figures
without sparsity, for bf16 (fp16 where the GPU has no bf16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainwright.discovery.models import GPU
from trainwright.errors import UserError


@dataclass(frozen=True)
class GPUSpec:
    name: str
    memory_mib: int
    compute_capability: tuple[int, int]
    peak_tflops: float  # dense bf16 (fp16 on pre-Ampere GPUs)

    def as_gpu(self) -> GPU:
        return GPU(self.name, self.memory_mib, self.compute_capability)


GPU_TABLE = {
    "t4": GPUSpec("Tesla T4", 15_360, (7, 5), 65.0),
    "v100": GPUSpec("Tesla V100-SXM2-16GB", 16_160, (7, 0), 125.0),
    "v100-32gb": GPUSpec("Tesla V100-SXM2-32GB", 32_510, (7, 0), 125.0),
    "a10g": GPUSpec("NVIDIA A10G", 23_028, (8, 6), 125.0),
    "l4": GPUSpec("NVIDIA L4", 23_034, (8, 9), 121.0),
    "rtx3090": GPUSpec("NVIDIA GeForce RTX 3090", 24_576, (8, 6), 71.0),
    "rtx4090": GPUSpec("NVIDIA GeForce RTX 4090", 24_564, (8, 9), 165.0),
    "a100-40gb": GPUSpec("NVIDIA A100-SXM4-40GB", 40_960, (8, 0), 312.0),
    "a100-80gb": GPUSpec("NVIDIA A100-SXM4-80GB", 81_920, (8, 0), 312.0),
    "h100": GPUSpec("NVIDIA H100 80GB HBM3", 81_559, (9, 0), 989.0),
    "h200": GPUSpec("NVIDIA H200", 143_771, (9, 0), 989.0),
}
ALIASES = {"a100": "a100-80gb", "a100-80": "a100-80gb", "a100-40": "a100-40gb",
           "3090": "rtx3090", "4090": "rtx4090", "h100-80gb": "h100", "h100-sxm": "h100"}
UNKNOWN_GPU_TFLOPS = 100.0


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower()).replace("nvidia-", "")


def lookup_gpu(name: str) -> GPUSpec:
    key = _key(name)
    key = ALIASES.get(key, key)
    if key in GPU_TABLE:
        return GPU_TABLE[key]
    for spec in GPU_TABLE.values():  # a reported name such as "NVIDIA A100-SXM4-80GB"
        if _key(spec.name) == key:
            return spec
    raise UserError(f"Unknown GPU '{name}'.",
                    f"use one of {', '.join(GPU_TABLE)}, or --target-gpu-memory 24GB for another.")


def spec_for(gpu: GPU) -> GPUSpec:
    """The table entry of a detected GPU, or a spec with an assumed peak."""
    for spec in GPU_TABLE.values():
        if spec.name == gpu.name:
            return spec
    return GPUSpec(gpu.name, gpu.memory_mib, gpu.compute_capability or (8, 0), UNKNOWN_GPU_TFLOPS)


def parse_memory(text: str) -> int:
    """'24GB', '24 GiB', '24000MiB' -> MiB."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([GgMm])i?[Bb]?\s*", text)
    if not match:
        raise UserError(f"'{text}' is not a memory size.", "write it like 24GB or 16000MiB.")
    amount, unit = float(match.group(1)), match.group(2).lower()
    return int(amount * 1024) if unit == "g" else int(amount)
