"""Padding-free batches (data.padding_free): the generated sft / causal-LM train.py collates with
transformers' DataCollatorWithFlattening. These tests check, in-process on a tiny Llama, the
facts that script relies on: a flattened batch has the loss of the same examples padded, each
example's logits are those it has alone (no attention across examples: transformers builds the
block-diagonal mask from the restarting position ids, on sdpa and eager), and the Trainer keeps
drawing per_device_train_batch_size examples per batch and counts their tokens."""

from __future__ import annotations

import pytest
import torch
from builders import build_tiny_llama, instruction_rows
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    DataCollatorWithFlattening,
    Trainer,
    TrainingArguments,
)

IGNORE_INDEX = -100


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    rows = instruction_rows(200, seed=1)
    folder = build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama",
                              [row["instruction"] + " " + row["output"] for row in rows])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.pad_token = tokenizer.eos_token  # as the generated script does
    return folder, tokenizer


def examples(tokenizer, count: int = 4) -> list[dict]:
    """SFT examples as the generated script encodes them: the prompt carries no loss, the
    response and the EOS do. Lengths differ, so the padded batch holds padding."""
    features = []
    for number, row in enumerate(instruction_rows(count, seed=7)):
        prompt = tokenizer("### User:\n" + row["instruction"] + " " * number * 3
                           + "\n\n### Assistant:\n")["input_ids"]
        response = tokenizer(row["output"], add_special_tokens=False)["input_ids"]
        response.append(tokenizer.eos_token_id)
        features.append({"input_ids": prompt + response,
                         "labels": [IGNORE_INDEX] * len(prompt) + response})
    assert len({len(feature["input_ids"]) for feature in features}) > 1
    return features


def model_of(folder, attention: str):
    """The model as the Trainer runs it: the Trainer sets config.use_cache to
    training.use_cache (false by default), and transformers reads packed sequences from the
    position ids only without a cache."""
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation=attention).eval()
    model.config.use_cache = False
    return model


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_flattened_batch_has_the_loss_and_logits_of_its_examples_apart(tiny_llama, attention):
    folder, tokenizer = tiny_llama
    model = model_of(folder, attention)
    features = examples(tokenizer)
    flattened = DataCollatorWithFlattening(separator_id=IGNORE_INDEX)(features)
    padded = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX)(features)
    lengths = [len(feature["input_ids"]) for feature in features]
    assert flattened["input_ids"].shape == (1, sum(lengths))
    assert "attention_mask" not in flattened  # the mask comes from the position ids
    assert flattened["position_ids"][0].tolist() == [i for n in lengths for i in range(n)]
    assert padded["input_ids"].shape == (len(features), max(lengths))

    with torch.no_grad():
        flat = model(**flattened)
        padded_loss = model(**padded).loss
        alone = [model(**{key: torch.tensor([value]) for key, value in feature.items()})
                 for feature in features]
    # The loss: the same token-level mean as the padded batch, and as the examples one by one
    # (each weighted by the tokens it learns from: labels past the first position).
    learned = [sum(label != IGNORE_INDEX for label in feature["labels"][1:])
               for feature in features]
    one_by_one = sum(out.loss * n for out, n in zip(alone, learned, strict=True)) / sum(learned)
    assert torch.allclose(flat.loss, padded_loss, atol=1e-5)
    assert torch.allclose(flat.loss, one_by_one, atol=1e-5)
    # No attention across examples: every example's logits in the row are its logits alone.
    start = 0
    for out, length in zip(alone, lengths, strict=True):
        assert torch.allclose(flat.logits[0, start:start + length], out.logits[0], atol=1e-4)
        start += length

    # The same row read as one sequence (no restarting positions) does mix the examples: the
    # check above can fail.
    with torch.no_grad():
        mixed = model(input_ids=flattened["input_ids"]).logits
    second = slice(lengths[0], lengths[0] + lengths[1])
    assert not torch.allclose(mixed[0, second], alone[1].logits[0], atol=1e-3)
    # So does a model with its cache on, which is why train.py refuses training.use_cache
    # with data.padding_free.
    model.config.use_cache = True
    with torch.no_grad():
        cached = model(**flattened).logits
    assert not torch.allclose(cached[0, second], alone[1].logits[0], atol=1e-3)


def test_the_trainer_draws_examples_per_batch_and_counts_every_flattened_token(tiny_llama,
                                                                               tmp_path):
    """per_device_train_batch_size stays a number of examples: the collator joins them into one
    row. Without an attention mask the Trainer's "non_padding" count skips the ids equal to the
    pad token (the EOS, inside every example), which is why train.py counts "all" there."""
    folder, tokenizer = tiny_llama
    features = examples(tokenizer, count=3)
    tokens = sum(len(feature["input_ids"]) for feature in features)
    counted = {}
    for mode in ("all", "non_padding"):
        arguments = TrainingArguments(
            output_dir=str(tmp_path / mode), per_device_train_batch_size=len(features),
            max_steps=1, learning_rate=1e-3, save_strategy="no", report_to="none",
            include_num_input_tokens_seen=mode, use_cpu=True, disable_tqdm=True)
        trainer = Trainer(model=model_of(folder, "sdpa").train(), args=arguments,
                          train_dataset=features, processing_class=tokenizer,
                          data_collator=DataCollatorWithFlattening(separator_id=IGNORE_INDEX))
        assert trainer.model.config.use_cache is False  # what the packed mask needs
        batch = next(iter(trainer.get_train_dataloader()))
        assert batch["input_ids"].shape == (1, tokens)
        result = trainer.train()
        assert result.metrics["train_loss"] > 0
        counted[mode] = trainer.state.num_input_tokens_seen
    assert counted["all"] == tokens
    assert counted["non_padding"] == tokens - len(features)  # one EOS per example missed
