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
- sharding over N_d data-parallel processes (Rajbhandari et al. 2020, "ZeRO", section 5): with
  mixed precision and Adam the model states are 2Psi (16-bit weights) + 2Psi (16-bit gradients)
  + K Psi (fp32 master weights, momentum and variance, K = 12); stage 1 shards the optimizer
  states (4Psi + K Psi/N_d), stage 2 the gradients too (2Psi + (2+K) Psi/N_d), stage 3 the
  weights too ((4+K) Psi/N_d). FSDP's full shard divides every state like stage 3. DeepSpeed
  keeps the states that way (``zero_accounting``); the Trainer alone and FSDP keep fp32 weights
  and fp32 gradients, and the same stages divide those. Activations and logits belong to each
  process's own batch and are never sharded; stage 3 / FSDP gather one block's 16-bit weights
  at a time (and prefetch the next).
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
    devices: int = 1  # N_d: data-parallel processes the model states are sharded over
    zero_stage: int = 0  # 0 none (DDP), 1 optimizer states, 2 + gradients, 3 + weights (FSDP)
    zero_accounting: bool = False  # DeepSpeed under mixed precision: the paper's 2 + 2 + K
    fused_cross_entropy: bool = False  # Liger's fused linear cross-entropy: logits in chunks


@dataclass(frozen=True)
class MemoryEstimate:
    components: dict[str, float]  # MiB, in the order they are reported

    @property
    def total_mib(self) -> float:
        return sum(self.components.values())


ADAM_STATE_BYTES = 8  # two fp32 moments a trainable parameter
EIGHT_BIT_STATE_BYTES = 2


def _weights_bytes(model: ModelShape, setup: TrainingSetup) -> float:
    if setup.method == "qlora":
        quantised = model.parameters - model.embedding_parameters
        return quantised * NF4_BITS / 8 + model.embedding_parameters * 2
    if setup.method == "lora":
        return model.parameters * (2 if setup.half_precision else 4)  # base loaded in 16 bit
    if setup.zero_accounting and setup.half_precision:
        return model.parameters * 2  # DeepSpeed's 16-bit copy; the fp32 master is a state
    return model.parameters * 4


def _trainable(model: ModelShape, setup: TrainingSetup) -> float:
    if setup.method in {"lora", "qlora"}:
        fraction = setup.trainable_fraction if setup.trainable_fraction < 1 else \
            LORA_TRAINABLE_FRACTION  # the planned adapter's share when it is known
        return model.parameters * fraction
    return model.parameters * setup.trainable_fraction


def state_bytes(model: ModelShape, setup: TrainingSetup) -> dict[str, float]:
    """Weights, gradients and optimizer states on one device, in bytes, after sharding.

    Under ``zero_accounting`` (DeepSpeed, mixed precision) a trainable parameter holds 2 bytes
    of 16-bit weight, 2 of 16-bit gradient and K = 4 + 8 bytes of states (the fp32 master
    weight and Adam's two moments; 4 + 2 with 8-bit Adam); otherwise 4 bytes of fp32 weight,
    4 of fp32 gradient and 8 (2) of Adam states. Frozen weights (LoRA's base, frozen layers)
    have no gradient or state; they shard only with the weights, at stage 3.
    """
    trainable = _trainable(model, setup)
    adam = EIGHT_BIT_STATE_BYTES if setup.eight_bit_optimizer else ADAM_STATE_BYTES
    paper = setup.zero_accounting and setup.half_precision
    master = 4 if paper and setup.method not in {"lora", "qlora"} else 0
    gradient = 2 if paper else 4
    devices, stage = max(1, setup.devices), setup.zero_stage
    return {
        "weights": _weights_bytes(model, setup) / (devices if stage >= 3 else 1),
        "gradients": trainable * gradient / (devices if stage >= 2 else 1),
        "optimizer states": trainable * (master + adam) / (devices if stage >= 1 else 1),
    }


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


def _gathered_bytes(model: ModelShape, setup: TrainingSetup) -> float:
    """Stage 3 / FSDP: the whole 16-bit weights of the block being computed and of the next
    one (prefetched), gathered from every shard."""
    if setup.zero_stage < 3 or setup.devices <= 1:
        return 0.0
    block = (model.parameters - model.embedding_parameters) / max(1, model.num_layers)
    return 2 * block * (2 if setup.half_precision else 4)


def estimate_memory(model: ModelShape, setup: TrainingSetup) -> MemoryEstimate:
    components = {name: size / MIB for name, size in state_bytes(model, setup).items()}
    components["activations"] = _activation_bytes(model, setup) / MIB
    gathered = _gathered_bytes(model, setup)
    if gathered:
        components["gathered block weights"] = gathered / MIB
    if model.causal_lm and model.vocab_size and setup.fused_cross_entropy:
        # Liger's fused linear cross-entropy computes the logits chunk by chunk, each chunk
        # about vocab / hidden times fewer tokens: about one fp32 hidden state a token, with
        # its gradient (Hsu et al. 2024, "Liger Kernel").
        components["logits (fused, chunked)"] = (setup.batch_size * setup.sequence_length
                                                 * model.hidden_size * 4 * 2 / MIB)
    elif model.causal_lm and model.vocab_size:
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
    device, lowered to a divisor of the per-device target so that batch x accumulation x
    devices is the target; gradient checkpointing only when not even batch 1 fits without it.
    ``setup.devices`` and ``setup.zero_stage`` say how the model states are sharded."""
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
        while per_device_target % batch:
            batch -= 1
        return BatchFit(batch, max(1, per_device_target // batch), checkpointing, at(batch), True)
    worst = estimate_memory(model, TrainingSetup(**{**setup.__dict__, "batch_size": 1,
                                                   "gradient_checkpointing": True}))
    return BatchFit(1, per_device_target, True, worst, False)
