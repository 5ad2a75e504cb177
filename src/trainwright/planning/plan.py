"""The typed plan: every value with the reason it was chosen. Files are renderings of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Where a value came from: planned from the facts, given with a command-line flag, kept from
# the project's existing training_config.yaml, or imported from a config for another tool.
PLANNED, FLAG, EXISTING, IMPORTED = "planned", "flag", "existing", "imported"
# What fine-tuning trains, as the data says (planning/fine_tuning/objective.py decides).
SFT, SEQUENCE_CLASSIFICATION, CAUSAL_LM = "sft", "sequence_classification", "causal_lm"


@dataclass(frozen=True)
class Choice:
    """One value of the plan.

    ``reason`` is the whole reasoning, with its measured figures (README-TRAINING.md's table);
    ``comment`` is the one clause beside the value in the YAML, which stays true when the value
    is edited (no figures derived from other values). Without one, the reason is the comment.
    """

    value: Any
    reason: str
    comment: str = ""
    source: str = PLANNED
    # For a mapping value: (key, clause) pairs, rendered one key a line with its clause.
    parts: tuple[tuple[str, str], ...] = ()

    @property
    def short(self) -> str:
        return self.comment or self.reason

    @property
    def given(self) -> bool:
        return self.source == FLAG


@dataclass(frozen=True)
class SearchParameter:
    """One hyperparameter of the search space written to hyperparameters.json."""

    name: str  # section.key, e.g. training.learning_rate
    type: str  # float | int | categorical
    default: Any
    reason: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple = ()


@dataclass(frozen=True)
class SearchSpace:
    metric: str
    direction: str
    n_trials: int
    sampler: str
    pruner: str
    parameters: tuple[SearchParameter, ...]


@dataclass(frozen=True)
class Options:
    """What the user asked for on the command line (None means: let the plan decide)."""

    model: str | None = None
    data_paths: tuple[str, ...] = ()
    text_column: str | None = None
    label_column: str | None = None
    label_kind: str | None = None  # classification: single-label | multi-label | regression
    output_dir: str | None = None
    report_to: str | None = None
    target_gpu: str | None = None  # plan for this GPU instead of the detected hardware
    target_gpu_memory: str | None = None  # or for any GPU with this much memory ("24GB")
    gpus: int | None = None  # GPUs (processes) per machine; None: the detected count, or 1
    nodes: int = 1  # machines
    strategy: str | None = None  # ddp | fsdp | zero2 | zero3; None: from the memory plan
    from_scratch: bool = False  # generation: build the model from a config, not weights
    method: str | None = None  # fine-tuning: lora | qlora | freeze | full
    task_alias: str | None = None  # the training type as typed (`init qlora` implies a method)
    target_modules: tuple[str, ...] = ()  # fine-tuning: LoRA targets instead of all linears
    data_format: str | None = None  # fine-tuning: how the rows are read (chat, sharegpt, ...)
    prompt_column: str | None = None  # fine-tuning: the column of the prompt (context)
    response_column: str | None = None  # fine-tuning: the column that is learned
    import_from: str | None = None  # import only this foreign config (init --from FILE)
    data_from: str | None = None  # where data_paths came from when not --data (an import)
    script_path: str | None = None  # where the script goes, relative to the project root


@dataclass(frozen=True)
class ImportRow:
    """One value a config of another tool set, and what the plan made of it."""

    setting: str  # section.key in training_config.yaml
    value: Any  # as the foreign config had it
    where: str  # from axolotl.yml: lora_r
    status: str  # kept | changed | overruled by FILE
    why: str = ""  # for a changed value: why the plan differs


@dataclass(frozen=True)
class NotImported:
    """A key of a foreign config with no equivalent in the setup, and what to do instead."""

    file: str
    key: str
    note: str


@dataclass(frozen=True)
class Script:
    """What train.py is: the template of its objective and the loading code it needs."""

    template: str  # e.g. fine-tuning/sft.py.j2
    model_class: str  # AutoModelForSequenceClassification | AutoModelForCausalLM
    dtype_argument: str  # from_pretrained's dtype keyword in the targeted transformers
    # The label column holds ClassLabel ids (data written by `datasets`): the script maps them
    # to their names.
    class_label_ids: bool = False


@dataclass(frozen=True)
class Distribution:
    """How a run with more than one process is spread (planning/distributed.py decides; the
    reasons are the Choices of the plan's `distributed` section)."""

    gpus: int  # processes per machine
    nodes: int
    strategy: str  # ddp | zero2 | zero3 | fsdp
    on_gpu: bool  # False: CPU processes (gloo)
    accelerate_config: str  # where accelerate_config.yaml goes, relative to the project root
    ds_config: str | None = None  # where ds_config.json goes (zero2 / zero3)
    layer_class: str | None = None  # FSDP's wrap class: the model's decoder / encoder layer

    @property
    def processes(self) -> int:
        return self.gpus * self.nodes

    @property
    def zero_stage(self) -> int:
        return {"zero2": 2, "zero3": 3, "fsdp": 3}.get(self.strategy, 0)


@dataclass(frozen=True)
class Plan:
    task: str
    sections: dict[str, dict[str, Choice]]
    search_space: SearchSpace
    config_path: str  # where training_config.yaml goes, relative to the project root
    script_path: str  # where the training script goes (train.py unless that is the project's)
    script: Script
    requirements: tuple[str, ...]
    install_commands: tuple[str, ...]  # what to run to install them on the planned machine
    transformers_target: str
    transformers_installed: bool
    facts_summary: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())
    imported: tuple[ImportRow, ...] = field(default=())  # what configs of other tools set
    unmapped: tuple[NotImported, ...] = field(default=())  # their keys with no equivalent
    distribution: Distribution | None = None  # several processes; None: one

    def value(self, section: str, key: str, default: Any = None) -> Any:
        choice = self.sections.get(section, {}).get(key)
        return default if choice is None else choice.value

    def values(self) -> dict[str, dict[str, Any]]:
        return {name: {key: choice.value for key, choice in section.items()}
                for name, section in self.sections.items()}

    @property
    def train_command(self) -> str:
        """The command that starts training: accelerate launch for several processes (on every
        machine, with its own --machine_rank, when there are several)."""
        run = f"{self.script_path} --config {self.config_path}"
        distribution = self.distribution
        if distribution is None:
            return f"python {run}"
        rank = " --machine_rank $NODE_RANK" if distribution.nodes > 1 else ""
        return f"accelerate launch --config_file {distribution.accelerate_config}{rank} {run}"

    @property
    def launch_commands(self) -> dict[str, str]:
        """For several processes: the accelerate launch line and the torchrun line (its
        multi-node form with the rendezvous flags when there are several machines)."""
        distribution = self.distribution
        if distribution is None:
            return {}
        run = f"{self.script_path} --config {self.config_path}"
        torchrun = f"torchrun --nproc-per-node {distribution.gpus} {run}"
        if distribution.nodes > 1:
            torchrun = (f"torchrun --nnodes {distribution.nodes} --nproc-per-node "
                        f"{distribution.gpus} --node-rank $NODE_RANK --rdzv-backend c10d "
                        f"--rdzv-id $JOB_ID --rdzv-endpoint $MASTER_ADDR:29500 {run}")
        return {"accelerate": self.train_command, "torchrun": torchrun}
