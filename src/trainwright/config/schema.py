"""The pydantic schema of trainwright's own sections; `training:` is checked field by field
against the installed TrainingArguments (validate.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trainwright.config.fields import FieldSpec

SCHEMA_URL_COMMENT = "# yaml-language-server: $schema={path}"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(Section):
    name_or_path: str = Field(min_length=1, description="a Hub model name or a local folder")


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
    model: ModelSection
    data: DataSection
    loss: LossSection = LossSection()
    early_stopping: EarlyStoppingSection = EarlyStoppingSection()
    training: dict[str, Any] = Field(description="passed verbatim to TrainingArguments")


SECTION_MODELS = {
    "model": ModelSection,
    "data": DataSection,
    "loss": LossSection,
    "early_stopping": EarlyStoppingSection,
}
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


def json_schema(specs: dict[str, FieldSpec]) -> dict:
    """JSON Schema of training_config.yaml for the installed transformers, for editors."""
    schema = ClassificationConfig.model_json_schema()
    schema["title"] = "trainwright training_config.yaml"
    schema["properties"]["training"] = {
        "type": "object",
        "description": "passed verbatim to transformers.TrainingArguments",
        "properties": {name: _field_schema(spec) for name, spec in sorted(specs.items())},
        "additionalProperties": False,
    }
    return schema
