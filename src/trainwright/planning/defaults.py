"""Per-task default tables, in one place. Planning adjusts these by the discovered facts.

Each entry is (value, reason). A new training type adds its table here and a template in
render/templates/<type>/.
"""

from __future__ import annotations

CLASSIFICATION = {
    "model": ("distilbert/distilbert-base-uncased",
              ("a small (66 M parameters), fast and strong English encoder; pass --model for "
              "another (a multilingual one for non-English text)")),
    "weight_decay": (0.01, "the BERT fine-tuning default; regularises without slowing learning"),
    "lr_scheduler_type": ("linear", "linear decay after warmup, as in the BERT fine-tuning recipe"),
    "max_grad_norm": (1.0, "clips rare large gradients that destabilise fine-tuning"),
    "seed": (42, "fixed so that two runs of the same config are comparable"),
    "save_total_limit": (2, "keeps the best and the latest checkpoint; older ones use disk"),
    "early_stopping_patience": (3, ("stops after 3 evaluations without improvement of the "
                                   "best-model metric")),
    "early_stopping_threshold": (0.0, "any improvement counts"),
    "validation_fraction": (0.1, ("10 % of the training rows, stratified by label, when the "
                                 "project has no validation split")),
    "imbalance_ratio": (1.5, ("class weights are used when the largest class has at least 1.5x "
                             "the rows of the smallest")),
    "max_length_cap": (512, "the usual position limit of BERT-style encoders"),
}

# Learning rate by model size: small encoders tolerate and need larger steps
# (Turc et al. 2019, "Well-Read Students Learn Better", fine-tune BERT-tiny..small over
# 3e-4..3e-5, the tiny ones best at the top of that grid; the BERT paper uses 2e-5..5e-5 for
# base size; large models want 1e-5).
CLASSIFICATION_LEARNING_RATES = (
    (5_000_000, 3e-4, "very small models (under 5 M parameters, BERT-tiny size)"),
    (20_000_000, 1e-4, "models under 20 M parameters"),
    (200_000_000, 3e-5, "base-size encoders (20-200 M parameters)"),
    (600_000_000, 2e-5, "large encoders (200-600 M parameters)"),
    (None, 1e-5, "models over 600 M parameters"),
)

# Epochs by training rows: small datasets need more passes; early stopping ends a run early.
CLASSIFICATION_EPOCHS = (
    (1_000, 10), (5_000, 6), (20_000, 4), (100_000, 3), (None, 2),
)

# Effective batch by training rows: more, smaller updates on small datasets.
CLASSIFICATION_EFFECTIVE_BATCH = ((5_000, 16), (None, 32))

GENERATION = {
    "model": ("HuggingFaceTB/SmolLM2-135M",
              ("a small (135 M parameters) Llama-style model that trains on one consumer GPU; "
              "pass --model for another")),
    "max_block_size": (1024, ("longer blocks cost quadratic attention memory for little gain on "
                             "most corpora")),
    "min_blocks": (200, "at least 200 training blocks, so an epoch is more than a few steps"),
    "lr_scheduler_type": ("cosine", ("cosine decay after warmup, the usual language-model "
                                    "schedule")),
    "warmup": (0.05, "5 % of the steps warm up the learning rate"),
    "max_grad_norm": (1.0, "clips rare large gradients (loss spikes)"),
    "seed": (42, "fixed so that two runs of the same config are comparable"),
    "save_total_limit": (2, "keeps the best and the latest checkpoint"),
    "early_stopping_patience": (3, "stops after 3 evaluations without a lower validation loss"),
    "validation_fraction": (0.05, ("5 % of the documents when the project has no validation "
                                  "split")),
    "max_new_tokens": (64, "long enough to judge the style of a sample, short enough to read"),
    "temperature": (0.8, "a little below 1: varied but coherent samples"),
    "top_p": (0.95, "nucleus sampling drops the unlikely tail"),
    "top_k": (50, "and at most the 50 likeliest tokens"),
    "repetition_penalty": (1.1, "discourages loops, common in small models"),
    "num_return_sequences": (2, "two samples per prompt show the variation"),
}

# (largest parameter count, learning rate, what the models are) for continued training ...
GENERATION_CONTINUED_LEARNING_RATES = (
    (20_000_000, 5e-4, "very small models (under 20 M parameters)"),
    (200_000_000, 1e-4, "small models (20-200 M parameters)"),
    (2_000_000_000, 5e-5, "models of 0.2-2 B parameters"),
    (None, 2e-5, "models over 2 B parameters (continued pretraining keeps steps small)"),
)
# ... and for training from scratch (GPT-3 paper, table 2.1: smaller models train at higher
# rates, 6e-4 at 125 M parameters).
GENERATION_SCRATCH_LEARNING_RATES = (
    (20_000_000, 1e-3, "very small models (under 20 M parameters)"),
    (200_000_000, 6e-4, "models up to 200 M parameters, as GPT-3 125M"),
    (None, 3e-4, "larger models"),
)
# Epochs by corpus size in tokens: small corpora are seen several times.
GENERATION_EPOCHS = ((1_000_000, 8), (100_000_000, 3), (1_000_000_000, 2), (None, 1))
# Small Llama-style architectures for --from-scratch, by corpus tokens (about 20 tokens per
# parameter is compute-optimal, Hoffmann et al. 2022; tiny corpora get tiny models).
SCRATCH_ARCHITECTURES = (
    (2_000_000, {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "intermediate_size": 512}),
    (50_000_000, {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
                  "intermediate_size": 1024}),
    (1_000_000_000, {"hidden_size": 512, "num_hidden_layers": 8, "num_attention_heads": 8,
                     "intermediate_size": 2048}),
    (None, {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
            "intermediate_size": 3072}),
)

FINE_TUNING = {
    "model": ("HuggingFaceTB/SmolLM2-135M-Instruct",
              ("a small (135 M parameters) instruction-tuned Llama-style model with a chat "
               "template; pass --model for another")),
    "classification_model": CLASSIFICATION["model"],
    "method": ("lora", ("LoRA: low-rank adapters on the frozen model train a small share of "
                        "the parameters and save a file of a few MB; QLoRA only when a 16-bit "
                        "base model does not fit")),
    "lora_r": (16, ("rank 16: with every linear layer adapted, the rank matters little (QLoRA "
                    "paper, appendix: r 8-64 perform alike); 16 leaves headroom")),
    "trained_layer_share": (0.25, ("training only the top quarter of the blocks keeps about 90 % "
                                   "of full fine-tuning's quality (Lee et al. 2019, 'What Would "
                                   "Elsa Do? Freezing Layers During Transformer Fine-Tuning')")),
    "validation_fraction": (0.1, ("10 % of the examples when the project has no validation "
                                  "split")),
    "max_length_cap": (2048, "longer examples cost quadratic attention time for few examples"),
    "template_tokens": (32, "role markers and separators added by the chat template"),
    "warmup": (0.03, "3 % of the steps warm up the learning rate (the QLoRA recipe)"),
    "lr_scheduler_type": ("cosine", "cosine decay after warmup, as in the LoRA/QLoRA recipes"),
    "weight_decay": (0.0, ("adapters start at zero and are few: no decay, as in the LoRA "
                           "paper")),
    "max_grad_norm": (0.3, "the QLoRA recipe clips gradients at 0.3 for stable adapter training"),
    # Effective batch by training examples.
    "effective_batch": ((10_000, 16), (None, 32)),
    # Epochs by training examples: small sets are read several times; early stopping guards.
    "epochs": ((1_000, 5), (10_000, 3), (100_000, 2), (None, 1)),
}

# Adapters take larger steps than full fine-tuning (LoRA paper: 2e-4..5e-4; QLoRA: 2e-4 up to
# 13B, 1e-4 for 33B and 65B); very small models tolerate larger ones still.
FINE_TUNING_LORA_LEARNING_RATES = (
    (20_000_000, 1e-3, "very small models (under 20 M parameters) train adapters at 1e-3"),
    (20_000_000_000, 2e-4, "adapters train at 2e-4 on models up to 13-20 B (QLoRA paper)"),
    (None, 1e-4, "the QLoRA paper uses 1e-4 for 33 B and 65 B models"),
)
