"""Several processes: the sharding strategy from the memory model per device, and the settings
each strategy needs. Pure: no I/O.

One process (the default): nothing here applies. Several: DDP while the whole model and its
states fit one device; else ZeRO-2 (gradients and optimizer states sharded), then full
sharding (the weights too: FSDP, or ZeRO-3 for full fine-tunes where DeepSpeed is installed);
exit 2 with the figures when not even full sharding fits. The strategy's settings go into the
training section (TrainingArguments `fsdp` / `fsdp_config` / `deepspeed`), which the Trainer
hands to accelerate, so that `torchrun` and `accelerate launch` run the same setup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from trainwright.discovery.existing import ACCELERATE_CONFIG
from trainwright.discovery.models import Hardware
from trainwright.errors import UserError
from trainwright.planning.memory import (
    USABLE_FRACTION,
    MemoryEstimate,
    ModelShape,
    TrainingSetup,
    estimate_memory,
)
from trainwright.planning.plan import FLAG, Choice, Distribution, Options

STRATEGIES = ("ddp", "fsdp", "zero2", "zero3")
DEEPSPEED_STRATEGIES = ("zero2", "zero3")
ADAPTER_METHODS = ("lora", "qlora")
TITLES = {"ddp": "DDP", "zero2": "DeepSpeed ZeRO-2", "zero3": "DeepSpeed ZeRO-3",
          "fsdp": "FSDP (full shard)"}
WHAT_IS_SHARDED = {
    "ddp": "every process holds the whole model, its gradients and optimizer states",
    "zero2": "the gradients and optimizer states are split over the processes; each keeps the "
             "whole weights",
    "zero3": "the weights, gradients and optimizer states are all split over the processes",
    "fsdp": "the weights, gradients and optimizer states are all split over the processes",
}
DS_CONFIG = "ds_config.json"


@dataclass(frozen=True)
class Layout:
    """How many processes run where, as asked (--gpus, --nodes) or detected."""

    gpus: int  # per machine
    nodes: int

    @property
    def processes(self) -> int:
        return self.gpus * self.nodes


def process_layout(options: Options, hardware: Hardware) -> Layout:
    """--gpus (default: the GPUs of the hardware planned for, or 1) x --nodes."""
    gpus = options.gpus if options.gpus is not None else max(1, len(hardware.gpus))
    return Layout(max(1, gpus), max(1, options.nodes))


def sharded_setup(setup: TrainingSetup, strategy: str, processes: int) -> TrainingSetup:
    """The memory setup of one device under a strategy."""
    stage = {"zero2": 2, "zero3": 3, "fsdp": 3}.get(strategy, 0)
    return replace(setup, devices=processes, zero_stage=stage,
                   zero_accounting=strategy in DEEPSPEED_STRATEGIES)


@dataclass(frozen=True)
class StrategyChoice:
    strategy: Choice
    setup: TrainingSetup  # the workload's setup, sharded as the strategy shards it


def _peak(shape: ModelShape, setup: TrainingSetup, strategy: str, processes: int,
          checkpointing: bool) -> MemoryEstimate:
    at = replace(sharded_setup(setup, strategy, processes), batch_size=1,
                 gradient_checkpointing=checkpointing)
    return estimate_memory(shape, at)


def _full_shard(method: str, deepspeed: bool) -> tuple[str, str]:
    """Which full sharding, and why."""
    if method in ADAPTER_METHODS:
        return "fsdp", (f"FSDP, as {method} adapters need: FSDP2 shards each parameter on its "
                        "own, so the frozen base and the trainable adapters share no flat "
                        "buffer, and peft documents this pairing")
    if not deepspeed:
        return "fsdp", "FSDP, which ships with torch (DeepSpeed is not installed)"
    return "zero3", "ZeRO-3, DeepSpeed's sibling of ZeRO-2 (DeepSpeed is installed)"


def choose_strategy(shape: ModelShape, setup: TrainingSetup, layout: Layout,
                    hardware: Hardware, asked: str | None, deepspeed: bool) -> StrategyChoice:
    """DDP when one device holds the model, its states and a batch of one; else the least
    sharding that fits (without gradient checkpointing first, then with it)."""
    processes = layout.processes
    if not hardware.gpus:
        if asked not in (None, "ddp"):
            raise UserError(f"--strategy {asked} shards over GPUs; this plan runs {processes} "
                            "CPU processes (gloo), where only DDP applies.",
                            "drop --strategy, or plan for GPUs with --target-gpu NAME.")
        return StrategyChoice(Choice("ddp", f"{processes} CPU processes (gloo backend): DDP, "
                                            "every process holds the whole model; memory is "
                                            "not the limit on CPU",
                                     "how the processes share the work",
                                     source=FLAG if asked else "planned"), setup)
    gpu = hardware.gpus[0]
    budget = USABLE_FRACTION * gpu.memory_mib
    where = f"{gpu.memory_mib:,} MiB of {gpu.name}"

    def peak(strategy: str, checkpointing: bool = False) -> float:
        return _peak(shape, setup, strategy, processes, checkpointing).total_mib

    if asked:
        return _asked(asked, shape, setup, layout, hardware, deepspeed)
    full, full_reason = _full_shard(setup.method, deepspeed)
    order = ["ddp"] + (["zero2"] if deepspeed and setup.method not in ADAPTER_METHODS
                       else []) + [full]
    for checkpointing in (False, True):
        for strategy in order:
            if peak(strategy, checkpointing) > budget:
                continue
            ddp = peak("ddp", checkpointing)
            with_checkpointing = " with gradient checkpointing" if checkpointing else ""
            if strategy == "ddp":
                reason = (f"{TITLES['ddp']}: the whole model, its gradients, optimizer states "
                          f"and a batch of one fit one GPU{with_checkpointing} (about "
                          f"{ddp:,.0f} MiB of {where}), so nothing needs sharding; "
                          f"{WHAT_IS_SHARDED['ddp']} (--strategy overrides)")
            else:
                why = full_reason if strategy == full else (
                    "ZeRO-2: sharding the gradients and optimizer states is enough, and keeps "
                    "the weights whole, so no layer has to be gathered")
                reason = (f"{TITLES[strategy]}: DDP needs about {ddp:,.0f} MiB a GPU at batch "
                          f"1{with_checkpointing}, more than 90 % of {where}; {why}, which "
                          f"brings it to about {peak(strategy, checkpointing):,.0f} MiB over "
                          f"{processes} processes; {WHAT_IS_SHARDED[strategy]} "
                          "(--strategy overrides)")
            return StrategyChoice(Choice(strategy, reason, "how the processes share the model"),
                                  setup)
    worst = _peak(shape, setup, full, processes, True)
    raise UserError(
        f"Even fully sharded ({TITLES[full]}) over {processes} processes, one example of "
        f"{setup.sequence_length} tokens with gradient checkpointing needs about "
        f"{worst.total_mib:,.0f} MiB a GPU ({_top_components(worst)}), more than 90 % of "
        f"{where}; no config was written.",
        "use more GPUs (--gpus N, --nodes M), shorter examples, QLoRA (--method qlora) or a "
        "smaller model (--model).")


def _top_components(estimate: MemoryEstimate) -> str:
    largest = sorted(estimate.components.items(), key=lambda item: -item[1])[:3]
    return ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in largest)


def _asked(asked: str, shape: ModelShape, setup: TrainingSetup, layout: Layout,
           hardware: Hardware, deepspeed: bool) -> StrategyChoice:
    """--strategy, checked: it must fit, and QLoRA shards only where its 4-bit weights can."""
    gpu = hardware.gpus[0]
    processes = layout.processes
    budget = USABLE_FRACTION * gpu.memory_mib
    plain = _peak(shape, setup, asked, processes, False).total_mib
    checkpointed = _peak(shape, setup, asked, processes, True).total_mib
    if checkpointed > budget:
        fitting = [s for s in STRATEGIES if s != asked
                   and _peak(shape, setup, s, processes, True).total_mib <= budget]
        raise UserError(
            f"--strategy {asked}: one example of {setup.sequence_length} tokens needs about "
            f"{checkpointed:,.0f} MiB a GPU even with gradient checkpointing over {processes} "
            f"processes, more than 90 % of the {gpu.memory_mib:,} MiB of {gpu.name}.",
            (f"use --strategy {fitting[0]}" if fitting else "use more GPUs (--gpus N, --nodes "
             "M) or a smaller model") + ".")
    notes = [(f"given with --strategy; about {plain:,.0f} MiB a GPU at batch 1 over {processes} "
             f"processes ({WHAT_IS_SHARDED[asked]})")]
    if asked in DEEPSPEED_STRATEGIES and not deepspeed:
        notes.append("DeepSpeed is not installed here: requirements-training.txt lists it")
    if asked == "zero2" and setup.method in ADAPTER_METHODS:
        notes.append(f"with {setup.method} only the small adapter's gradients and states are "
                     "sharded; the frozen base is whole on every GPU")
    if asked in ("zero3", "fsdp") and setup.method == "qlora":
        notes.append("the 4-bit weights are stored as the compute dtype "
                     "(quantization.bnb_4bit_quant_storage) so that they can be sharded")
    return StrategyChoice(Choice(asked, "; ".join(notes), "given with --strategy",
                                 source=FLAG), setup)


# ---------------------------------------------------------------------------------------------
# What each strategy writes
# ---------------------------------------------------------------------------------------------

def beside(config_path: str, name: str) -> str:
    """A launcher file next to training_config.yaml (the commands run from the project root)."""
    folder = PurePosixPath(config_path).parent
    return name if str(folder) == "." else str(folder / name)


def distribution(layout: Layout, strategy: Choice, hardware: Hardware, config_path: str,
                 layer_class: str | None) -> Distribution:
    return Distribution(
        gpus=layout.gpus, nodes=layout.nodes, strategy=strategy.value,
        on_gpu=bool(hardware.gpus), accelerate_config=beside(config_path, ACCELERATE_CONFIG),
        ds_config=beside(config_path, DS_CONFIG) if strategy.value in DEEPSPEED_STRATEGIES
        else None,
        layer_class=layer_class if strategy.value == "fsdp" else None)


def distributed_section(plan: Distribution, strategy: Choice,
                        options: Options) -> dict[str, Choice]:
    """The `distributed:` section of training_config.yaml (train.py ignores it)."""
    machines = "one machine" if plan.nodes == 1 else f"{plan.nodes} machines"
    devices = "GPUs" if plan.on_gpu else "CPU processes"
    gpus = (f"{plan.gpus} {devices} a machine, given with --gpus" if options.gpus is not None
            else f"{plan.gpus} {devices} a machine, as detected (--gpus overrides)")
    return {
        "gpus": Choice(plan.gpus, gpus, "processes a machine (--gpus)",
                       source=FLAG if options.gpus is not None else "planned"),
        "nodes": Choice(plan.nodes, f"{machines} (--nodes)", "machines (--nodes)",
                        source=FLAG if options.nodes > 1 else "planned"),
        "strategy": strategy,
        "accelerate_config": Choice(plan.accelerate_config,
                                    "how `accelerate launch` starts the processes",
                                    "read by accelerate launch --config_file"),
    }


def training_choices(plan: Distribution, *, checkpointing: Choice | None,
                     transformers_target: tuple[int, ...]) -> dict[str, Choice]:
    """The TrainingArguments keys of the strategy; ``checkpointing`` is the plan's gradient
    checkpointing (FSDP does its own, so it moves into fsdp_config)."""
    if plan.strategy == "ddp":
        choices = {"ddp_find_unused_parameters": Choice(
            False, "every trainable parameter gets a gradient in each step (frozen ones do not "
                   "require one, so DDP never waits for them): skipping DDP's search of the "
                   "autograd graph for unused parameters makes each step faster; set it to true "
                   "only if DDP reports parameters that did not receive a gradient",
            "false: every trainable parameter gets a gradient (faster)")}
        if not plan.on_gpu:
            choices["use_cpu"] = Choice(
                True, "CPU processes join over gloo only when TrainingArguments runs on the CPU; "
                      "without use_cpu each process would train alone",
                "several CPU processes join over gloo")
        if checkpointing is not None and checkpointing.value and transformers_target < (5, 0):
            choices["gradient_checkpointing_kwargs"] = Choice(
                {"use_reentrant": False},
                "DDP with gradient checkpointing needs the non-reentrant variant; transformers "
                "before 5 defaults to the reentrant one", "DDP needs non-reentrant checkpointing")
        return choices
    if plan.strategy in DEEPSPEED_STRATEGIES:
        return {"deepspeed": Choice(
            plan.ds_config, f"{TITLES[plan.strategy]}: the DeepSpeed config; its batch, "
                            "accumulation, precision and clipping are \"auto\", filled in from "
                            "these TrainingArguments, and it names no optimizer or scheduler, so "
                            "the Trainer builds them from optim and lr_scheduler_type",
            "DeepSpeed config; its shared fields are \"auto\"")}
    return {"fsdp": Choice("full_shard", "FSDP full shard: weights, gradients and optimizer "
                                         "states split over the processes (like ZeRO-3)",
                           "full_shard: weights, gradients and optimizer states sharded"),
            "fsdp_config": fsdp_config(plan, checkpointing)}


def fsdp_config(plan: Distribution, checkpointing: Choice | None) -> Choice:
    """fsdp_config with a reason per key (rendered beside each key in the YAML)."""
    recompute = bool(checkpointing and checkpointing.value)
    items: list[tuple[str, object, str]] = [
        ("version", 2, "FSDP2: per-parameter sharding, transformers 5's default"),
        ("auto_wrap_policy", "TRANSFORMER_BASED_WRAP",
         "one FSDP unit per transformer block: a block's weights are gathered only while it runs"),
    ]
    if plan.layer_class:
        items.append(("transformer_layer_cls_to_wrap", [plan.layer_class],
                      "the model's block class, read from its architecture"))
    items += [
        ("activation_checkpointing", recompute,
         ("on: " + checkpointing.short if recompute and checkpointing else
          "off: the activations fit") + "; FSDP's own recomputation, which avoids the second "
         "all-gather that training.gradient_checkpointing would add"),
        ("state_dict_type", "SHARDED_STATE_DICT",
         ("checkpoints written by every process in parallel; train.py switches to "
         "FULL_STATE_DICT for the final save, so the output folder loads with from_pretrained")),
        ("cpu_ram_efficient_loading", True,
         "the first process loads the weights, the others receive them: one copy in CPU RAM"),
        ("reshard_after_forward", True, "full shard: weights freed after each block's forward"),
    ]
    value = {key: item for key, item, _ in items}
    reason = "; ".join(f"{key}: {why}" for key, _, why in items)
    if not plan.layer_class:
        reason += ("; the block class could not be read (no local model), so FSDP wraps the "
                   "model's _no_split_modules")
    return Choice(value, reason, "FSDP settings, passed to accelerate's FSDP plugin",
                  parts=tuple((key, why) for key, _, why in items))


def quantization_choices(strategy: str, compute_dtype: str) -> dict[str, Choice]:
    """QLoRA sharded by FSDP / ZeRO-3: the 4-bit weights stored as a float type they shard as."""
    if strategy not in ("fsdp", "zero3"):
        return {}
    return {"bnb_4bit_quant_storage": Choice(
        compute_dtype, f"{TITLES[strategy]} shards only floating-point tensors: the packed 4-bit "
                       f"weights are stored as {compute_dtype}, the compute dtype, so that they "
                       "shard like the 16-bit embeddings (bitsandbytes' FSDP-QLoRA guide)",
        "packed 4-bit weights stored as the compute dtype, so they shard")}
