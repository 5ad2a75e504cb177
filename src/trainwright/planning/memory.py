"""A first memory model for fine-tuning encoders, and the batch-size fit built on it.

Sources: weights + gradients + AdamW states take 4 + 4 + 8 bytes per parameter in fp32
(16 with mixed precision, which keeps fp32 master weights: the HF "model memory anatomy" page);
activations per layer follow Korthikanti et al. 2022 ("Reducing Activation Recomputation"):
s*b*h*(34 + 5*a*s/h) bytes in 16-bit, where the 5*a*s/h attention-score term disappears with
fused (SDPA / flash) attention.
"""

from __future__ import annotations

from dataclasses import dataclass

CUDA_CONTEXT_MIB = 500
USABLE_FRACTION = 0.85


@dataclass(frozen=True)
class MemoryEstimate:
    weights_mib: float
    gradients_mib: float
    optimizer_mib: float
    activations_mib: float
    overhead_mib: float

    @property
    def total_mib(self) -> float:
        return (self.weights_mib + self.gradients_mib + self.optimizer_mib
                + self.activations_mib + self.overhead_mib)


def estimate_training_memory(num_parameters: int, hidden_size: int, num_layers: int,
                             batch_size: int, sequence_length: int, half_precision: bool,
                             on_gpu: bool) -> MemoryEstimate:
    mib = 2**20
    activation_bytes = 2 if half_precision else 4
    per_layer = sequence_length * batch_size * hidden_size * 34 * activation_bytes / 2
    return MemoryEstimate(
        weights_mib=num_parameters * (6 if half_precision else 4) / mib,
        gradients_mib=num_parameters * 4 / mib,
        optimizer_mib=num_parameters * 8 / mib,
        activations_mib=num_layers * per_layer / mib,
        overhead_mib=CUDA_CONTEXT_MIB if on_gpu else 0,
    )


def fit_batch_size(target_effective_batch: int, device_memory_mib: int, devices: int,
                   estimate) -> tuple[int, int, float]:
    """Largest power-of-two per-device batch (up to the target) that fits the usable memory.

    ``estimate(batch_size) -> MemoryEstimate``. Returns (per_device, accumulation, peak MiB).
    """
    per_device_target = max(1, target_effective_batch // max(1, devices))
    batch = 1
    while batch * 2 <= per_device_target and \
            estimate(batch * 2).total_mib <= USABLE_FRACTION * device_memory_mib:
        batch *= 2
    accumulation = max(1, per_device_target // batch)
    return batch, accumulation, estimate(batch).total_mib
