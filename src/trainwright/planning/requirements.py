"""requirements-training.txt: what the generated script needs, compatible with what is installed."""

from __future__ import annotations

from trainwright.discovery.models import ProjectFacts
from trainwright.discovery.pins import Pin, allowed
from trainwright.planning.plan import Choice
from trainwright.planning.versions import major_minor, version_tuple

# (package, lowest version the generated scripts support)
SCRIPT_REQUIREMENTS = (
    ("torch", "2.2"),
    ("transformers", "4.46"),
    ("datasets", "2.19"),
    ("accelerate", "0.34"),
    ("scikit-learn", "1.3"),
    ("numpy", "1.24"),
    ("pyyaml", "6.0"),
    ("optuna", "4.0"),  # the journal storage of --storage
)


def requirement_line(name: str, minimum: str, installed: str | None) -> str:
    if name == "torch" or installed is None:
        # torch stays a range: pinning it would replace a working CUDA or CPU build.
        return f"{name}>={minimum}"
    major = version_tuple(installed)[0]
    return f"{name}>={major_minor(installed)},<{major + 1}"


def pinned_line(pin: Pin, minimum: str) -> str:
    """The project's own transformers pin, so the two files never disagree; with the lowest
    version the scripts support added where the pin allows older ones."""
    from trainwright.planning.target import OLDER_RELEASES

    floor = f",>={minimum}" if allowed(pin, OLDER_RELEASES) else ""
    return f"transformers{pin.specifier}{floor}"


def training_requirements(facts: ProjectFacts, report_to: str) -> tuple[str, ...]:
    pins = facts.dependencies.pins
    lines = [pinned_line(pins[0], minimum) if name == "transformers" and pins else
             requirement_line(name, minimum, facts.dependencies.version(name))
             for name, minimum in SCRIPT_REQUIREMENTS]
    if report_to in {"tensorboard", "wandb"}:
        lines.append(requirement_line(report_to, "2.0" if report_to == "tensorboard" else "0.16",
                                      facts.dependencies.version(report_to)))
    return tuple(lines)


def kernel_requirements(facts: ProjectFacts, sections: dict[str, dict[str, Choice]]
                        ) -> tuple[str, ...]:
    """The packages of the planned kernels: liger-kernel for training.use_liger_kernel,
    flash-attn for model.attn_implementation flash_attention_2."""
    lines = []
    liger = sections.get("training", {}).get("use_liger_kernel")
    if liger is not None and liger.value is True:
        lines.append(requirement_line("liger-kernel", "0.3",
                                      facts.dependencies.version("liger-kernel")))
    attention = sections.get("model", {}).get("attn_implementation")
    if attention is not None and attention.value == "flash_attention_2":
        lines.append(requirement_line("flash-attn", "2.6", facts.dependencies.version("flash-attn")))
    return tuple(lines)


CPU_TORCH = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def install_commands(facts: ProjectFacts) -> tuple[str, ...]:
    """How to install what train.py needs on the machine it was planned for: an installed
    torch is kept (the requirement is a range it meets); without one, a machine with no CUDA
    GPU gets the CPU build first, because plain `pip install torch` takes a CUDA build of
    several GB."""
    install = "pip install -r requirements-training.txt"
    if facts.dependencies.version("torch") or facts.hardware.gpus or facts.hardware.mps:
        return (install,)
    return (CPU_TORCH, install)
