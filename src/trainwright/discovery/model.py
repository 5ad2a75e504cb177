"""What the chosen model is, read from its config.json without loading weights."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from trainwright.discovery.availability import (
    ModelAvailability,
    cached_snapshot,
    model_availability,
)

# Hub models that are common defaults, for planning when they are not available locally.
KNOWN_MODELS = {
    # name: (model_type, parameters, positions, hidden, layers, heads, vocab)
    "distilbert/distilbert-base-uncased": ("distilbert", 66_955_010, 512, 768, 6, 12, 30522),
    "distilbert-base-uncased": ("distilbert", 66_955_010, 512, 768, 6, 12, 30522),
    "google-bert/bert-base-uncased": ("bert", 109_482_240, 512, 768, 12, 12, 30522),
    "bert-base-uncased": ("bert", 109_482_240, 512, 768, 12, 12, 30522),
    "google-bert/bert-large-uncased": ("bert", 335_141_888, 512, 1024, 24, 16, 30522),
    "bert-large-uncased": ("bert", 335_141_888, 512, 1024, 24, 16, 30522),
    "FacebookAI/roberta-base": ("roberta", 124_645_632, 514, 768, 12, 12, 50265),
    "roberta-base": ("roberta", 124_645_632, 514, 768, 12, 12, 50265),
    "FacebookAI/roberta-large": ("roberta", 355_359_744, 514, 1024, 24, 16, 50265),
    "microsoft/deberta-v3-base": ("deberta-v2", 184_422_144, 512, 768, 12, 12, 128100),
    "answerdotai/ModernBERT-base": ("modernbert", 149_014_272, 8192, 768, 22, 12, 50368),
    "sentence-transformers/all-MiniLM-L6-v2": ("bert", 22_713_216, 512, 384, 6, 12, 30522),
    "HuggingFaceTB/SmolLM2-135M": ("llama", 134_515_008, 8192, 576, 30, 9, 49152),
    "HuggingFaceTB/SmolLM2-360M": ("llama", 361_821_120, 8192, 960, 32, 15, 49152),
    "HuggingFaceTB/SmolLM2-135M-Instruct": ("llama", 134_515_008, 8192, 576, 30, 9, 49152),
    "openai-community/gpt2": ("gpt2", 124_439_808, 1024, 768, 12, 12, 50257),
    "gpt2": ("gpt2", 124_439_808, 1024, 768, 12, 12, 50257),
}


@dataclass(frozen=True)
class ModelFacts:
    name_or_path: str
    local_path: str | None
    model_type: str | None
    num_parameters: int | None
    max_positions: int | None
    hidden_size: int | None
    num_layers: int | None
    vocab_size: int | None
    num_heads: int | None
    has_local_tokenizer: bool
    source: str  # config.json | built-in table | unknown
    has_chat_template: bool | None = None  # None: the tokenizer is not available locally
    availability: ModelAvailability | None = None  # where it loads from, or why it cannot


GATED_MLP_TYPES = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3",
                   "olmo", "olmo2", "granite", "smollm3"}
ROTARY_TYPES = GATED_MLP_TYPES | {"gpt_neox", "phi", "modernbert"}


def _first(config: dict, *names: str):
    return next((config[name] for name in names if config.get(name)), None)


def estimate_parameters(config: dict) -> int | None:
    """Parameters of a transformer from its config.json: embeddings, attention (with grouped
    KV heads), the MLP (gated for Llama-style models), norms and an untied output head."""
    hidden = _first(config, "hidden_size", "dim", "d_model", "n_embd")
    layers = _first(config, "num_hidden_layers", "n_layers", "n_layer")
    vocab = config.get("vocab_size")
    if not (hidden and layers and vocab):
        return None
    model_type = config.get("model_type", "")
    intermediate = _first(config, "intermediate_size", "hidden_dim", "n_inner") or 4 * hidden
    heads = _first(config, "num_attention_heads", "n_heads", "n_head") or 1
    kv_heads = config.get("num_key_value_heads") or heads
    kv_width = hidden // heads * kv_heads
    attention = 2 * hidden * hidden + 2 * hidden * kv_width
    mlp = (3 if model_type in GATED_MLP_TYPES else 2) * hidden * intermediate
    positions = 0 if model_type in ROTARY_TYPES else (
        _first(config, "max_position_embeddings", "n_positions") or 0)
    embeddings = (vocab + positions + (config.get("type_vocab_size") or 0)) * hidden
    head = 0 if config.get("tie_word_embeddings", model_type not in GATED_MLP_TYPES) \
        else vocab * hidden
    return embeddings + layers * (attention + mlp + 4 * hidden) + head


def _local_model_dir(name_or_path: str, root: Path) -> Path | None:
    for candidate in (Path(name_or_path).expanduser(), root / name_or_path):
        if (candidate / "config.json").is_file():
            return candidate.resolve()
    return None


def describe_model(name_or_path: str, root: Path) -> ModelFacts:
    folder = _local_model_dir(name_or_path, root)
    availability = model_availability(name_or_path, str(folder) if folder else None)
    # A Hub model in the Hugging Face cache is read from there, as transformers will load it.
    facts = _describe(name_or_path, folder or cached_snapshot(name_or_path))
    return replace(facts, availability=availability)


def _describe(name_or_path: str, local: Path | None) -> ModelFacts:
    if local is not None:
        try:
            config = json.loads((local / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            config = {}
        return ModelFacts(
            name_or_path=name_or_path,
            local_path=str(local),
            model_type=config.get("model_type"),
            num_parameters=estimate_parameters(config),
            max_positions=_first(config, "max_position_embeddings", "n_positions"),
            hidden_size=_first(config, "hidden_size", "dim", "d_model", "n_embd"),
            num_layers=_first(config, "num_hidden_layers", "n_layers", "n_layer"),
            vocab_size=config.get("vocab_size"),
            num_heads=config.get("num_attention_heads") or config.get("n_heads")
            or config.get("n_head"),
            has_local_tokenizer=(local / "tokenizer.json").is_file(),
            source=f"{local / 'config.json'}",
            has_chat_template=_has_chat_template(local),
        )
    if name_or_path in KNOWN_MODELS:
        model_type, parameters, positions, hidden, layers, heads, vocab = \
            KNOWN_MODELS[name_or_path]
        return ModelFacts(name_or_path, None, model_type, parameters, positions, hidden, layers,
                          vocab, heads, False, "built-in table")
    return ModelFacts(name_or_path, None, None, None, None, None, None, None, None, False,
                      "unknown")


def _has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return bool(config.get("chat_template"))


def token_lengths(model: ModelFacts, texts: tuple[str, ...]) -> list[int] | None:
    """Token counts of sample texts with the model's own tokenizer, when it is on disk.

    Counted with padding and truncation off: a tokenizer.json saves them as its last use set
    them (sentence-transformers models truncate at 128 tokens), and a count cut at the old
    limit would plan that limit again.
    """
    if not (model.has_local_tokenizer and texts and model.local_path):
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    try:
        tokenizer = Tokenizer.from_file(str(Path(model.local_path) / "tokenizer.json"))
    except Exception:  # noqa: BLE001 - a tokenizer.json from a newer tokenizers release
        return None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return [len(encoding.ids) for encoding in tokenizer.encode_batch(list(texts))]
