"""The memory model: what one training step holds on a GPU, component by component.

Sources (each component says where its numbers come from):
- weights, gradients, optimizer states: 4 bytes per parameter for fp32 weights (Trainer's
  mixed precision autocasts and keeps fp32 master weights), 4 per trainable parameter for
  gradients, 8 per trainable parameter for AdamW's two fp32 moments (2 for 8-bit AdamW);
  Hugging Face, "Model training anatomy" (transformers docs, perf_train_gpu_one).
- 4-bit NF4 with double quantisation: 4 + 0.127 bits per quantised parameter (Dettmers et al.
  2023, "QLoRA", section 3); embeddings and the output head stay in 16 bit.
- activations per transformer layer: s*b*h*(34 + 5*a*s/h) bytes in 16 bit (Korthikanti et al.
  2022, "Reducing Activation Recomputation in Large Transformer Models", eq. 1); fused
  attention (SDPA / flash) never stores the a*s*s score matrix, so the second term goes; fp32
  doubles both; with gradient checkpointing only each layer's input (2*s*b*h bytes) is kept,
  plus one layer recomputed at a time.
- causal LM logits: b*s*vocab, upcast to fp32 for the loss, held with their gradient.
- CUDA context and kernels: 500-1,400 MiB depending on torch and CUDA (the Hugging Face page
  measured 1,343 MiB on a V100 with an older torch); 1,000 MiB here.
- allocator reserve: PyTorch's caching allocator holds about 10 % more than it hands out
  (what nvidia-smi shows).
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 2**20
CUDA_CONTEXT_MIB = 1_000
ALLOCATOR_RESERVE = 0.10
USABLE_FRACTION = 0.90  # plan to at most 90 % of device memory
NF4_BITS = 4.127
LORA_TRAINABLE_FRACTION = 0.01  # rank-16 adapters on every linear layer: about 0.5-1 %


@dataclass(frozen=True)
class ModelShape:
    parameters: int
    hidden_size: int
    num_layers: int
    num_heads: int
    vocab_size: int = 0
    causal_lm: bool = False
    embedding_parameters: int = 0


@dataclass(frozen=True)
class TrainingSetup:
    batch_size: int
    sequence_length: int
    half_precision: bool  # bf16 / fp16 autocast
    method: str = "full"  # full | lora | qlora | freeze
    gradient_checkpointing: bool = False
    fused_attention: bool = True  # SDPA
    trainable_fraction: float = 1.0
    eight_bit_optimizer: bool = False
    on_gpu: bool = True


@dataclass(frozen=True)
class MemoryEstimate:
    components: dict[str, float]  # MiB, in the order they are reported

    @property
    def total_mib(self) -> float:
        return sum(self.components.values())


def _weights_bytes(model: ModelShape, setup: TrainingSetup) -> float:
    if setup.method == "qlora":
        quantised = model.parameters - model.embedding_parameters
        return quantised * NF4_BITS / 8 + model.embedding_parameters * 2
    if setup.method == "lora":
        return model.parameters * (2 if setup.half_precision else 4)  # base loaded in 16 bit
    return model.parameters * 4


def _trainable(model: ModelShape, setup: TrainingSetup) -> float:
    if setup.method in {"lora", "qlora"}:
        fraction = setup.trainable_fraction if setup.trainable_fraction < 1 else \
            LORA_TRAINABLE_FRACTION  # the planned adapter's share when it is known
        return model.parameters * fraction
    return model.parameters * setup.trainable_fraction


def _activation_bytes(model: ModelShape, setup: TrainingSetup) -> float:
    s, b, h, a = setup.sequence_length, setup.batch_size, model.hidden_size, model.num_heads
    scale = 1 if setup.half_precision else 2
    per_layer = s * b * h * (34 + (0 if setup.fused_attention else 5 * a * s / h)) * scale
    layers = model.num_layers
    if setup.method == "freeze":
        layers = max(1, round(model.num_layers * setup.trainable_fraction))
    if setup.gradient_checkpointing:
        return layers * 2 * s * b * h * scale + per_layer
    return layers * per_layer


def estimate_memory(model: ModelShape, setup: TrainingSetup) -> MemoryEstimate:
    trainable = _trainable(model, setup)
    components = {
        "weights": _weights_bytes(model, setup) / MIB,
        "gradients": trainable * 4 / MIB,
        "optimizer states": trainable * (2 if setup.eight_bit_optimizer else 8) / MIB,
        "activations": _activation_bytes(model, setup) / MIB,
    }
    if model.causal_lm and model.vocab_size:
        components["logits (fp32)"] = (setup.batch_size * setup.sequence_length
                                       * model.vocab_size * 4 * 2 / MIB)
    allocated = sum(components.values())
    if setup.on_gpu:
        components["allocator reserve"] = allocated * ALLOCATOR_RESERVE
        components["CUDA context"] = CUDA_CONTEXT_MIB
    return MemoryEstimate(components)


def loaded_model_memory(model: ModelShape, method: str = "qlora",
                        half_precision: bool = True) -> MemoryEstimate:
    """What a GPU holds once the model is loaded, before any training step: the weights, the
    allocator's reserve on them and the CUDA context (what nvidia-smi shows)."""
    weights = _weights_bytes(model, TrainingSetup(1, 1, half_precision, method=method)) / MIB
    return MemoryEstimate({"weights": weights, "allocator reserve": weights * ALLOCATOR_RESERVE,
                           "CUDA context": CUDA_CONTEXT_MIB})


@dataclass(frozen=True)
class BatchFit:
    per_device: int
    accumulation: int
    gradient_checkpointing: bool
    estimate: MemoryEstimate
    fits: bool


def fit_batch(model: ModelShape, setup: TrainingSetup, target_effective_batch: int,
              device_memory_mib: int, devices: int = 1) -> BatchFit:
    """Largest power-of-two per-device batch (up to the target) within USABLE_FRACTION of the
    device; gradient checkpointing only when not even batch 1 fits without it."""
    budget = USABLE_FRACTION * device_memory_mib
    per_device_target = max(1, target_effective_batch // max(1, devices))
    for checkpointing in (False, True):
        def at(batch: int, checkpointing: bool = checkpointing) -> MemoryEstimate:
            return estimate_memory(model, TrainingSetup(**{
                **setup.__dict__, "batch_size": batch, "gradient_checkpointing": checkpointing}))

        if at(1).total_mib > budget:
            continue
        batch = 1
        while batch * 2 <= per_device_target and at(batch * 2).total_mib <= budget:
            batch *= 2
        return BatchFit(batch, max(1, per_device_target // batch), checkpointing, at(batch), True)
    worst = estimate_memory(model, TrainingSetup(**{**setup.__dict__, "batch_size": 1,
                                                   "gradient_checkpointing": True}))
    return BatchFit(1, per_device_target, True, worst, False)
