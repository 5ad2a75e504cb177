"""How fine-tuning trains: LoRA, QLoRA, frozen lower layers or everything, and what that
makes trainable, loads in 16 or 4 bit and optimises."""

from __future__ import annotations

import math

from trainwright.discovery.architecture import Architecture
from trainwright.discovery.models import ProjectFacts
from trainwright.planning.defaults import FINE_TUNING, default
from trainwright.planning.fine_tuning.targets import lora_parameters
from trainwright.planning.foreign import Imported
from trainwright.planning.plan import FLAG, IMPORTED, Choice, Options
from trainwright.planning.precision import precision_for
from trainwright.planning.skeleton import format_count

TABLE = FINE_TUNING
ADAPTERS = {"lora", "qlora"}
# `trainwright init qlora` asks for QLoRA as `--method qlora` does.
METHOD_BY_ALIAS = {"lora": "lora", "qlora": "qlora"}


def _qlora_available(facts: ProjectFacts, planned_for_target: bool) -> tuple[bool, str]:
    if not facts.hardware.gpus:
        return False, ("QLoRA's 4-bit kernels (bitsandbytes) need a CUDA GPU and this machine "
                       "has none")
    if planned_for_target or facts.dependencies.version("bitsandbytes"):
        return True, ""
    return False, "bitsandbytes is not installed (pip install bitsandbytes enables QLoRA)"


def asked_method(options: Options) -> tuple[str | None, str]:
    """The method the command line asks for, and how it was asked."""
    if options.method:
        return options.method, f"--method {options.method}"
    alias = (options.task_alias or "").strip().lower()
    if alias in METHOD_BY_ALIAS:
        return METHOD_BY_ALIAS[alias], f"`trainwright init {alias}`"
    return None, ""


def choose_method(facts: ProjectFacts, options: Options, fits_with_lora: bool,
                  imported: Imported | None = None) -> Choice:
    """The flag's method, else the one a config of another tool asks for (``imported``), else
    LoRA, or QLoRA where only a 4-bit base fits."""
    planned_for_target = bool(options.target_gpu or options.target_gpu_memory)
    qlora_ok, why_not = _qlora_available(facts, planned_for_target)
    asked, how = asked_method(options)
    source = FLAG
    if not asked and imported is not None:
        asked, how, source = str(imported.value), imported.where, IMPORTED
    if asked == "qlora" and not qlora_ok:
        reason = (f"{how} asked for QLoRA, but {why_not}: planned as LoRA on a 16/32-bit base "
                  "model instead")
        return Choice("lora", reason, "LoRA: QLoRA needs a CUDA GPU with bitsandbytes")
    if asked:
        said = how if source == IMPORTED else f"given with {how}"
        return Choice(asked, said, said, source=source)
    if fits_with_lora or not qlora_ok:
        return default(TABLE, "method")
    return Choice("qlora", "LoRA on a 16-bit base does not fit even at batch 1 with gradient "
                           "checkpointing; the 4-bit base model of QLoRA does",
                  "a 16-bit base does not fit; the 4-bit base of QLoRA does")


def frozen_modules(architecture: Architecture) -> tuple[list[str], int, str]:
    """Embeddings and the lower blocks; the top quarter (at least one block) is trained."""
    layers = architecture.num_layers
    trained = max(1, math.ceil(layers * TABLE["trained_layer_share"][0]))
    frozen = layers - trained
    names = list(architecture.embedding_modules)
    names += [f"{architecture.layers_module}.{index}" for index in range(frozen)]
    reason = (f"the embeddings and the first {frozen} of {layers} blocks are frozen, the top "
              f"{trained} trained: {TABLE['trained_layer_share'][1]}")
    return names, frozen, reason


def trainable_count(method: str, architecture: Architecture, targets: list[str], rank: int,
                    frozen: int, head_saved: bool) -> int:
    head = architecture.head_parameters if head_saved else 0
    if method in ADAPTERS:
        return lora_parameters(architecture, targets, rank) + head
    if method == "freeze":  # a head tied to the embeddings is frozen with them
        return (architecture.total_parameters - architecture.embedding_parameters
                - frozen * architecture.layer_parameters)
    return architecture.total_parameters


def adapter_section(method: Choice, targets: Choice, rank: Choice, examples: int,
                    architecture: Architecture, head_saved: bool) -> dict[str, Choice]:
    """What is trained: the adapter's settings, or the frozen modules; the trainable count."""
    adapter = {"method": method}
    frozen_names, frozen, frozen_reason = frozen_modules(architecture)
    if method.value in ADAPTERS:
        dropout = 0.1 if examples < 10_000 else 0.05
        adapter.update({
            "r": rank,
            "lora_alpha": Choice(2 * rank.value, "alpha = 2 r: the adapter's update is scaled by "
                                           "alpha / r = 2, a common, stable choice",
                                 "the update is scaled by alpha / r"),
            "lora_dropout": Choice(dropout, f"{examples:,} training examples: "
                                   + ("0.1 regularises small sets (QLoRA paper, up to 13B)"
                                      if dropout == 0.1 else "0.05 suffices for large sets"),
                                   "more dropout for small data sets (QLoRA paper)"),
            "target_modules": targets,
            "modules_to_save": Choice(list(architecture.head_modules) if head_saved else None,
                                      "the new classification head is trained in full and "
                                      "saved with the adapter" if head_saved else
                                      "no new head: only the adapter is saved",
                                      "the new head, trained in full and saved with the adapter"
                                      if head_saved else "no new head: only the adapter is saved"),
        })
        if any(layer.transposed for layer in architecture.matched(targets.value)):
            adapter["fan_in_fan_out"] = Choice(True, "GPT-2 style Conv1D layers store their "
                                                     "weights transposed",
                                               "Conv1D layers store their weights transposed")
    elif method.value == "freeze":
        adapter["frozen_modules"] = Choice(frozen_names, frozen_reason,
                                           "the embeddings and the lower blocks stay fixed")
    trainable = trainable_count(method.value, architecture, targets.value, rank.value, frozen,
                                head_saved)
    share = trainable / max(1, architecture.total_parameters)
    adapter["trainable_parameters"] = Choice(
        trainable, f"{share:.2%} of the model's {format_count(architecture.total_parameters)} "
                   "parameters are trained; the script checks this count",
        "the script checks that this many parameters train")
    return adapter


def model_section(facts: ProjectFacts, name: Choice, method: str,
                  causal: bool = True) -> dict[str, Choice]:
    """The base model, the dtype it loads in for the method and the hardware, and the
    attention kernel (planned for causal LMs on GPUs)."""
    from trainwright.planning.hardware_rules import attention_choice

    precision = precision_for(facts.hardware)
    half = precision.half_dtype
    if method == "lora" and half and not precision.use_cpu:
        dtype = Choice(half, "the frozen base weights are held in 16 bit; the adapter trains "
                             "in fp32 under autocast", "frozen base weights in 16 bit")
    elif method == "qlora":
        dtype = Choice(half or "float16", "the non-quantised parts (norms, embeddings) in the "
                                          "compute dtype",
                       "the non-quantised parts in the compute dtype")
    elif method in {"freeze", "full"}:
        dtype = Choice("float32", "trained weights stay in fp32; mixed precision autocasts "
                                  "the compute", "trained weights in fp32 under autocast")
    else:
        dtype = Choice("float32", "no GPU: fp32 weights", "no GPU: fp32 weights")
    return {"name_or_path": name, "dtype": dtype,
            **attention_choice(facts if causal else None)}


def quantization_section(facts: ProjectFacts) -> dict[str, Choice]:
    gpu = facts.hardware.gpus[0]
    compute = "bfloat16" if precision_for(facts.hardware).mode == "bf16" else "float16"
    return {
        "load_in_4bit": Choice(True, "the base model is stored in 4 bit (QLoRA)",
                               "the base model is stored in 4 bit (QLoRA)"),
        "bnb_4bit_quant_type": Choice("nf4", "NormalFloat4: optimal for normally distributed "
                                             "weights (QLoRA paper)", "NormalFloat4 (QLoRA)"),
        "bnb_4bit_use_double_quant": Choice(True, "quantises the quantisation constants too: "
                                                  "about 0.37 bits a parameter saved",
                                            "quantises the quantisation constants too"),
        "bnb_4bit_compute_dtype": Choice(compute, f"{gpu.name} " + (
            "computes bf16 natively (compute capability >= 8.0)" if compute == "bfloat16" else
            "has no fast bf16 (compute capability < 8.0): fp16"),
            "the precision rule's 16-bit type for this GPU"),
    }


def optimizer(method: str) -> Choice | None:
    """QLoRA's optimizer; None: the shared rule's."""
    if method == "qlora":
        return Choice("paged_adamw_8bit", "QLoRA's paged 8-bit AdamW: optimizer states in 8 "
                                          "bit, paged to CPU memory on spikes",
                      "QLoRA's paged 8-bit AdamW")
    return None


def method_warnings(method: Choice, options: Options, facts: ProjectFacts) -> tuple[str, ...]:
    warnings = []
    asked, _ = asked_method(options)
    if asked and method.value != asked:
        warnings.append(method.reason)
    needed = ("peft", "bitsandbytes") if method.value == "qlora" else ("peft",)
    missing = facts.dependencies.missing(needed)
    if missing and method.value in ADAPTERS:
        warnings.append(f"Not installed: {', '.join(missing)}. the script needs it for "
                        f"{method.value}: pip install -r requirements-training.txt")
    return tuple(warnings)
