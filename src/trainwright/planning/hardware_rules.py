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


def compile_choice(hardware: Hardware, fixed_shapes: bool, total_steps: int) -> dict[str, Choice]:
    """torch.compile only where it pays: fixed shapes, a GPU and a run long enough to repay
    a minute or two of compilation."""
    if not hardware.gpus:
        return {"torch_compile": Choice(False, "compilation pays on GPUs, not on CPU",
                                        "compilation pays on GPUs, not on CPU")}
    if not fixed_shapes:
        return {"torch_compile": Choice(False, "dynamic padding makes batch shapes vary, and "
                                               "every new shape would recompile",
                                               "padded batches vary in shape: each recompiles")}
    if total_steps < 1000:
        return {"torch_compile": Choice(False, f"{total_steps} planned steps do not repay the "
                                               "compile time",
                                               "a short run does not repay the compile time")}
    return {"torch_compile": Choice(True, f"fixed-shape blocks on a GPU for {total_steps:,} "
                                          "steps: compiling once repays itself",
                                          "fixed-shape blocks on a GPU: compiling repays itself")}


def liger_choice(facts: ProjectFacts, model_type: str | None) -> dict[str, Choice]:
    """Liger kernels for causal LMs of a supported architecture on CUDA, when installed."""
    if not facts.hardware.gpus or model_type not in LIGER_MODEL_TYPES:
        return {}
    if facts.dependencies.version("liger-kernel"):
        return {"use_liger_kernel": Choice(True, "fused RMSNorm, RoPE, SwiGLU and a chunked "
                                                 "cross-entropy that never holds all logits",
                                                 "fused kernels, chunked cross-entropy")}
    return {"use_liger_kernel": Choice(False, "pip install liger-kernel to fuse the "
                                              f"{model_type} kernels and cut logits memory",
                                              "pip install liger-kernel for fused kernels")}


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


def attention_choice() -> dict[str, Choice]:
    return {"attn_implementation": Choice(
        None, "null lets transformers use PyTorch's fused scaled-dot-product attention (SDPA: "
              "flash and memory-efficient kernels, no stored attention matrix) for every model "
              "that supports it and eager attention otherwise; 'flash_attention_2' needs the "
              "flash-attn package, 'eager' helps debugging",
        "null: transformers picks fused SDPA; or eager, flash_attention_2")}
