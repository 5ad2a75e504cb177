"""The rules every training type shares, written once.

A task planner (classification.py, generation.py, fine_tuning/) builds its data section and
says what differs for its task (the learning rate, the epochs, the metric, the memory setup);
everything else comes from here: the batch that fits the memory, the cadence of evaluation,
saving and logging, warmup and scheduler keys for the installed transformers, precision and
the hardware settings, early stopping, the shared search parameters and the Plan itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from trainwright import __version__
from trainwright.discovery.architecture import Architecture
from trainwright.discovery.availability import download_fix
from trainwright.discovery.local_models import MODEL_PACKAGES
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import Hardware, ProjectFacts
from trainwright.errors import UserError
from trainwright.planning.defaults import TABLES, default
from trainwright.planning.distributed import (
    choose_strategy,
    distributed_section,
    distribution,
    process_layout,
    quantization_choices,
    sharded_setup,
    training_choices,
)
from trainwright.planning.existing import keep_existing_values
from trainwright.planning.foreign import apply_imports, import_rows, imports_for
from trainwright.planning.hardware_rules import (
    compile_choice,
    dataloader_choices,
    optimizer_choice,
)
from trainwright.planning.layout import file_layout
from trainwright.planning.memory import BatchFit, ModelShape, TrainingSetup, fit_batch
from trainwright.planning.model_choice import wants_decoder
from trainwright.planning.plan import (
    FLAG,
    PLANNED,
    Choice,
    Distribution,
    Options,
    Plan,
    Script,
    SearchParameter,
    SearchSpace,
)
from trainwright.planning.precision import choose_precision
from trainwright.planning.requirements import (
    install_commands,
    requirement_line,
    training_requirements,
)
from trainwright.planning.selection import DataSelection
from trainwright.planning.speed import tokens_seen_choice
from trainwright.planning.versions import version_tuple


@dataclass(frozen=True)
class PlanInputs:
    """Everything a task planner reads, gathered once per init."""

    task: str
    facts: ProjectFacts
    options: Options
    data: DataSelection
    model_choice: Choice  # the model's name, why it was chosen and where that came from
    model: ModelFacts
    token_lengths: list[int] | None = None
    architecture: Architecture | None = None  # fine-tuning: the model's modules

    @property
    def table(self) -> dict[str, Any]:
        return TABLES[self.task]

    @property
    def fields(self) -> set[str]:
        """The TrainingArguments fields of the targeted transformers."""
        return set(self.facts.dependencies.training_argument_fields)

    @property
    def has_validation_split(self) -> bool:
        return self.data.validation is not None

    def training_share(self, count: int, data: dict[str, Choice]) -> int:
        """How many of count examples train: all of them when the project has a validation
        split, else what the data section's validation_fraction leaves."""
        if self.has_validation_split:
            return count
        return int(count * (1 - data["validation_fraction"].value))


# ---------------------------------------------------------------------------------------------
# Descriptions shared by the plans
# ---------------------------------------------------------------------------------------------

def format_count(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.1f} B"
    if count >= 1e6:
        return f"{count / 1e6:.1f} M"
    return f"{count / 1e3:.0f} K"


def hardware_text(hardware: Hardware) -> str:
    if hardware.gpus:
        return ", ".join(f"{g.name} ({g.memory_mib:,} MiB)" for g in hardware.gpus)
    return (f"{hardware.accelerator.upper()}, {hardware.cpu_cores} cores, "
            f"{hardware.ram_mib:,} MiB RAM")


def model_name_choice(inputs: PlanInputs) -> Choice:
    """model.name_or_path with the reason it was chosen, its size and where it loads from."""
    model, chosen = inputs.model, inputs.model_choice
    size = f"{format_count(model.num_parameters)} parameters, " if model.num_parameters else ""
    where = model.availability.detail if model.availability else (
        "a local folder" if model.local_path else "from the Hugging Face Hub")
    return replace(chosen, value=model.name_or_path, reason=f"{chosen.reason} ({size}{where})")


# ---------------------------------------------------------------------------------------------
# Batch size against the memory model
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    """What a task planner tells the batch rule about one training example."""

    effective_batch: int
    effective_batch_reason: str  # "an effective batch of 16 for 540 training rows"
    sequence: int  # tokens per example
    length_key: str  # the data key that sets sequence, for the no-fit advice
    shape: ModelShape
    setup: TrainingSetup = field(default_factory=lambda: TrainingSetup(1, 0, True))
    # Ways out tried before the shared ones (shorter examples, a bigger GPU, a smaller model).
    ideas: tuple[str, ...] = ()
    # A checkpointing choice the method always makes (QLoRA), whatever the fit.
    gradient_checkpointing: Choice | None = None


@dataclass(frozen=True)
class BatchPlan:
    choices: dict[str, Choice]
    effective: int  # examples per optimiser step over all devices
    fit: BatchFit | None  # None on CPU, where memory is not the limit
    distribution: Distribution | None = None  # several processes; None: one
    strategy: Choice | None = None  # with several processes: ddp | zero2 | zero3 | fsdp


def imported_effective_batch(inputs: PlanInputs) -> tuple[int, str] | None:
    """The effective batch of a config of another tool (its per-device batch x accumulation),
    which the memory plan then splits for this hardware."""
    imports = imports_for(inputs.facts, inputs.task, inputs.options.import_from)
    batch = imports.get("training", "per_device_train_batch_size")
    steps = imports.get("training", "gradient_accumulation_steps")
    if batch is None or not isinstance(batch.value, int) or batch.value < 1:
        return None
    accumulation = steps.value if steps and isinstance(steps.value, int) and steps.value > 0 \
        else 1
    target = batch.value * accumulation
    where = f"{batch.where} {batch.value}" + (f" x {steps.foreign_key} {accumulation}"
                                             if steps else "")
    return target, f"the effective batch of {target} ({where})"


def plan_batch(inputs: PlanInputs, workload: Workload) -> BatchPlan:
    """Per-device batch and accumulation that reach the effective batch within the memory of
    each device; with several processes, the strategy that shards what does not fit one."""
    hardware, table, options = inputs.facts.hardware, inputs.table, inputs.options
    imported = imported_effective_batch(inputs)
    target, reason = imported or (workload.effective_batch, workload.effective_batch_reason)
    checkpointing = workload.gradient_checkpointing
    layout = process_layout(options, hardware)
    processes = layout.processes
    setup = replace(workload.setup, batch_size=1, sequence_length=workload.sequence)
    strategy = None
    if options.strategy and processes == 1:
        raise UserError(f"--strategy {options.strategy} shares the work of several processes; "
                        "this plan has one.", "add --gpus N (and --nodes M), or drop --strategy.")
    if processes > 1:
        strategy = choose_strategy(workload.shape, setup, layout, hardware, options.strategy,
                                   bool(inputs.facts.dependencies.version("deepspeed"))).strategy
        setup = sharded_setup(setup, strategy.value, processes)
    per_process = max(1, round(target / processes))
    if per_process * processes != target:
        reason += (f", rounded to {per_process * processes} to split evenly over {processes} "
                   "processes")
    fit = None
    if not hardware.gpus:
        # The largest per-device batch up to the CPU's that divides the target exactly.
        per_device = max(size for size in range(1, min(per_process, table["cpu_batch"]) + 1)
                         if per_process % size == 0)
        accumulation = per_process // per_device
        reason += (f", kept as {per_device} per device x {accumulation} accumulation"
                   if imported or processes > 1 else "")
        reason += (f" x {processes} processes" if processes > 1 else "")
        reason += f"; on {hardware.accelerator.upper()} memory is not the limit"
    else:
        gpu = hardware.gpus[0]
        fit = fit_batch(workload.shape, setup, per_process * processes, gpu.memory_mib,
                        processes)
        if not fit.fits:
            method = f" with {setup.method}" if setup.method != "full" else ""
            raise UserError(
                f"Even one example of {workload.sequence} tokens{method} with gradient "
                f"checkpointing needs about {fit.estimate.total_mib:,.0f} MiB, more than 90 % "
                f"of the {gpu.memory_mib:,} MiB of {gpu.name}; no config was written.",
                _no_fit_advice(inputs, workload, setup, gpu.memory_mib))
        per_device, accumulation = fit.per_device, fit.accumulation
        devices = (f"{processes} GPU(s)" if layout.nodes == 1 else
                   f"{processes} GPUs ({layout.gpus} a machine x {layout.nodes} machines)")
        shared = f" under {strategy.value}" if strategy else ""
        reason += (f": {per_device} per device x {accumulation} accumulation x {devices}; "
                   f"estimated peak {fit.estimate.total_mib:,.0f} MiB{shared} of "
                   f"{gpu.memory_mib:,} MiB on {gpu.name} at length {workload.sequence}")
        if checkpointing is None and fit.gradient_checkpointing:
            checkpointing = Choice(
                True, f"without it not even one example fits in {gpu.memory_mib:,} MiB; it "
                      "trades about 30 % speed for activation memory",
                "recomputes activations: about 30 % slower, far less memory")
    eval_factor = table["eval_batch_factor"]
    eval_reason = ("evaluation keeps no gradients, so twice the training batch fits"
                   if eval_factor > 1 else "the same as training")
    choices = {
        "per_device_train_batch_size": Choice(per_device, reason,
                                              "examples per device and step"),
        "gradient_accumulation_steps": Choice(accumulation, reason, "effective batch = "
                                              "per-device batch x this x GPUs"),
        "per_device_eval_batch_size": Choice(per_device * eval_factor, eval_reason,
                                             eval_reason),
    }
    spread = None
    if strategy is not None:
        layer = inputs.architecture.layer_class if inputs.architecture else None
        spread = distribution(layout, strategy, hardware,
                              file_layout(inputs.facts, inputs.task, options)[0], layer or None)
        target_release = version_tuple(inputs.facts.dependencies.transformers_target)
        choices.update(training_choices(spread, checkpointing=checkpointing,
                                        transformers_target=target_release))
        if spread.strategy == "fsdp":
            checkpointing = None  # FSDP's own (fsdp_config.activation_checkpointing)
    if checkpointing is not None:
        choices["gradient_checkpointing"] = checkpointing
    return BatchPlan(choices, per_device * accumulation * processes, fit, spread, strategy)


def _no_fit_advice(inputs: PlanInputs, workload: Workload, setup: TrainingSetup,
                   memory_mib: int) -> str:
    from trainwright.planning.gpus import GPU_TABLE

    def fits(sequence: int, memory: int) -> bool:
        at = replace(setup, sequence_length=sequence)
        return fit_batch(workload.shape, at, 1, memory).fits

    ideas = list(workload.ideas)
    shorter = workload.sequence // 2
    while shorter >= inputs.table["min_length"]:
        if fits(shorter, memory_mib):
            ideas.append(f"shorter examples ({workload.length_key} {shorter} fits)")
            break
        shorter //= 2
    bigger = next((key for key, spec in sorted(GPU_TABLE.items(), key=lambda g: g[1].memory_mib)
                   if spec.memory_mib > memory_mib and fits(workload.sequence, spec.memory_mib)),
                  None)
    if bigger:
        ideas.append(f"a bigger GPU (--target-gpu {bigger} fits)")
    ideas.append("a smaller model (--model)")
    return "use " + "; or ".join(ideas) + "."


# ---------------------------------------------------------------------------------------------
# The training section
# ---------------------------------------------------------------------------------------------

def cadence(train_rows: int, effective_batch: int) -> tuple[dict[str, Choice], int]:
    """Evaluation, saving and logging cadence, and the optimiser steps per epoch."""
    steps_per_epoch = max(1, math.ceil(train_rows / effective_batch))
    logging_steps = max(1, min(50, steps_per_epoch // 4))
    saved = "saved when evaluated, so the best checkpoint can be restored"
    choices: dict[str, Choice] = {}
    if steps_per_epoch <= 1000:
        choices["eval_strategy"] = Choice(
            "epoch", f"{steps_per_epoch} steps per epoch: evaluating once per epoch is frequent "
                     "enough and cheap", "once per epoch: frequent enough for short epochs")
        choices["save_strategy"] = Choice("epoch", saved, saved)
    else:
        interval = max(100, min(2000, round(steps_per_epoch / 4, -2)))
        reason = (f"{steps_per_epoch} steps per epoch: evaluating every {interval} steps "
                  "(about 4 times an epoch) catches the best point without slowing training")
        choices["eval_strategy"] = Choice("steps", reason, "every eval_steps: epochs are long")
        choices["eval_steps"] = Choice(interval, reason, "about 4 evaluations an epoch")
        choices["save_strategy"] = Choice("steps", saved, saved)
        choices["save_steps"] = Choice(interval, "the same interval as evaluation",
                                       "the same interval as evaluation")
    choices["logging_steps"] = Choice(
        logging_steps, f"about 4 loss readings per epoch of {steps_per_epoch} steps (at most "
                       "every 50 steps)", "about 4 loss readings an epoch")
    return choices, steps_per_epoch


def warmup_choice(fields: set[str], fraction: Choice) -> dict[str, Choice]:
    # transformers 5 removed warmup_ratio: a float warmup_steps below 1 is the ratio.
    if "warmup_ratio" in fields:
        return {"warmup_ratio": fraction}
    if fraction.value == 0:
        return {"warmup_steps": fraction}
    return {"warmup_steps": replace(fraction, reason=fraction.reason + " (a value below 1 is a "
                                    "fraction of the total steps)")}


def version_key(key: str, fields: set[str]) -> str:
    # The renamed evaluation key: eval_strategy since transformers 4.41.
    if key == "eval_strategy" and key not in fields and "evaluation_strategy" in fields:
        return "evaluation_strategy"
    return key


def length_grouping(fields: set[str]) -> dict[str, Choice]:
    """Batches of similar lengths, under the key the installed transformers has."""
    reason = ("batches of examples of similar length waste less padding, which speeds up "
              "training on skewed length distributions")
    comment = "similar lengths in a batch: less padding"
    if "train_sampling_strategy" in fields:
        return {"train_sampling_strategy": Choice("group_by_length", reason, comment)}
    if "group_by_length" in fields:
        return {"group_by_length": Choice(True, reason, comment)}
    return {}


def report_to_choice(facts: ProjectFacts, options: Options) -> Choice:
    if options.report_to:
        return Choice(options.report_to, "given with --report-to", "given with --report-to",
                      source=FLAG)
    if facts.dependencies.version("tensorboard"):
        return Choice("tensorboard", "tensorboard is installed: `tensorboard --logdir "
                                     "<output_dir>` shows the curves; wandb only when asked "
                                     "(--report-to wandb)",
                      "tensorboard --logdir <output_dir> shows the curves")
    return Choice("none", "no tracker installed (pip install tensorboard to get curves); "
                          "wandb only when asked (--report-to wandb)",
                  "no tracker installed (pip install tensorboard for curves)")


@dataclass(frozen=True)
class Objective:
    """What the best checkpoint is judged by."""

    metric: Choice
    greater_is_better: bool


def training_section(inputs: PlanInputs, batch: BatchPlan, examples: int, *,
                     learning_rate: Choice, epochs: Choice, objective: Objective,
                     fixed_shapes: bool, warmup: Callable[[int], Choice] | None = None,
                     weight_decay: Choice | None = None, max_grad_norm: Choice | None = None,
                     optimizer: Choice | None = None,
                     extra: dict[str, Choice] | None = None,
                     kernels: dict[str, Choice] | None = None,
                     padding_free: bool = False) -> dict[str, Choice]:
    """TrainingArguments for the plan. ``extra`` follows the best-model keys, ``kernels`` the
    compile choice; fixed-shape (packed) and padding-free batches are not grouped by length,
    which only saves padding."""
    facts, options, table, fields = inputs.facts, inputs.options, inputs.table, inputs.fields
    steps, steps_per_epoch = cadence(examples, batch.effective)
    total_steps = steps_per_epoch * epochs.value
    warmup_fraction = warmup(total_steps) if warmup else default(table, "warmup")
    metric = objective.metric.value
    better = "higher" if objective.greater_is_better else "lower"
    output_dir = (Choice(options.output_dir, "given with --output-dir", "given with --output-dir",
                         source=FLAG) if options.output_dir else default(table, "output_dir"))
    best = "the final model is the best evaluated checkpoint, not the last"
    training: dict[str, Choice] = {
        "output_dir": output_dir,
        "learning_rate": learning_rate,
        "num_train_epochs": epochs,
        **batch.choices,
        **warmup_choice(fields, warmup_fraction),
        "lr_scheduler_type": default(table, "lr_scheduler_type"),
        "weight_decay": weight_decay or default(table, "weight_decay"),
        "max_grad_norm": max_grad_norm or default(table, "max_grad_norm"),
        **steps,
        "save_total_limit": default(table, "save_total_limit"),
        "load_best_model_at_end": Choice(True, best, best),
        "metric_for_best_model": objective.metric,
        "greater_is_better": Choice(objective.greater_is_better, f"a {better} {metric} is better",
                                    f"a {better} {metric} is better"),
        **(extra or {}),
        **choose_precision(facts.hardware),
        "optim": optimizer or optimizer_choice(facts)["optim"],
        **dataloader_choices(facts.hardware),
        **compile_choice(facts.hardware, fixed_shapes=fixed_shapes, total_steps=total_steps,
                         padding_free=padding_free),
        **(kernels or {}),
        **({} if fixed_shapes or padding_free else length_grouping(fields)),
        **tokens_seen_choice(facts.dependencies.transformers_target, fields,
                             unpadded=fixed_shapes or padding_free),
        "report_to": report_to_choice(facts, options),
        "seed": default(table, "seed"),
    }
    training = {version_key(key, fields): choice for key, choice in training.items()}
    return keep_existing_values(facts, inputs.task, options, "training", training)


def early_stopping_section(inputs: PlanInputs) -> dict[str, Choice]:
    return {"patience": default(inputs.table, "early_stopping_patience"),
            "threshold": default(inputs.table, "early_stopping_threshold")}


# ---------------------------------------------------------------------------------------------
# Search space and the Plan
# ---------------------------------------------------------------------------------------------

def search_space(inputs: PlanInputs, training: dict[str, Choice], objective: Objective,
                 task_parameters: tuple[SearchParameter, ...] = ()) -> SearchSpace:
    """Learning rate and weight decay around the plan for every task, then the task's own."""
    lr = training["learning_rate"].value
    shared = (
        SearchParameter("training.learning_rate", "float", lr,
                        "log-uniform over a factor of 3 either side of the planned value",
                        low=float(f"{lr / 3:.2g}"), high=float(f"{lr * 3:.2g}"), log=True),
        SearchParameter("training.weight_decay", "float", training["weight_decay"].value,
                        "none to strong regularisation", low=0.0, high=0.1),
    )
    return SearchSpace(metric=f"eval_{objective.metric.value}",
                       direction="maximize" if objective.greater_is_better else "minimize",
                       n_trials=inputs.table["search_trials"], sampler="tpe", pruner="median",
                       parameters=shared + task_parameters)


def script_for(inputs: PlanInputs, template: str, model_class: str) -> Script:
    # from_pretrained's dtype argument was torch_dtype before transformers 4.56.
    target = version_tuple(inputs.facts.dependencies.transformers_target)
    return Script(template=template, model_class=model_class,
                  dtype_argument="dtype" if target >= (4, 56) else "torch_dtype")


def offline_package_hint(inputs: PlanInputs) -> str:
    """For a planned default that needs a classification head: the model package that makes
    init plan a model that loads offline."""
    objective = inputs.data.objective.value if inputs.data.objective else None
    if inputs.model_choice.source != PLANNED or wants_decoder(inputs.task, objective):
        return ""
    package, (_, _, name) = next(iter(MODEL_PACKAGES.items()))
    return (f"; or `pip install {package}` and run init again: it then plans "
            f"{name.rsplit('/', 1)[-1]}, which loads offline")


def plan_warnings(inputs: PlanInputs) -> tuple[str, ...]:
    facts = inputs.facts
    warnings = [str(problem) for problem in inputs.data.train.problems]
    availability = inputs.model.availability
    if availability is not None and not availability.loadable:
        name = inputs.model.name_or_path
        warnings.append(f"The model {name} is {availability.detail}: the training script "
                        f"will not be able to load it. Fix: {download_fix(name)}"
                        f"{offline_package_hint(inputs)}.")
    dependencies = facts.dependencies
    if dependencies.pins and not dependencies.targets_installed:
        warnings.append(f"The setup targets transformers {dependencies.transformers_target}: "
                        f"{dependencies.target_reason}.")
    if facts.framework.chosen in {"tensorflow", "jax"}:
        warnings.append(
            f"This project uses {facts.framework.chosen}. transformers 5 trains with PyTorch "
            "only, so the generated setup is PyTorch; models saved by it load in PyTorch (see "
            "README-TRAINING.md).")
    missing = facts.dependencies.missing(("transformers", "torch", "datasets", "accelerate",
                                          "scikit-learn"))
    if missing:
        warnings.append(f"Not installed: {', '.join(missing)}. Install them with "
                        "`pip install -r requirements-training.txt` before training.")
    if not facts.dependencies.transformers_installed:
        warnings.append(f"transformers is not installed: the config targets transformers "
                        f"{facts.dependencies.transformers_target}, the newest version "
                        "trainwright knows.")
    warnings += list(facts.existing.problems)
    return tuple(warnings)


def assemble_plan(inputs: PlanInputs, sections: dict[str, dict[str, Choice]],
                  space: SearchSpace, script: Script, summary: dict[str, Any], *,
                  warnings: tuple[str, ...] = (), requirements: tuple[str, ...] = (),
                  batch: BatchPlan | None = None) -> Plan:
    """The Plan: the task's sections and summary, with what every plan carries; ``batch``
    brings the distribution of a plan with several processes."""
    facts = inputs.facts
    spread = batch.distribution if batch is not None else None
    if spread is not None and batch is not None and batch.strategy is not None:
        sections, requirements = _distributed_sections(inputs, sections, spread,
                                                       batch.strategy, requirements)
    config_path, script_path, layout_reason = file_layout(facts, inputs.task, inputs.options)
    imports = imports_for(facts, inputs.task, inputs.options.import_from)
    # Sections no task planner consumed (the model's attention, early stopping, generation):
    # the imported values where the plan has the key.
    sections = {name: choices if name in {"data", "training", "adapter"} else
                apply_imports(facts, imports, name, choices)
                for name, choices in sections.items()}
    report_to = sections["training"]["report_to"].value
    return Plan(
        task=inputs.task,
        sections=sections,
        search_space=space,
        config_path=config_path,
        script_path=script_path,
        script=script,
        requirements=training_requirements(facts, report_to) + requirements,
        install_commands=install_commands(facts),
        transformers_target=facts.dependencies.transformers_target,
        transformers_installed=facts.dependencies.transformers_installed,
        facts_summary={
            **summary,
            "hardware": hardware_text(facts.hardware),
            "framework": facts.framework.chosen or "none detected",
            "framework_explanation": facts.framework.explanation,
            "layout": layout_reason,
        },
        warnings=plan_warnings(inputs) + warnings + _extras_not_installed(facts, requirements),
        notes=(f"trainwright {__version__}",),
        imported=import_rows(facts, imports, sections),
        unmapped=imports.unmapped,
        distribution=spread,
    )


def _extras_not_installed(facts: ProjectFacts, requirements: tuple[str, ...]
                          ) -> tuple[str, ...]:
    """The packages only this plan needs (liger-kernel, flash-attn, deepspeed) that this machine
    lacks: the config turns them on, so train.py fails here until they are installed."""
    names = [re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0] for line in requirements]
    missing = [name for name in names if not facts.dependencies.version(name)]
    if not missing:
        return ()
    return ((f"The plan uses {', '.join(missing)}, not installed here: `pip install -r "
             "requirements-training.txt` on the machine that trains (the config keys that use "
             "them are in README-TRAINING.md)."),)


def _distributed_sections(inputs: PlanInputs, sections: dict[str, dict[str, Choice]],
                          spread: Distribution, strategy: Choice,
                          requirements: tuple[str, ...]
                          ) -> tuple[dict[str, dict[str, Choice]], tuple[str, ...]]:
    """Several processes: the `distributed:` section, QLoRA's storage type for sharding, and
    DeepSpeed in the requirements of a ZeRO plan."""
    sections = dict(sections)
    quantization = sections.get("quantization")
    if quantization and "bnb_4bit_compute_dtype" in quantization:
        sections["quantization"] = {**quantization, **quantization_choices(
            spread.strategy, quantization["bnb_4bit_compute_dtype"].value)}
    sections["distributed"] = distributed_section(spread, strategy, inputs.options)
    if spread.ds_config:
        requirements += (requirement_line("deepspeed", "0.15",
                                          inputs.facts.dependencies.version("deepspeed")),)
    return sections, requirements
