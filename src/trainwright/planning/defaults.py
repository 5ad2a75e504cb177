"""Per-task default tables, in one place. Planning adjusts these by the discovered facts.

Every task has a row of the same shared keys (what the shared rules in planning/skeleton.py
read) and adds its own. A plain entry is (value, reason, comment): the reason is the whole
reasoning (README-TRAINING.md), the comment the short clause beside the value in the YAML.
Size tables are ((limit, value, ...), ...) rows read with pick_by_table, the last limit None.
A new training type adds its table here, a planner of what differs and a template.
"""

from __future__ import annotations

from typing import Any

from trainwright.planning.plan import Choice

SEED = (42, "fixed so that two runs of the same config are comparable", "fixed for comparable runs")
SAVE_TOTAL_LIMIT = (2, "keeps the best and the latest checkpoint; older ones use disk",
                    "the best and the latest checkpoint")
EARLY_STOPPING_THRESHOLD = (0.0, "any improvement counts", "any improvement counts")
# The evaluation before training: a reference point on the curve, not a result, so a bounded
# sample of the validation split measures it (train.py: evaluation.before_training_samples).
BEFORE_TRAINING_SAMPLES = (256, ("the loss before training is a reference point for the "
                                 "curve, not a result, so at most 256 examples measure it"),
                           "validation examples evaluated before training; 0: none")

CLASSIFICATION: dict[str, Any] = {
    "model": ("distilbert/distilbert-base-uncased",
              ("a small, fast and strong English encoder; pass --model for "
               "another (a multilingual one for non-English text)"),
              "a small, fast English encoder"),
    "output_dir": ("outputs/classification", "checkpoints, the final model and metrics",
                   "checkpoints, the final model and metrics"),
    "weight_decay": (0.01, "the BERT fine-tuning default; regularises without slowing learning",
                     "the BERT fine-tuning default"),
    "lr_scheduler_type": ("linear", "linear decay after warmup, as in the BERT fine-tuning recipe",
                          "linear decay after warmup, as in BERT fine-tuning"),
    "max_grad_norm": (1.0, "clips rare large gradients that destabilise fine-tuning",
                      "clips rare large gradients"),
    "seed": SEED,
    "save_total_limit": SAVE_TOTAL_LIMIT,
    "early_stopping_patience": (3, ("stops after 3 evaluations without improvement of the "
                                    "best-model metric"),
                                "evaluations without improvement before stopping"),
    "early_stopping_threshold": EARLY_STOPPING_THRESHOLD,
    "validation_fraction": (0.1, ("10 % of the training rows, stratified by label, when the "
                                  "project has no validation split"),
                            "share of the training rows held out (stratified) without a split"),
    "imbalance_ratio": (1.5, ("class weights are used when the largest class has at least 1.5x "
                              "the rows of the smallest")),
    "max_length_cap": (512, "the usual position limit of BERT-style encoders"),
    "min_length": 16,  # the shortest max_length worth suggesting when nothing fits
    "cpu_batch": 16,  # per-device batch on a CPU, where memory is not the limit
    "eval_batch_factor": 2,  # evaluation keeps no gradients: twice the training batch fits
    "search_trials": 20,
    # Multi-label: the decision threshold while training, then tuned on validation.
    "threshold": (0.5, ("0.5 on the sigmoid of each label while training; after training the "
                        "threshold (0.05 to 0.95) with the best validation F1, of the kind the "
                        "run is judged by, is chosen and saved with the model"),
                  "the starting threshold; tuned on validation and saved with the model"),
    "max_pos_weight": 100.0,  # a very rare label may not outweigh the rest of the loss
}

# What a label column may hold (planning/label_columns.py), one reason each.
LABELS: dict[str, Any] = {
    "max_classes": 100,  # more classes than this is rarely a label of texts (and is too few rows)
    "numeric_class_limit": 10,  # numbers with more distinct values are a quantity (regression)
    "identifier_share": 0.9,  # nearly every value unique: an identifier, not a label
    "identifier_min_rows": 20,  # below this many rows a unique value per row proves little
    "max_label_words": 5,  # values longer than this on average are free text
    "min_text_words": 3,  # a text column holds at least a few words a row on average
    "min_class_rows": 2,  # a class needs rows to learn from, and 2 to appear in both splits
    "max_validation_fraction": 0.3,  # at most this share is held out to fit every class
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
# Without a parameter count: the base-size rate of the BERT fine-tuning recipe.
CLASSIFICATION_UNKNOWN_SIZE_RATE = 3e-5

# Epochs by training rows: small datasets need more passes; early stopping ends a run early.
CLASSIFICATION_EPOCHS = (
    (1_000, 10), (5_000, 6), (20_000, 4), (100_000, 3), (None, 2),
)

# Effective batch by training rows: more, smaller updates on small datasets.
CLASSIFICATION_EFFECTIVE_BATCH = ((5_000, 16), (None, 32))

GENERATION: dict[str, Any] = {
    "model": ("HuggingFaceTB/SmolLM2-135M",
              ("a small Llama-style model that trains on one consumer GPU; "
               "pass --model for another"),
              "a small Llama-style model"),
    "output_dir": ("outputs/generation", "checkpoints, the final model, samples and metrics",
                   "checkpoints, the final model, samples and metrics"),
    "max_block_size": (1024, ("longer blocks cost quadratic attention memory for little gain on "
                              "most corpora")),
    "min_blocks": (200, "at least 200 training blocks, so an epoch is more than a few steps"),
    # Below this a corpus cannot train at all: init stops and says how much text is needed.
    "smallest_block_size": (64, "blocks shorter than 64 tokens teach little beyond bigrams"),
    "min_train_blocks": (8, "fewer than 8 blocks of the smallest size is not a training set"),
    "lr_scheduler_type": ("cosine", ("cosine decay after warmup, the usual language-model "
                                     "schedule"),
                          "cosine decay after warmup, the usual language-model schedule"),
    "warmup": (0.05, "5 % of the steps warm up the learning rate",
               "share of the steps that warm up the learning rate"),
    "max_grad_norm": (1.0, "clips rare large gradients (loss spikes)", "clips loss spikes"),
    "seed": SEED,
    "save_total_limit": SAVE_TOTAL_LIMIT,
    "early_stopping_patience": (3, "stops after 3 evaluations without a lower validation loss",
                                "evaluations without a lower loss before stopping"),
    "early_stopping_threshold": EARLY_STOPPING_THRESHOLD,
    "validation_fraction": (0.05, ("5 % of the documents when the project has no validation "
                                   "split"),
                            "share of the documents held out without a validation split"),
    "max_new_tokens": (64, "long enough to judge the style of a sample, short enough to read",
                       "long enough to judge a sample's style"),
    "temperature": (0.8, "a little below 1: varied but coherent samples",
                    "below 1: varied but coherent"),
    "top_p": (0.95, "nucleus sampling drops the unlikely tail", "nucleus sampling"),
    "top_k": (50, "and at most the 50 likeliest tokens", "at most this many likeliest tokens"),
    "repetition_penalty": (1.1, "discourages loops, common in small models",
                           "discourages loops, common in small models"),
    "num_return_sequences": (2, "two samples per prompt show the variation",
                             "samples per prompt"),
    "min_length": 64,
    "cpu_batch": 8,
    "eval_batch_factor": 1,
    "search_trials": 12,
    "before_training_samples": BEFORE_TRAINING_SAMPLES,
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
# Effective batch in blocks by training blocks.
GENERATION_EFFECTIVE_BATCH = ((2_000, 8), (None, 32))
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

FINE_TUNING: dict[str, Any] = {
    "model": ("HuggingFaceTB/SmolLM2-135M-Instruct",
              ("a small instruction-tuned Llama-style model with a chat "
               "template; pass --model for another"),
              "a small instruction-tuned model with a chat template"),
    "classification_model": CLASSIFICATION["model"],
    "output_dir": ("outputs/fine-tuning", "checkpoints, the adapter (or model) and metrics",
                   "checkpoints, the adapter (or model) and metrics"),
    "method": ("lora", ("LoRA: low-rank adapters on the frozen model train a small share of "
                        "the parameters and save a file of a few MB; QLoRA only when a 16-bit "
                        "base model does not fit; --method overrides"),
               "low-rank adapters on the frozen model; --method overrides"),
    "lora_r": (16, ("rank 16: with every linear layer adapted, the rank matters little (QLoRA "
                    "paper, appendix: r 8-64 perform alike); 16 leaves headroom"),
               "adapter rank; with every linear layer adapted it matters little"),
    "trained_layer_share": (0.25, ("training only the top quarter of the blocks keeps about 90 % "
                                   "of full fine-tuning's quality (Lee et al. 2019, 'What Would "
                                   "Elsa Do? Freezing Layers During Transformer Fine-Tuning')")),
    "validation_fraction": (0.1, ("10 % of the examples when the project has no validation "
                                  "split"),
                            "share of the examples held out without a validation split"),
    "max_length_cap": (2048, "longer examples cost quadratic attention time for few examples"),
    "template_tokens": (32, "role markers and separators added by the chat template"),
    # Adapters start at zero (LoRA's B matrix), so the first steps start from the base model's
    # own outputs, and clipping at 0.3 bounds them: a warmup only holds them back (its first
    # step trains at a rate of 0).
    "warmup": (0, ("no warmup: the adapters start at zero, so the first steps start from the "
                   "base model's own outputs and clipping bounds them; measured on SmolLM2-135M "
                   "LoRA (benchmarks/bench_sft.py, 40 steps): validation loss 1.607 without "
                   "warmup, 1.640 with 3 % of the steps (the QLoRA recipe)"),
               "adapters start at zero: no warmup"),
    "trained_warmup": (0.03, ("the model's own weights train (no adapters): 3 % of the steps "
                              "warm up the learning rate, as in the QLoRA recipe"),
                       "share of the steps that warm up the learning rate"),
    "lr_scheduler_type": ("cosine", "cosine decay from the peak rate, as in the LoRA recipes",
                          "cosine decay from the peak rate"),
    "weight_decay": (0.0, ("adapters start at zero and are few: no decay, as in the LoRA "
                           "paper"),
                     "adapters start at zero: no decay, as in the LoRA paper"),
    "max_grad_norm": (0.3, ("the QLoRA recipe clips gradients at 0.3 for stable adapter "
                            "training (measured on SmolLM2-135M LoRA, benchmarks/bench_sft.py: "
                            "validation loss 1.640 after 40 steps at 0.3, 1.683 at 1.0)"),
                      "the QLoRA recipe's clipping, for stable adapters"),
    # Freezing layers and full fine-tuning train the model's own weights, not zero-started
    # adapters: the regularisation and clipping of full fine-tuning recipes.
    "trained_weight_decay": (0.01, ("the model's own weights train (no adapters): light decay, "
                                    "as in the BERT fine-tuning recipe"),
                             "light decay of the model's own trained weights"),
    "trained_max_grad_norm": (1.0, "clips rare large gradients of the model's own weights",
                              "clips rare large gradients"),
    "seed": SEED,
    "save_total_limit": SAVE_TOTAL_LIMIT,
    "early_stopping_patience": (3, "stops after 3 evaluations without improvement",
                                "evaluations without improvement before stopping"),
    "early_stopping_threshold": EARLY_STOPPING_THRESHOLD,
    "num_prompts": (3, "the first validation prompts are answered after training",
                    "validation prompts answered after training"),
    "max_new_tokens": (64, "long enough to judge an answer, short enough to read",
                       "long enough to judge an answer"),
    "do_sample": (False, "greedy decoding: the same answer on every run",
                  "greedy decoding: the same answer on every run"),
    "min_length": 64,
    "cpu_batch": 8,
    "eval_batch_factor": 1,
    "search_trials": 12,
    "before_training_samples": BEFORE_TRAINING_SAMPLES,
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

# How much each sign that a data candidate is the training data counts (planning/ranking.py):
# (weight, why).
DATA_EVIDENCE: dict[str, tuple[float, str]] = {
    "train_split": (3.0, "its name or folder says train"),
    "evaluation_split": (-3.0, "named validation or test: evaluated on, not trained on"),
    "data_folder": (2.0, "in a folder named data, datasets, dataset, corpus or corpora"),
    "fixture_folder": (-3.0, "under tests/, fixtures/ or docs/: usually a few rows for tests"),
    "referenced": (3.0, "a script or config of the project names it"),
    "rows_per_decade": (1.0, "a point per factor of ten rows: real data has many"),
    "rows_cap": (6.0, "beyond a million rows, size says nothing more"),
    "empty": (-5.0, "no rows at all"),
    "text_column": (1.0, "a column of text to train on"),
    "label_column": (2.0, "classification: a column of labels"),
    "hub": (3.0, "a Hub dataset named with --data"),
    "ambiguity_margin": (1.0, ("candidates closer than this and holding different data are "
                               "asked about, not picked")),
}

TABLES = {"classification": CLASSIFICATION, "generation": GENERATION,
          "fine-tuning": FINE_TUNING}


def default(table: dict[str, Any], key: str) -> Choice:
    """The table's entry for key as a Choice."""
    value, reason, *comment = table[key]
    return Choice(value, reason, comment[0] if comment else "")


def pick_by_table(table: tuple, amount: float):
    """First entry of a ((limit, value...), ...) table whose limit exceeds amount."""
    for limit, *rest in table:
        if limit is None or amount < limit:
            return rest[0] if len(rest) == 1 else tuple(rest)
    raise ValueError("a default table must end with a None limit")
