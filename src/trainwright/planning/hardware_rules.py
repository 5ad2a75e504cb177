"""Throughput choices that depend on the hardware and installed versions."""

from __future__ import annotations

from trainwright.discovery.models import Hardware, ProjectFacts
from trainwright.planning.plan import Choice


def _version_tuple(version: str | None) -> tuple[int, ...]:
    if not version:
        return ()
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def optimizer_choice(facts: ProjectFacts) -> dict[str, Choice]:
    torch_version = _version_tuple(facts.dependencies.version("torch"))
    if not torch_version or torch_version >= (2, 4):
        return {"optim": Choice("adamw_torch_fused", "the fused AdamW kernel updates all "
                                "parameters in one launch (CPU and CUDA, torch >= 2.4)")}
    return {"optim": Choice("adamw_torch", "torch < 2.4 has no fused AdamW on every device")}


def dataloader_choices(hardware: Hardware) -> dict[str, Choice]:
    if hardware.gpus:
        workers = max(1, min(4, hardware.cpu_cores // max(1, 2 * len(hardware.gpus))))
        return {
            "dataloader_num_workers": Choice(workers, f"{hardware.cpu_cores} CPU cores: "
                                             f"{workers} worker(s) per GPU keep it fed"),
            "dataloader_pin_memory": Choice(True, "pinned host memory speeds copies to the GPU"),
        }
    return {
        "dataloader_num_workers": Choice(0, "CPU training: worker processes would compete "
                                            "with the compute threads for the same cores"),
        "dataloader_pin_memory": Choice(False, "no GPU to copy to"),
    }
