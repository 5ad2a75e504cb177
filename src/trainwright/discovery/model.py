"""What the chosen model is, read from its config.json without loading weights."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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


def estimate_encoder_parameters(config: dict) -> int | None:
    """Parameters of a BERT-like encoder from its config (embeddings + layers + pooler)."""
    hidden = config.get("hidden_size") or config.get("dim") or config.get("d_model")
    layers = config.get("num_hidden_layers") or config.get("n_layers") or config.get("n_layer")
    vocab = config.get("vocab_size")
    if not (hidden and layers and vocab):
        return None
    intermediate = (config.get("intermediate_size") or config.get("hidden_dim")
                    or 4 * hidden)
    positions = config.get("max_position_embeddings") or 512
    embeddings = (vocab + positions + (config.get("type_vocab_size") or 0) + 2) * hidden
    attention = 4 * (hidden * hidden + hidden)
    feed_forward = 2 * hidden * intermediate + intermediate + hidden
    layer_norms = 4 * hidden
    return embeddings + layers * (attention + feed_forward + layer_norms) + hidden * hidden


def _local_model_dir(name_or_path: str, root: Path) -> Path | None:
    for candidate in (Path(name_or_path).expanduser(), root / name_or_path):
        if (candidate / "config.json").is_file():
            return candidate.resolve()
    return None


def describe_model(name_or_path: str, root: Path) -> ModelFacts:
    local = _local_model_dir(name_or_path, root)
    if local is not None:
        try:
            config = json.loads((local / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            config = {}
        return ModelFacts(
            name_or_path=name_or_path,
            local_path=str(local),
            model_type=config.get("model_type"),
            num_parameters=estimate_encoder_parameters(config),
            max_positions=config.get("max_position_embeddings") or config.get("n_positions"),
            hidden_size=config.get("hidden_size") or config.get("dim"),
            num_layers=config.get("num_hidden_layers") or config.get("n_layers"),
            vocab_size=config.get("vocab_size"),
            num_heads=config.get("num_attention_heads") or config.get("n_heads")
            or config.get("n_head"),
            has_local_tokenizer=(local / "tokenizer.json").is_file(),
            source=f"{local / 'config.json'}",
        )
    if name_or_path in KNOWN_MODELS:
        model_type, parameters, positions, hidden, layers, heads, vocab = \
            KNOWN_MODELS[name_or_path]
        return ModelFacts(name_or_path, None, model_type, parameters, positions, hidden, layers,
                          vocab, heads, False, "built-in table")
    return ModelFacts(name_or_path, None, None, None, None, None, None, None, None, False,
                      "unknown")


def token_lengths(model: ModelFacts, texts: tuple[str, ...]) -> list[int] | None:
    """Token counts of sample texts with the model's own tokenizer, when it is on disk."""
    if not (model.has_local_tokenizer and texts and model.local_path):
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    try:
        tokenizer = Tokenizer.from_file(str(Path(model.local_path) / "tokenizer.json"))
    except Exception:  # a tokenizer.json from a newer tokenizers release
        return None
    return [len(encoding.ids) for encoding in tokenizer.encode_batch(list(texts))]
