"""A model's modules, read on the meta device from its config.json: no weights are loaded.

Fine-tuning needs to know which linear layers sit in the repeated transformer blocks (the LoRA
targets), which modules form the task head (trained and saved beside an adapter), and how the
parameters split over embeddings, blocks and head (what freezing layers leaves trainable).
"""

from __future__ import annotations

from dataclasses import dataclass

from trainwright.discovery.model import ModelFacts


@dataclass(frozen=True)
class LinearLayer:
    name: str  # full module name, e.g. model.layers.0.self_attn.q_proj
    in_features: int
    out_features: int
    transposed: bool = False  # GPT-2's Conv1D stores the weight as (in, out)

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Architecture:
    model_class: str
    total_parameters: int
    layers_module: str  # the stack of transformer blocks, e.g. model.layers
    num_layers: int
    layer_parameters: int  # parameters of one block
    block_linears: tuple[LinearLayer, ...]  # linear layers inside the blocks
    other_linears: tuple[str, ...]  # linear layers outside them (heads, poolers)
    embedding_modules: tuple[str, ...]
    embedding_parameters: int
    head_modules: tuple[str, ...]  # top-level modules outside the base model (lm_head, score)
    head_parameters: int  # parameters of the head that are not shared with the embeddings
    source: str
    layer_class: str = ""  # the class of one block (LlamaDecoderLayer, BertLayer): FSDP wraps it

    def linear_names(self) -> list[str]:
        return [layer.name for layer in self.block_linears] + list(self.other_linears)

    def matched(self, targets: list[str]) -> list[LinearLayer]:
        """The block linears a LoRA target list selects (peft's rule: the whole name or a
        suffix after a dot)."""
        return [layer for layer in self.block_linears
                if any(layer.name == t or layer.name.endswith("." + t) for t in targets)]

    def unmatched_targets(self, targets: list[str]) -> list[str]:
        names = self.linear_names()
        return [t for t in targets
                if not any(name == t or name.endswith("." + t) for name in names)]

    def available_targets(self) -> list[str]:
        """Every linear layer's leaf name, blocks first (for error messages)."""
        leaves = [layer.leaf for layer in self.block_linears]
        leaves += [name.rsplit(".", 1)[-1] for name in self.other_linears]
        return list(dict.fromkeys(leaves))


class ArchitectureUnavailable(Exception):
    """The model's config cannot be read here (not local, not cached, or no torch)."""


def inspect_architecture(model: ModelFacts, head: str, num_labels: int = 2) -> Architecture:
    """Build the model on the meta device from its config and read its modules.

    ``head`` is ``causal_lm`` or ``sequence_classification``. Raises ArchitectureUnavailable
    with the reason when torch / transformers are missing or the config cannot be read.
    """
    try:
        import torch
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForSequenceClassification,
        )
        from transformers.pytorch_utils import Conv1D
    except ImportError as error:
        raise ArchitectureUnavailable(f"{error.name} is not installed") from error
    location = model.local_path or model.name_or_path
    try:
        config = AutoConfig.from_pretrained(location, num_labels=num_labels)
    except Exception as error:  # offline hub, missing file, unknown model_type
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ArchitectureUnavailable(f"its config.json could not be read ({first_line[:160]})"
                                      ) from error
    auto = AutoModelForCausalLM if head == "causal_lm" else AutoModelForSequenceClassification
    try:
        with torch.device("meta"):
            network = auto.from_config(config)
    except Exception as error:  # an architecture without this head
        raise ArchitectureUnavailable(f"transformers cannot build {type(config).__name__} "
                                      f"with a {head} head ({error})") from error

    layers_name, layers = max(
        ((name, module) for name, module in network.named_modules()
         if isinstance(module, torch.nn.ModuleList) and len(module) > 0),
        key=lambda item: sum(p.numel() for p in item[1].parameters()),
        default=("", None))
    if layers is None:
        raise ArchitectureUnavailable(f"{type(network).__name__} has no stack of blocks")
    inside, outside = [], []
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.Linear):
            layer = LinearLayer(name, module.in_features, module.out_features)
        elif isinstance(module, Conv1D):
            layer = LinearLayer(name, module.weight.shape[0], module.weight.shape[1], True)
        else:
            continue
        (inside if name.startswith(layers_name + ".") else outside).append(layer)
    base_prefix = getattr(network, "base_model_prefix", "")
    head_modules = tuple(name for name, child in network.named_children()
                         if name != base_prefix and any(True for _ in child.parameters()))
    embeddings = tuple(name for name, module in network.named_modules()
                       if isinstance(module, torch.nn.Embedding))
    shared = {id(p) for name in embeddings for p in network.get_submodule(name).parameters()}
    head_parameters = sum(p.numel() for name in head_modules
                          for p in network.get_submodule(name).parameters()
                          if id(p) not in shared)
    return Architecture(
        model_class=type(network).__name__,
        total_parameters=sum(p.numel() for p in network.parameters()),
        layers_module=layers_name,
        num_layers=len(layers),
        layer_parameters=sum(p.numel() for p in layers[0].parameters()),
        block_linears=tuple(inside),
        other_linears=tuple(layer.name for layer in outside),
        embedding_modules=embeddings,
        embedding_parameters=sum(p.numel() for name in embeddings
                                 for p in network.get_submodule(name).parameters()),
        head_modules=head_modules,
        head_parameters=head_parameters,
        source=f"{type(network).__name__} built on the meta device from "
               f"{model.name_or_path}/config.json (no weights loaded)",
        layer_class=type(layers[0]).__name__,
    )
