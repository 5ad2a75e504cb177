"""`trainwright estimate`: memory components, peak, fit and time per epoch for a config."""

from __future__ import annotations

from dataclasses import dataclass, replace

from trainwright.discovery.model import ModelFacts
from trainwright.planning.classification import model_shape
from trainwright.planning.distributed import sharded_setup
from trainwright.planning.gpus import GPUSpec
from trainwright.planning.memory import (
    USABLE_FRACTION,
    BatchFit,
    MemoryEstimate,
    TrainingSetup,
    estimate_memory,
    fit_batch,
)

SHARDING_NOTES = {
    "ddp": "every device holds the whole model and its states",
    "zero2": "gradients and optimizer states divided by the processes (ZeRO-2)",
    "zero3": "weights, gradients and optimizer states divided by the processes (ZeRO-3)",
    "fsdp": "weights, gradients and optimizer states divided by the processes (FSDP)",
}
# Model FLOPs utilisation assumed for the time estimate: fine-tuning small and medium models
# with the Trainer typically reaches 25-45 % of the dense peak.
ASSUMED_MFU = 0.30


@dataclass(frozen=True)
class Estimate:
    memory: MemoryEstimate
    device: str
    device_memory_mib: int | None
    fits: bool
    suggestion: str | None
    epoch_tokens: int | None
    seconds_per_epoch: float | None
    assumptions: tuple[str, ...]
    peak_mib: float = 0.0  # the total of the components: what the table prints as the peak
    processes: int = 1  # the figures are per device of this many processes
    strategy: str = "ddp"


def estimate_config(config: dict, model: ModelFacts, gpu: GPUSpec | None, ram_mib: int,
                    train_rows: int | None, mean_tokens: float | None, processes: int = 1,
                    strategy: str | None = None) -> Estimate:
    """``processes`` and ``strategy`` (ddp, zero2, zero3, fsdp): the figures per device of a
    run on several; by default the config's own `distributed:` section."""
    training, data = config.get("training", {}), config.get("data", {})
    distributed = config.get("distributed") or {}
    if processes == 1 and strategy is None and distributed:
        processes = int(distributed.get("gpus", 1)) * int(distributed.get("nodes", 1))
        strategy = distributed.get("strategy")
    strategy = strategy or "ddp"
    attention = str((config.get("model") or {}).get("attn_implementation") or "sdpa")
    adapter = config.get("adapter") or {}
    sequence = int(data.get("max_length") or data.get("block_size") or 512)
    batch = int(training.get("per_device_train_batch_size", 8))
    half = bool(training.get("bf16") or training.get("fp16")) and gpu is not None
    method = str(adapter.get("method", "full"))
    share = 1.0
    if adapter.get("trainable_parameters") and model.num_parameters:
        share = min(1.0, int(adapter["trainable_parameters"]) / model.num_parameters)
    eight_bit = "8bit" in str(training.get("optim", ""))
    setup = TrainingSetup(batch_size=batch, sequence_length=sequence, half_precision=half,
                          method=method, trainable_fraction=share, eight_bit_optimizer=eight_bit,
                          gradient_checkpointing=bool(training.get("gradient_checkpointing")
                                                      or (training.get("fsdp_config") or {})
                                                      .get("activation_checkpointing")),
                          fused_attention=attention != "eager", on_gpu=gpu is not None,
                          fused_cross_entropy=bool(training.get("use_liger_kernel"))
                          and gpu is not None)
    setup = sharded_setup(setup, strategy, max(1, processes))
    causal = config.get("task") == "generation" or data.get("objective") in {"sft", "causal_lm"}
    shape = model_shape(model)
    if causal:
        shape = replace(shape, causal_lm=True,
                        embedding_parameters=shape.vocab_size * shape.hidden_size)
    memory = estimate_memory(shape, setup)
    capacity = gpu.memory_mib if gpu else ram_mib
    fits = memory.total_mib <= USABLE_FRACTION * capacity
    suggestion = None
    if not fits:
        target = batch * int(training.get("gradient_accumulation_steps", 1))
        better: BatchFit = fit_batch(shape, setup, target * processes, capacity, processes)
        if better.fits:
            suggestion = (f"per_device_train_batch_size: {better.per_device}, "
                          f"gradient_accumulation_steps: {better.accumulation}"
                          + (", gradient_checkpointing: true" if better.gradient_checkpointing
                             else "") + f" (peak {better.estimate.total_mib:,.0f} MiB)")
        else:
            suggestion = "nothing fits: use a shorter data.max_length, a bigger GPU or a " \
                         "smaller model"
    assumptions = [
        f"model: {model.num_parameters or shape.parameters:,} parameters ({model.source})",
        f"length {sequence} tokens, batch {batch} per device",
        ("eager attention: the a x s x s score matrix is stored" if attention == "eager"
         else f"fused ({attention}) attention: no score matrix stored"),
        f"{'8-bit' if eight_bit else 'fp32'} AdamW states",
    ]
    if method != "full":
        assumptions.append(f"{method}: {share:.2%} of the parameters trained")
    if setup.fused_cross_entropy and causal:
        assumptions.append("Liger's fused linear cross-entropy: the logits never held whole")
    if processes > 1:
        assumptions.append(f"per device of {processes} processes under {strategy}: "
                           + SHARDING_NOTES[strategy])
    epoch_tokens = seconds = None
    if train_rows:
        per_example = min(sequence, mean_tokens or sequence)
        epoch_tokens = int(train_rows * per_example)
        assumptions.append(f"{train_rows:,} rows x {per_example:.0f} tokens per example "
                           "(dynamic padding)")
        if gpu is not None:
            flops = 6 * shape.parameters * epoch_tokens / max(1, processes)
            if setup.gradient_checkpointing:
                flops *= 4 / 3  # the forward pass runs twice
            seconds = flops / (gpu.peak_tflops * 1e12 * ASSUMED_MFU)
            assumptions.append(f"6 x parameters x tokens FLOPs at {ASSUMED_MFU:.0%} of "
                               f"{gpu.name}'s {gpu.peak_tflops:g} TFLOPS peak")
    return Estimate(memory, gpu.name if gpu else "CPU (RAM)", capacity, fits, suggestion,
                    epoch_tokens, seconds, tuple(assumptions), memory.total_mib,
                    max(1, processes), strategy)
