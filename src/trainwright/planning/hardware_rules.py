"""Throughput choices that depend on the hardware and installed versions."""

from __future__ import annotations

from trainwright.discovery.models import Hardware, ProjectFacts
from trainwright.planning.plan import Choice
from trainwright.planning.versions import version_tuple


def optimizer_choice(facts: ProjectFacts) -> dict[str, Choice]:
    torch_version = version_tuple(facts.dependencies.version("torch"))
    if not torch_version or torch_version >= (2, 4):
        return {"optim": Choice("adamw_torch_fused", "the fused AdamW kernel updates all "
                                "parameters in one launch (CPU and CUDA, torch >= 2.4)",
                                "fused AdamW: one kernel launch for all parameters")}
    return {"optim": Choice("adamw_torch", "torch < 2.4 has no fused AdamW on every device",
                                  "torch < 2.4 has no fused AdamW on every device")}


LIGER_MODEL_TYPES = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3",
                     "granite", "olmo2"}


def compile_choice(hardware: Hardware, fixed_shapes: bool, total_steps: int,
                   padding_free: bool = False) -> dict[str, Choice]:
    """torch.compile only where it pays: fixed shapes, a GPU and a run long enough to repay
    a minute or two of compilation."""
    if not hardware.gpus:
        return {"torch_compile": Choice(False, "compilation pays on GPUs, not on CPU",
                                        "compilation pays on GPUs, not on CPU")}
    if padding_free:
        return {"torch_compile": Choice(False, "padding-free rows hold as many tokens as their "
                                               "examples, so every batch has a new length and "
                                               "would recompile",
                                        "padding-free rows vary in length: each recompiles")}
    if not fixed_shapes:
        return {"torch_compile": Choice(False, "dynamic padding makes batch shapes vary, and "
                                               "every new shape would recompile",
                                               "padded batches vary in shape: each recompiles")}
    if total_steps < 1000:
        return {"torch_compile": Choice(False, f"{total_steps} planned steps do not repay the "
                                               "compile time",
                                               "a short run does not repay the compile time")}
    return {"torch_compile": Choice(True, f"fixed-shape blocks on a GPU for {total_steps:,} "
                                          "steps: compiling once (a minute or two) repays "
                                          "itself", "fixed-shape blocks on a GPU: compiling "
                                                    "repays itself")}


def liger_choice(facts: ProjectFacts, model_type: str | None, sequence: int | None = None,
                 vocab_size: int | None = None) -> dict[str, Choice]:
    """Liger kernels for causal LMs of a supported architecture on a GPU (none on CPU): its
    fused linear cross-entropy never holds the logits. liger-kernel joins
    requirements-training.txt (planning/requirements.py)."""
    if not facts.hardware.gpus:
        return {}
    if model_type not in LIGER_MODEL_TYPES:
        supported = ", ".join(sorted(LIGER_MODEL_TYPES))
        return {"use_liger_kernel": Choice(
            False, f"Liger has no kernels for {model_type or 'this architecture'} (it patches "
                   f"{supported})", "Liger has no kernels for this architecture")}
    logits = ""
    if sequence and vocab_size:
        mib = sequence * vocab_size * 4 * 2 / 2**20
        logits = (f" (fp32 logits and their gradient: {sequence:,} tokens x {vocab_size:,} "
                  f"vocabulary x 8 bytes = {mib:,.0f} MiB an example)" if mib >= 1 else "")
    installed = facts.dependencies.version("liger-kernel")
    where = (f"liger-kernel {installed} is installed" if installed else
             "liger-kernel is added to requirements-training.txt (not installed here)")
    return {"use_liger_kernel": Choice(
        True, f"Liger's Triton kernels for {model_type}: RMSNorm, RoPE and SwiGLU fused, and a "
              "fused linear cross-entropy that computes the loss in chunks and never holds the "
              f"batch's logits{logits}; {where}",
        "fused kernels; the loss never holds all logits")}


def dataloader_choices(hardware: Hardware) -> dict[str, Choice]:
    if hardware.gpus:
        workers = max(1, min(4, hardware.cpu_cores // max(1, 2 * len(hardware.gpus))))
        return {
            "dataloader_num_workers": Choice(workers, f"{hardware.cpu_cores} CPU cores: "
                                             f"{workers} worker(s) per GPU keep it fed",
                                             "worker processes per GPU keep it fed"),
            "dataloader_pin_memory": Choice(True, "pinned host memory speeds copies to the GPU",
                                                  "pinned host memory speeds copies to the GPU"),
        }
    return {
        "dataloader_num_workers": Choice(0, "CPU training: worker processes would compete "
                                            "with the compute threads for the same cores",
                                            "workers would compete with training for the cores"),
        "dataloader_pin_memory": Choice(False, "no GPU to copy to", "no GPU to copy to"),
    }


NULL_ATTENTION = Choice(
    None, "null lets transformers use PyTorch's fused scaled-dot-product attention (SDPA: "
          "flash and memory-efficient kernels, no stored attention matrix) for every model "
          "that supports it and eager attention otherwise; 'flash_attention_2' needs the "
          "flash-attn package, 'eager' helps debugging",
    "null: transformers picks fused SDPA; or eager, flash_attention_2")
FLASH_CAPABILITY = (8, 0)  # FlashAttention-2 runs on Ampere and newer


def attention_choice(facts: ProjectFacts | None = None) -> dict[str, Choice]:
    """model.attn_implementation. Without facts (encoders) or a GPU: null, transformers'
    choice. For a causal LM on a GPU: FlashAttention-2 where flash-attn is installed and every
    GPU has compute capability >= 8.0, else SDPA."""
    if facts is None or not facts.hardware.gpus:
        return {"attn_implementation": NULL_ATTENTION}
    gpus = facts.hardware.gpus
    flash = facts.dependencies.version("flash-attn")
    older = next((gpu for gpu in gpus if gpu.compute_capability is None
                  or gpu.compute_capability < FLASH_CAPABILITY), None)
    if flash and older is None:
        capability = ".".join(map(str, gpus[0].compute_capability or ()))
        return {"attn_implementation": Choice(
            "flash_attention_2", f"flash-attn {flash} is installed and {gpus[0].name} (compute "
                                 f"capability {capability}) runs FlashAttention-2: exact "
                                 "attention in tiles, no stored score matrix, and padding-free "
                                 "rows kept apart by their position ids",
            "FlashAttention-2: flash-attn installed, compute capability >= 8.0")}
    if older is not None:
        capability = (".".join(map(str, older.compute_capability)) if older.compute_capability
                      else "unknown")
        why = (f"FlashAttention-2 needs compute capability 8.0 or newer and {older.name} has "
               f"{capability}")
    else:
        why = ("FlashAttention-2 would need the flash-attn package (pip install flash-attn "
               "--no-build-isolation)")
    return {"attn_implementation": Choice(
        "sdpa", f"PyTorch's fused scaled-dot-product attention (flash and memory-efficient "
                f"kernels, no stored score matrix); {why}",
        "PyTorch's fused SDPA kernels")}
