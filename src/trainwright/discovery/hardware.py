"""Probe the machine once into a frozen Hardware object. Never imports torch on a CPU machine."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from trainwright.discovery.models import GPU, Hardware

NVIDIA_SMI_QUERY = "name,memory.total,compute_cap"


def parse_nvidia_smi(output: str) -> tuple[GPU, ...]:
    """Parse `nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader,nounits`."""
    gpus = []
    for line in output.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2:
            continue
        name, memory = parts[0], parts[1]
        capability = None
        if len(parts) > 2 and "." in parts[2]:
            major, minor = parts[2].split(".", 1)
            if major.isdigit() and minor.isdigit():
                capability = (int(major), int(minor))
        try:
            memory_mib = int(float(memory))
        except ValueError:
            continue
        gpus.append(GPU(name=name, memory_mib=memory_mib, compute_capability=capability))
    return tuple(gpus)


def _gpus_from_nvidia_smi() -> tuple[GPU, ...] | None:
    executable = shutil.which("nvidia-smi")
    if not executable:
        return None
    try:
        result = subprocess.run(
            [executable, f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_nvidia_smi(result.stdout) if result.returncode == 0 else None


def _gpus_from_torch() -> tuple[GPU, ...]:
    # Only reached when the NVIDIA driver is present but nvidia-smi is not on PATH.
    try:
        import torch
    except ImportError:
        return ()
    if not torch.cuda.is_available():
        return ()
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        gpus.append(GPU(props.name, props.total_memory // 2**20, (props.major, props.minor)))
    return tuple(gpus)


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _ram_mib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return 0


def probe_hardware() -> Hardware:
    gpus = _gpus_from_nvidia_smi()
    source = "nvidia-smi"
    if gpus is None:
        driver_present = Path("/proc/driver/nvidia").exists()
        gpus = _gpus_from_torch() if driver_present else ()
        source = "torch.cuda" if driver_present else "no NVIDIA driver"
    mps = platform.system() == "Darwin" and platform.machine() == "arm64"
    flags = _cpu_flags()
    return Hardware(
        gpus=gpus,
        mps=mps,
        cpu_cores=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1),
        cpu_bf16=bool(flags & {"avx512_bf16", "amx_bf16"}),
        ram_mib=_ram_mib(),
        source=source,
    )
