"""The pydantic schema of trainwright's own sections; `training:` is checked field by field
against the installed TrainingArguments (validate.py)."""

from __future__ import annotations

from typing import Any, Literal, get_args

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


class DataSection(Section):
    train_file: str = Field(min_length=1, description="csv / tsv / json / jsonl / parquet / txt, "
                            "a save_to_disk folder, or a Hub dataset name")
    validation_file: str | None = None
    test_file: str | None = None
    text_column: str = Field(min_length=1)
    label_column: str = Field(min_length=1)
    labels: list[str | int] = Field(min_length=2, description="class names in id order")
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    max_length: int = Field(ge=1, le=1_000_000, description="tokens per example after truncation")

    @field_validator("labels")
    @classmethod
    def labels_are_unique(cls, labels: list) -> list:
        duplicates = sorted({str(x) for x in labels if [str(y) for y in labels].count(str(x)) > 1})
        if duplicates:
            raise ValueError(f"labels repeat: {', '.join(duplicates)}; list each class once")
        return labels


class LossSection(Section):
    class_weights: dict[str, float] | None = Field(
        None, description="a weight per label for cross-entropy; null for none")

    @field_validator("class_weights")
    @classmethod
    def weights_are_positive(cls, weights: dict | None) -> dict | None:
        for label, weight in (weights or {}).items():
            if weight <= 0:
                raise ValueError(f"the weight of '{label}' is {weight}; weights must be above 0")
        return weights


class EarlyStoppingSection(Section):
    patience: int = Field(3, ge=1, description="evaluations without improvement before stopping")
    threshold: float = Field(0.0, ge=0)


class ClassificationConfig(Section):
    task: Literal["classification"] = "classification"
    model: ModelSection
    data: DataSection
    loss: LossSection = LossSection()
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
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
    train_file: str = Field(min_length=1, description="txt / md / csv / jsonl / parquet file, a "
                            "glob such as data/*.txt, a save_to_disk folder or a Hub dataset")
    validation_file: str | None = None
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


class FineTuningDataSection(Section):
    objective: Literal["sft", "sequence_classification", "causal_lm"] = Field(
        description="sft: responses of chat / instruction rows; sequence_classification: "
                    "labelled texts; causal_lm: plain text")
    train_file: str = Field(min_length=1)
    validation_file: str | None = None
    test_file: str | None = None
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    format: Literal["chat", "instruction"] | None = None
    messages_column: str | None = None
    prompt_column: str | None = None
    input_column: str | None = None
    response_column: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    labels: list[str | int] | None = None
    max_length: int | None = Field(None, ge=8, le=1_000_000)
    block_size: int | None = Field(None, ge=8, le=1_000_000)

    @model_validator(mode="after")
    def fields_of_the_objective(self) -> FineTuningDataSection:
        missing = [name for name in OBJECTIVE_FIELDS[self.objective]
                   if getattr(self, name) is None]
        if self.objective == "sft":
            if self.format == "chat" and not self.messages_column:
                missing.append("messages_column")
            elif self.format == "instruction":
                missing += [n for n in ("prompt_column", "response_column")
                            if not getattr(self, n)]
            elif self.format is None:
                missing.append("format")
        if missing:
            raise ValueError(f"objective {self.objective} needs {', '.join(missing)}")
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
                                             "train.py compares it with the real count")

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


class GenerationConfig(Section):
    task: Literal["generation"]
    model: GenerationModelSection
    data: GenerationDataSection
    generation: GenerationSection
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
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
