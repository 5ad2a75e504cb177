"""Training types and their aliases. Adding a type starts here."""

from __future__ import annotations

import difflib

from trainwright.errors import UserError

TRAINING_TYPES = ("classification", "generation", "fine-tuning")

# Types with a default table and a template (all of them, today).
IMPLEMENTED_TYPES = TRAINING_TYPES

ALIASES = {
    "classification": "classification",
    "cls": "classification",
    "classify": "classification",
    "text-classification": "classification",
    "sequence-classification": "classification",
    "generation": "generation",
    "gen": "generation",
    "causal-lm": "generation",
    "clm": "generation",
    "lm": "generation",
    "pretraining": "generation",
    "fine-tuning": "fine-tuning",
    "finetuning": "fine-tuning",
    "finetune": "fine-tuning",
    "fine-tune": "fine-tuning",
    "lora": "fine-tuning",
    "qlora": "fine-tuning",
    "peft": "fine-tuning",
    "sft": "fine-tuning",
}


def resolve_training_type(name: str) -> str:
    """Map a user-typed training type or alias to its canonical name."""
    key = name.strip().lower().replace("_", "-")
    if key in ALIASES:
        canonical = ALIASES[key]
    else:
        close = difflib.get_close_matches(key, list(ALIASES), n=1, cutoff=0.6)
        hint = f" Did you mean '{ALIASES[close[0]]}'?" if close else ""
        raise UserError(
            f"Unknown training type '{name}'.{hint}",
            f"use one of: {', '.join(TRAINING_TYPES)} "
            f"(aliases: cls, gen, causal-lm, finetune, lora).",
        )
    if canonical not in IMPLEMENTED_TYPES:
        raise UserError(
            f"The training type '{canonical}' is not available in this version of trainwright.",
            f"use one of: {', '.join(IMPLEMENTED_TYPES)}.",
        )
    return canonical
