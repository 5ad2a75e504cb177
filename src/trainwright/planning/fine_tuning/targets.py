"""Which layers LoRA adapts: planning's policy over the modules discovery reports."""

from __future__ import annotations

from trainwright.discovery.architecture import Architecture
from trainwright.errors import UserError
from trainwright.planning.foreign import ALL_LINEAR, Imported
from trainwright.planning.plan import FLAG, IMPORTED, Choice, Options


def lora_targets(architecture: Architecture, options: Options,
                 imported: Imported | None = None) -> Choice:
    """Every linear layer of the attention and MLP blocks, or the ones given with a flag, or
    the ones a config of another tool names (``imported``; 'all' is every linear layer)."""
    named = imported is not None and imported.value != ALL_LINEAR
    if options.target_modules or named:
        given = list(options.target_modules) or list(imported.value)
        how = "given with --target-modules" if options.target_modules else imported.where
        missing = architecture.unmatched_targets(given)
        if missing:
            raise UserError(
                f"The model {architecture.model_class} has no module named "
                f"{', '.join(repr(m) for m in missing)} ({how}).",
                "pass --target-modules with names it has: "
                f"{', '.join(architecture.available_targets())}.")
        return Choice(given, how, how, source=FLAG if options.target_modules else IMPORTED)
    targets = targets_in_blocks(architecture)
    return Choice(targets, f"every linear layer of the attention and MLP blocks "
                           f"({len(architecture.block_linears)} in {architecture.num_layers} "
                           "blocks; QLoRA paper: adapting all of them matches full "
                           "fine-tuning, adapting only q/v does not); the output head is left "
                           f"out. Read from {architecture.source}; --target-modules overrides",
                  "every linear layer of the blocks; --target-modules overrides")


def targets_in_blocks(architecture: Architecture) -> list[str]:
    """The shortest names that pick every linear layer of the blocks and nothing outside
    them: the leaf name (q_proj) where it is unique to the blocks, else its path inside a
    block (attention.output.dense, because BERT's pooler is also called dense)."""
    outside = {name.rsplit(".", 1)[-1] for name in architecture.other_linears}
    prefix = f"{architecture.layers_module}."
    targets: dict[str, None] = {}
    for layer in architecture.block_linears:
        if layer.leaf not in outside:
            targets[layer.leaf] = None
        else:  # drop "<layers_module>.<index>."
            targets[layer.name[len(prefix):].split(".", 1)[1]] = None
    return list(targets)


def lora_parameters(architecture: Architecture, targets: list[str], rank: int) -> int:
    return sum(rank * (layer.in_features + layer.out_features)
               for layer in architecture.matched(targets))
