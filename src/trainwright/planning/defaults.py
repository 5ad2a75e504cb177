"""Per-task default tables, in one place. Planning adjusts these by the discovered facts.

Each entry is (value, reason). A new training type adds its table here and a template in
render/templates/<type>/.
"""

from __future__ import annotations

CLASSIFICATION = {
    "model": ("distilbert/distilbert-base-uncased",
              "a small (66 M parameters), fast and strong English encoder; pass --model for "
              "another (a multilingual one for non-English text)"),
    "weight_decay": (0.01, "the BERT fine-tuning default; regularises without slowing learning"),
    "lr_scheduler_type": ("linear", "linear decay after warmup, as in the BERT fine-tuning recipe"),
    "max_grad_norm": (1.0, "clips rare large gradients that destabilise fine-tuning"),
    "seed": (42, "fixed so that two runs of the same config are comparable"),
    "save_total_limit": (2, "keeps the best and the latest checkpoint; older ones use disk"),
    "early_stopping_patience": (3, "stops after 3 evaluations without improvement of the "
                                   "best-model metric"),
    "early_stopping_threshold": (0.0, "any improvement counts"),
    "validation_fraction": (0.1, "10 % of the training rows, stratified by label, when the "
                                 "project has no validation split"),
    "imbalance_ratio": (1.5, "class weights are used when the largest class has at least 1.5x "
                             "the rows of the smallest"),
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
