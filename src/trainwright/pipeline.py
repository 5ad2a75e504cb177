"""The init pipeline as library calls: discover -> plan -> render -> write -> verify."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trainwright.config.fields import FieldSpec, installed_field_specs
from trainwright.config.releases import release_field_specs
from trainwright.config.schema import json_schema
from trainwright.discovery import discover
from trainwright.discovery.architecture import (
    Architecture,
    ArchitectureUnavailable,
    inspect_architecture,
)
from trainwright.discovery.dependencies import installed_version
from trainwright.discovery.hardware import probe_hardware
from trainwright.discovery.model import ModelFacts, describe_model, token_lengths
from trainwright.discovery.models import GPU, Dependencies, Hardware, ProjectFacts
from trainwright.early import take_started
from trainwright.errors import UserError
from trainwright.planning import (
    DataSelection,
    Options,
    Plan,
    choose_model,
    default_model,
    plan,
    select_data,
)
from trainwright.planning.distributed import process_layout
from trainwright.planning.fine_tuning.objective import model_head
from trainwright.planning.foreign import DATA_FILES, replaced_configs
from trainwright.planning.foreign import imports_for as foreign_imports
from trainwright.planning.gpus import lookup_gpu, parse_memory
from trainwright.planning.target import target_transformers
from trainwright.render import GITIGNORE_LINES, render
from trainwright.render.draw import matplotlib_installed, picture_change
from trainwright.render.pictures import Glance, data_at_a_glance
from trainwright.verify import (
    CachedCheck,
    Check,
    SkippedCheck,
    TrainingArgumentsProbe,
    training_arguments_check,
    verify_files,
)
from trainwright.write import FileChange, apply_changes, plan_changes


@dataclass(frozen=True)
class Prepared:
    facts: ProjectFacts
    model: ModelFacts
    plan: Plan
    files: dict[str, str]
    changes: list[FileChange]
    glance: Glance | None = None  # what data_at_a_glance.png shows


def model_architecture(model: ModelFacts, data: DataSelection) -> Architecture:
    """The model's modules on the meta device; a UserError says why they cannot be read."""
    head = model_head(data.objective.value if data.objective else "")
    try:
        return inspect_architecture(model, head, num_labels=max(2, data.train.num_classes))
    except ArchitectureUnavailable as error:
        raise UserError(
            f"The modules of {model.name_or_path} cannot be read: {error}.",
            "pass --model with a local folder that has config.json (or download the model "
            "first, e.g. `hf download NAME --local-dir models/NAME`), with torch and "
            "transformers installed.") from error


def prepare(task: str, project: str | Path, options: Options, *, force: bool = False,
            regenerate_command: str = "", hardware: Hardware | None = None,
            dependencies: Dependencies | None = None,
            specs: dict[str, FieldSpec] | None = None,
            progress: Callable[[str], None] | None = None,
            pictures: bool | None = None) -> Prepared:
    """Everything up to writing: nothing in the project changes.

    ``pictures``: None draws data_at_a_glance.png when matplotlib is installed (else it is
    skipped, saying how to install it); True plans it as drawn wherever this runs (golden
    files); False leaves it out.
    """
    hardware = target_hardware(options, hardware)

    def discover_for(options: Options, dependencies: Dependencies | None) -> ProjectFacts:
        return discover(project, data_paths=options.data_paths,
                        text_column=options.text_column, label_column=options.label_column,
                        prompt_column=options.prompt_column,
                        response_column=options.response_column, hardware=hardware,
                        dependencies=dependencies, progress=progress)

    facts = discover_for(options, dependencies)
    facts = dataclasses.replace(facts, dependencies=target_transformers(facts.dependencies))
    options = options_from_imports(task, facts, options)
    if options.data_from:  # a config of another tool names the data: discover it as given
        facts = discover_for(options, facts.dependencies)
    data = select_data(task, facts, options)
    objective = data.objective.value if data.objective else None
    default = None if options.model else describe_model(default_model(task, objective),
                                                         facts.root)
    chosen = choose_model(task, facts, options, objective,
                          default.availability if default else None)
    model = (default if default and chosen.value == default.name_or_path
             else describe_model(chosen.value, facts.root))
    lengths, part_lengths = measured_lengths(model, data)
    architecture = (model_architecture(model, data) if task == "fine-tuning"
                    else block_architecture(task, model, options, facts.hardware))
    the_plan = plan(task, facts, model, options, lengths, architecture, data, chosen)
    glance = None if pictures is False else data_at_a_glance(the_plan, lengths, data,
                                                             part_lengths)
    drawable = pictures is True or matplotlib_installed()
    files = render(the_plan, regenerate_command or f"trainwright init {task} . --force",
                   json_schema(specs or field_specs(facts.dependencies), task),
                   glance=glance if drawable else None)
    changes = plan_changes(facts.root, files, GITIGNORE_LINES, force,
                           notes=replaced_configs(facts, task, options.import_from))
    changes += unused_launcher_configs(facts, the_plan, files)
    if glance is not None:  # drawn last, after the text files are written
        changes.append(picture_change(facts.root, glance, force, drawable))
    return Prepared(facts, model, the_plan, files, changes, glance)


def unused_launcher_configs(facts: ProjectFacts, the_plan: Plan, files: dict[str, str]
                            ) -> list[FileChange]:
    """The launcher configs an earlier init wrote that this plan no longer writes (one process
    now, or FSDP after ZeRO): kept as they are, and said, so that nobody launches with them."""
    if the_plan.distribution is None:
        now = "this plan trains in one process"
    else:
        now = f"this plan's strategy is {the_plan.distribution.strategy}"
    return [FileChange(path, "skip", "", None,
                       note=f"left from an earlier init and no longer used ({now}); kept as it "
                            "is, delete it")
            for path in facts.existing.launcher_configs if path not in files]


def block_architecture(task: str, model: ModelFacts, options: Options,
                       hardware: Hardware) -> Architecture | None:
    """Classification and generation read the model's modules only for several processes,
    where FSDP wraps its blocks; None for one process or where they cannot be read (FSDP
    then wraps the model's _no_split_modules)."""
    if process_layout(options, hardware).processes == 1 or options.from_scratch:
        return None
    head = "causal_lm" if task == "generation" else "sequence_classification"
    try:
        return inspect_architecture(model, head)
    except ArchitectureUnavailable:
        return None


def measured_lengths(model: ModelFacts, data: DataSelection
                     ) -> tuple[list[int] | None, tuple[list[int], list[int]] | None]:
    """Token lengths of the sampled examples and, for fine-tuning examples, of their prompts
    and responses, in one pass of the model's tokenizer; None without a local tokenizer."""
    texts = data.sample_texts
    parts = data.shape.sample_parts if data.shape else ()
    measured = token_lengths(model, texts + tuple(p for p, _ in parts)
                             + tuple(r for _, r in parts)) if texts else None
    if measured is None:
        return None, None
    count, pairs = len(texts), len(parts)
    lengths = measured[:count]
    if not parts:
        return lengths, None
    return lengths, (measured[count:count + pairs], measured[count + pairs:])


def options_from_imports(task: str, facts: ProjectFacts, options: Options) -> Options:
    """The data files a config of another tool names, where no flag gave them;
    --from FILE must name a config trainwright can read."""
    if options.import_from:
        given = Path(options.import_from).expanduser()
        given = given if given.is_absolute() else Path.cwd() / given
        try:
            relative = given.resolve().relative_to(facts.root).as_posix()
        except ValueError:
            relative = options.import_from
        options = dataclasses.replace(options, import_from=relative)
    if options.import_from and options.import_from not in {
            config.path for config in facts.existing.foreign_configs}:
        raise UserError(f"--from {options.import_from}: not a config trainwright can import "
                        "(Axolotl, LLaMA-Factory, TRL, TrainingArguments YAML / JSON, DeepSpeed, "
                        "accelerate) inside the project.",
                        "pass the path of such a config relative to the project root; "
                        "`trainwright inspect` lists the configs it found.")
    imports = foreign_imports(facts, task, options.import_from)
    files = imports.get(*DATA_FILES)
    if options.data_paths or files is None:
        return options
    # The format is read from the rows as always; the summary compares it with the config's.
    return dataclasses.replace(options, data_paths=tuple(files.value), data_from=files.where)


def start_probe() -> TrainingArgumentsProbe | None:
    """Start building TrainingArguments in a child process before anything else, so that its
    imports of torch and transformers overlap discovery; None without transformers."""
    started = take_started()  # the console entry starts it before trainwright's imports
    if not installed_version("transformers"):
        return None
    return TrainingArgumentsProbe(process=started)


def settle_probe(probe: TrainingArgumentsProbe | None, prepared: Prepared
                 ) -> TrainingArgumentsProbe | CachedCheck | SkippedCheck | None:
    """The check of the config about to be written: the cache when the same training:
    section built with the same versions before (the early child is stopped), else the child."""
    if probe is None:
        return None
    dependencies = prepared.facts.dependencies
    if not dependencies.targets_installed:  # a pinned release that is not the installed one
        probe.close()
        return SkippedCheck(
            f"the config targets transformers {dependencies.transformers_target} "
            f"({dependencies.target_reason.split(';')[0]}) and the installed one is "
            f"{dependencies.version('transformers')}; its keys were checked against "
            f"{dependencies.transformers_target}'s fields")
    return training_arguments_check(prepared.files[prepared.plan.config_path], started=probe)


def target_hardware(options: Options, detected: Hardware | None) -> Hardware | None:
    """The detected hardware, with its GPUs replaced by --target-gpu / --target-gpu-memory."""
    if not (options.target_gpu or options.target_gpu_memory):
        return detected
    if options.target_gpu:
        gpu = lookup_gpu(options.target_gpu).as_gpu()
    else:
        memory = parse_memory(options.target_gpu_memory or "")
        gpu = GPU(f"a GPU with {memory:,} MiB", memory, (8, 0))
    base = detected or probe_hardware()
    return dataclasses.replace(base, gpus=(gpu,) * max(1, options.gpus or 1),
                               source=f"planned for {gpu.name} (--target-gpu)")


def write_and_verify(prepared: Prepared,
                     probe: TrainingArgumentsProbe | CachedCheck | SkippedCheck | None = None
                     ) -> list[Check]:
    apply_changes(prepared.facts.root, prepared.changes)
    dependencies = prepared.facts.dependencies
    if dependencies.targets_installed:
        source = f"the installed transformers {dependencies.transformers_target}"
    elif dependencies.pins:
        source = f"transformers {dependencies.transformers_target}, the project's pin"
    else:
        source = (f"transformers {dependencies.transformers_target} (the newest trainwright "
                  "knows; transformers is not installed here)")
    return verify_files(prepared.facts.root, prepared.files, prepared.plan.config_path,
                        prepared.plan.script_path, field_specs(dependencies), probe, source)


def field_specs(dependencies: Dependencies) -> dict[str, FieldSpec]:
    """What the config is checked against: the installed TrainingArguments, the targeted
    release's (a pin) from the shipped table, or the names of the newest version known."""
    if dependencies.targets_installed:
        return installed_field_specs()
    return (release_field_specs(dependencies.transformers_target)
            or {name: FieldSpec(name, "") for name in dependencies.training_argument_fields})
