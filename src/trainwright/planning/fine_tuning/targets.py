"""Which layers LoRA adapts: planning's policy over the modules discovery reports."""

from __future__ import annotations

from trainwright.discovery.architecture import Architecture
from trainwright.errors import UserError
from trainwright.planning.plan import FLAG, Choice, Options


def lora_targets(architecture: Architecture, options: Options) -> Choice:
    """Every linear layer of the attention and MLP blocks, or the ones given with a flag."""
    if options.target_modules:
        given = list(options.target_modules)
        missing = architecture.unmatched_targets(given)
        if missing:
            raise UserError(
                f"The model {architecture.model_class} has no module named "
                f"{', '.join(repr(m) for m in missing)}.",
                "pass --target-modules with names it has: "
                f"{', '.join(architecture.available_targets())}.")
        return Choice(given, "given with --target-modules", "given with --target-modules",
                      source=FLAG)
    targets = architecture.targets_in_blocks()
    return Choice(targets, f"every linear layer of the attention and MLP blocks "
                           f"({len(architecture.block_linears)} in {architecture.num_layers} "
                           "blocks; QLoRA paper: adapting all of them matches full "
                           "fine-tuning, adapting only q/v does not); the output head is left "
                           f"out. Read from {architecture.source}; --target-modules overrides",
                  "every linear layer of the blocks; --target-modules overrides")


def lora_parameters(architecture: Architecture, targets: list[str], rank: int) -> int:
    return sum(rank * (layer.in_features + layer.out_features)
               for layer in architecture.matched(targets))
