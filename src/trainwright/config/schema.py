"""The pydantic schema of trainwright's own sections; `training:` is checked field by field
against the installed TrainingArguments (validate.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trainwright.config.fields import FieldSpec


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


AttentionKernel = Literal["sdpa", "eager", "flash_attention_2", "flash_attention_3",
                          "flex_attention"]
ATTENTION_DESCRIPTION = "attention kernel; null: SDPA where the model supports it"


class ModelSection(Section):
    name_or_path: str = Field(min_length=1, description="a Hub model name or a local folder")
    attn_implementation: AttentionKernel | None = Field(None, description=ATTENTION_DESCRIPTION)


LabelKind = Literal["single-label", "multi-label", "regression"]

NonEmpty = Annotated[str, Field(min_length=1)]
# A split: one file, a glob (data/train-*.parquet), a list of files (all loaded), a
# save_to_disk folder, or a Hub dataset name (its split of the same name is loaded).
DataFiles = NonEmpty | Annotated[list[NonEmpty], Field(min_length=1)]
FILES_DESCRIPTION = ("csv / tsv / json / jsonl / parquet / txt / arrow: a file, a glob or a list "
                     "of files; a save_to_disk folder; or a Hub dataset name")


class DataSection(Section):
    train_file: DataFiles = Field(description=FILES_DESCRIPTION)
    validation_file: DataFiles | None = None
    test_file: DataFiles | None = None
    text_column: str = Field(min_length=1)
    label_column: str = Field(min_length=1)
    label_kind: LabelKind = Field("single-label", description="single-label: one class a row; "
                                  "multi-label: any number of labels a row; regression: a "
                                  "number. The script is written for one kind")
    labels: list[str | int] | None = Field(None, min_length=2, description="class names in id order "
                                           "(multi-label: the labels); none for regression")
    label_delimiter: str | None = Field(None, min_length=1, description="multi-label: what "
                                        "separates the labels of a row; null for lists")
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    max_length: int = Field(ge=1, le=1_000_000, description="tokens per example after truncation")

    @field_validator("labels")
    @classmethod
    def labels_are_unique(cls, labels: list | None) -> list | None:
        names = [str(label) for label in labels or []]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"labels repeat: {', '.join(duplicates)}; list each class once")
        return labels

    @model_validator(mode="after")
    def labels_of_the_kind(self) -> DataSection:
        if self.label_kind != "regression" and not self.labels:
            raise ValueError(f"label_kind {self.label_kind} needs labels: the class names in id "
                             "order")
        if self.label_delimiter and self.label_kind != "multi-label":
            raise ValueError("label_delimiter is for label_kind multi-label; remove it")
        return self


class LossSection(Section):
    class_weights: dict[str, float] | None = Field(
        None, description="a weight per label for cross-entropy; null for none")
    pos_weight: dict[str, float] | None = Field(
        None, description="multi-label: the weight of each label's positives in binary "
                          "cross-entropy; null for none")

    @field_validator("class_weights", "pos_weight")
    @classmethod
    def weights_are_positive(cls, weights: dict | None) -> dict | None:
        for label, weight in (weights or {}).items():
            if weight <= 0:
                raise ValueError(f"the weight of '{label}' is {weight}; weights must be above 0")
        return weights


class PredictionSection(Section):
    threshold: float = Field(0.5, gt=0, lt=1, description="multi-label: the decision threshold "
                             "while training; the tuned one is saved with the model")


class EarlyStoppingSection(Section):
    patience: int = Field(3, ge=1, description="evaluations without improvement before stopping")
    threshold: float = Field(0.0, ge=0)


class EvaluationSection(Section):
    before_training_samples: int = Field(
        256, ge=0, le=10_000_000, description="validation examples evaluated before training, "
        "a reference point for the curve; 0: no evaluation before training")


class DistributedSection(Section):
    """How many processes `accelerate launch` / `torchrun` start; train.py ignores it (the
    strategy's settings live in `training:`)."""

    gpus: int = Field(1, ge=1, le=1024, description="processes a machine")
    nodes: int = Field(1, ge=1, le=10_000, description="machines")
    strategy: Literal["ddp", "fsdp", "zero2", "zero3"] = Field(
        "ddp", description="ddp: a whole model a process; fsdp, zero2, zero3: sharded")
    accelerate_config: str | None = Field(None, min_length=1, description="the file `accelerate "
                                          "launch --config_file` reads")


class ClassificationConfig(Section):
    task: Literal["classification"] = "classification"
    model: ModelSection
    data: DataSection
    loss: LossSection = LossSection()
    prediction: PredictionSection | None = None
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
    distributed: DistributedSection | None = None
    training: dict[str, Any] = Field(description="passed verbatim to TrainingArguments")


class GenerationModelSection(Section):
    name_or_path: str = Field(min_length=1, description="a Hub model name or a local folder "
                              "(its tokenizer is always used)")
    from_scratch: bool = Field(False, description="build the model from `architecture` instead "
                               "of loading weights")
    architecture: dict[str, Any] | None = Field(None, description="config of a model built from "
                                                "scratch (model_type, hidden_size, ...)")
    attn_implementation: AttentionKernel | None = Field(None, description=ATTENTION_DESCRIPTION)


class GenerationDataSection(Section):
    train_file: DataFiles = Field(description="txt / md (one document a line / a file) or csv / "
                                  "jsonl / parquet / arrow: a file, a glob such as data/*.txt or "
                                  "a list of files; a save_to_disk folder; or a Hub dataset")
    validation_file: DataFiles | None = None
    text_column: str = Field("text", min_length=1)
    validation_fraction: float = Field(0.05, gt=0, lt=1)
    block_size: int = Field(ge=8, le=1_000_000, description="tokens per packed training block")


class GenerationSection(Section):
    max_new_tokens: int = Field(64, ge=1, le=100_000)
    temperature: float = Field(0.8, gt=0, le=10)
    top_p: float = Field(0.95, gt=0, le=1)
    top_k: int = Field(50, ge=0)
    repetition_penalty: float = Field(1.1, gt=0)
    num_return_sequences: int = Field(2, ge=1, le=64)
    do_sample: bool = True
    prompts: list[str] = Field(min_length=1, description="prompts sampled after training")


class FineTuningModelSection(Section):
    name_or_path: str = Field(min_length=1, description="a Hub model name or a local folder")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="dtype the base weights are loaded in")
    attn_implementation: AttentionKernel | None = Field(None, description=ATTENTION_DESCRIPTION)


OBJECTIVE_FIELDS = {
    "sft": ("max_length",),
    "sequence_classification": ("text_column", "label_column", "labels", "max_length"),
    "causal_lm": ("text_column", "block_size"),
}


SftFormat = Literal["chat", "sharegpt", "chat_prompt_completion", "prompt_completion",
                    "instruction", "seq2seq"]
ChatRole = Literal["system", "user", "assistant", "tool"]
FORMAT_DESCRIPTION = (
    "sft: chat (a list of role / content messages), sharegpt (from / value messages), "
    "chat_prompt_completion (prompt and completion message lists), prompt_completion (prompt "
    "and completion text, no chat template), instruction (instruction / input / output), "
    "seq2seq (source and target text)")
PAIR_FIELDS = ("prompt_column", "response_column")
FORMAT_FIELDS = {"chat": ("messages_column",), "sharegpt": ("messages_column", "role_map"),
                 "chat_prompt_completion": PAIR_FIELDS, "prompt_completion": PAIR_FIELDS,
                 "instruction": PAIR_FIELDS, "seq2seq": PAIR_FIELDS}


class FineTuningDataSection(Section):
    objective: Literal["sft", "sequence_classification", "causal_lm"] = Field(
        description="sft: responses of chat / instruction rows; sequence_classification: "
                    "labelled texts; causal_lm: plain text")
    train_file: DataFiles = Field(description=FILES_DESCRIPTION)
    validation_file: DataFiles | None = None
    test_file: DataFiles | None = None
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    format: SftFormat | None = Field(None, description=FORMAT_DESCRIPTION)
    messages_column: str | None = Field(None, description="chat, sharegpt: the list of messages")
    role_map: dict[str, ChatRole] | None = Field(
        None, description="sharegpt: each `from` value (lower case) as a chat role")
    prompt_column: str | None = Field(None, description="the context: text, or messages")
    input_column: str | None = Field(None, description="instruction, seq2seq: extra input "
                                     "appended to the prompt")
    response_column: str | None = Field(None, description="what is learned: text, or messages")
    text_column: str | None = None
    label_column: str | None = None
    labels: list[str | int] | None = None
    max_length: int | None = Field(None, ge=8, le=1_000_000)
    block_size: int | None = Field(None, ge=8, le=1_000_000)
    padding_free: bool | None = Field(None, description="sft, causal_lm: each batch is one row "
                                      "of its examples, position ids restarting per example "
                                      "(no padding, no cross-example attention); false: "
                                      "batches padded to their longest example")

    @model_validator(mode="after")
    def fields_of_the_objective(self) -> FineTuningDataSection:
        missing = [name for name in OBJECTIVE_FIELDS[self.objective]
                   if getattr(self, name) is None]
        if self.objective == "sft":
            if self.format is None:
                missing.append("format")
            else:
                missing += [name for name in FORMAT_FIELDS[self.format]
                            if getattr(self, name) is None]
        if missing:
            raise ValueError(f"objective {self.objective} needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def padding_free_for_token_objectives(self) -> FineTuningDataSection:
        if self.padding_free and self.objective == "sequence_classification":
            raise ValueError("padding_free is for objective sft or causal_lm; remove it")
        return self


class AdapterSection(Section):
    method: Literal["lora", "qlora", "freeze", "full"]
    r: int | None = Field(None, ge=1, le=1024, description="LoRA rank")
    lora_alpha: float | None = Field(None, gt=0)
    lora_dropout: float | None = Field(None, ge=0, lt=1)
    target_modules: list[str] | None = Field(None, min_length=1)
    modules_to_save: list[str] | None = None
    fan_in_fan_out: bool | None = None
    frozen_modules: list[str] | None = None
    trainable_parameters: int | None = Field(None, ge=0, description="what the plan counted; "
                                             "the script compares it with the real count")

    @model_validator(mode="after")
    def fields_of_the_method(self) -> AdapterSection:
        needed = {"lora": ("r", "lora_alpha", "target_modules"),
                  "qlora": ("r", "lora_alpha", "target_modules"),
                  "freeze": ("frozen_modules",), "full": ()}[self.method]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"method {self.method} needs {', '.join(missing)}")
        return self


class QuantizationSection(Section):
    load_in_4bit: bool = True
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = "nf4"
    bnb_4bit_use_double_quant: bool = True
    bnb_4bit_compute_dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"


class SampleSection(Section):
    num_prompts: int = Field(3, ge=0, le=1000)
    max_new_tokens: int = Field(64, ge=1, le=100_000)
    do_sample: bool = False


METRICS_BY_TASK = {"classification": ("f1_macro", "accuracy", "loss"), "generation": ("loss",),
                   "fine-tuning": ("loss", "f1_macro", "accuracy")}
# What a classification train.py computes, by data.label_kind.
METRICS_BY_LABEL_KIND = {"single-label": METRICS_BY_TASK["classification"],
                         "multi-label": ("f1_micro", "f1_macro", "exact_match", "loss"),
                         "regression": ("rmse", "mae", "r2", "spearman", "loss")}


class GenerationConfig(Section):
    task: Literal["generation"]
    model: GenerationModelSection
    data: GenerationDataSection
    generation: GenerationSection
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
    evaluation: EvaluationSection | None = None
    distributed: DistributedSection | None = None
    training: dict[str, Any] = Field(description="passed verbatim to TrainingArguments")


class FineTuningConfig(Section):
    task: Literal["fine-tuning"]
    model: FineTuningModelSection
    data: FineTuningDataSection
    adapter: AdapterSection
    quantization: QuantizationSection | None = None
    loss: LossSection | None = None
    generation: SampleSection | None = None
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
    evaluation: EvaluationSection | None = None
    distributed: DistributedSection | None = None
    training: dict[str, Any] = Field(description="passed verbatim to TrainingArguments")


CONFIG_MODELS = {"classification": ClassificationConfig, "generation": GenerationConfig,
                 "fine-tuning": FineTuningConfig}


def _sections_of(config: type[Section]) -> dict[str, type[Section]]:
    """The section models of a config model, by section name (Optional ones unwrapped)."""
    sections = {}
    for name, info in config.model_fields.items():
        if name in {"task", "training"}:
            continue
        models = [arg for arg in get_args(info.annotation) if arg is not type(None)]
        sections[name] = models[0] if models else info.annotation
    return sections


# The sections each task's config has, read from the config models above: one registry.
SECTION_MODELS_BY_TASK = {task: _sections_of(config) for task, config in CONFIG_MODELS.items()}
REQUIRED_SECTIONS = ("model", "data", "training")


def _field_schema(spec: FieldSpec) -> dict:
    types = {"bool": "boolean", "int": "integer", "float": "number", "str": "string",
             "None": "null", "list": "array", "dict": "object"}
    kinds = spec.kinds
    schema: dict[str, Any] = {"description": f"TrainingArguments.{spec.name}: {spec.annotation}"}
    if kinds:
        schema["type"] = sorted({types[k] for k in kinds} | ({"integer"} if "float" in kinds
                                                             else set()))
    if spec.choices:
        schema["enum"] = list(spec.choices)
    return schema


def json_schema(specs: dict[str, FieldSpec], task: str = "classification") -> dict:
    """JSON Schema of training_config.yaml for the installed transformers, for editors."""
    schema = CONFIG_MODELS[task].model_json_schema()
    schema["title"] = "trainwright training_config.yaml"
    schema["properties"]["training"] = {
        "type": "object",
        "description": "passed verbatim to transformers.TrainingArguments",
        "properties": {name: _field_schema(spec) for name, spec in sorted(specs.items())},
        "additionalProperties": False,
    }
    return schema
