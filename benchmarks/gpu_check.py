"""GPU check (issue 16): trainwright's memory estimate against what three trainings use on a GPU.

Goal: on a GPU machine, show side by side for three planned configs what ``trainwright
estimate`` predicts as the peak memory and what the run reaches
(``torch.cuda.max_memory_allocated()`` / ``max_memory_reserved()``), with samples/s, tokens/s
and MFU, so a wrong memory model or a slow generated script shows up in one table.

The three checks (projects and models built under benchmarks/_work/gpu_check/, rebuilt on every
run; the models are built from a config with random weights, nothing is downloaded):

* ``classification``: an encoder classification, a BERT-base-sized encoder (12 layers, hidden
  768, 110 M parameters), support tickets of log-normal length in 4 classes
  (bench_throughput.ticket_rows);
* ``generation``: causal-LM training of a GPT-2-small-sized Llama (12 layers, hidden 768,
  vocabulary 32,000, 110 M parameters) on a text corpus;
* ``sft``: LoRA supervised fine-tuning of a Llama with grouped-query attention (16 layers,
  hidden 1,024, 210 M parameters) on chat rows (bench_sft.chat_row).

Each is planned through trainwright's library API for this machine's GPU (``pipeline.prepare``
and ``write.apply_changes``, as ``trainwright init --yes`` does; planning needs only the model's
config.json and tokenizer), its memory estimated with ``planning.estimate.estimate_config``
(the ``total`` / peak that ``trainwright estimate`` prints), then the weights are written and
the generated train.py runs unchanged for ``--steps`` optimiser steps (``--set`` only for the run
length, the output folder, and no evaluation or checkpointing inside the loop) under
benchmarks/observe_trainer.py, which records the tokens of every micro-batch and the CUDA peaks
when ``train()`` returns.

* samples/s and tokens/s (non-padding tokens) over the steps after the first ``--warmup``
  optimiser steps (CUDA start-up, kernel selection), and over the whole of ``train()``;
* MFU: 6 x parameters x tokens / time / the GPU's dense bf16 peak (trainwright.planning.gpus).
  For LoRA, whose frozen weights get no weight gradients, the real work is nearer 4 x, so its
  MFU reads high by about a half.

Usage (on a machine with an NVIDIA GPU):
    python benchmarks/gpu_check.py                 # plan, run the three checks, print the table
    python benchmarks/gpu_check.py --steps 50 --only sft
    python benchmarks/gpu_check.py --plan-only     # plan and estimate only (any machine; plans
                                                   # for --gpu, default this GPU or an A100-80GB)

Without a GPU it plans, prints the estimates and stops: exit 0 with --plan-only, else exit 2.
Results: the table on stdout and benchmarks/results/gpu_check.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "gpu_check"
RESULTS = HERE / "results"
OBSERVER = HERE / "observe_trainer.py"
sys.path[:0] = [str(HERE), str(ROOT / "src")]

DEFAULT_STEPS = 30
DEFAULT_WARMUP = 5
DEFAULT_GPU = "a100-80gb"  # what --plan-only plans for on a machine without a GPU
TOKENIZER_VOCAB = 4000  # trained on the data; the model's vocabulary is larger, as real ones are


@dataclass(frozen=True)
class Check:
    name: str
    task: str  # trainwright init TYPE
    architecture: str  # bert | llama
    model_config: dict
    rows: int
    method: str | None = None


CHECKS = (
    Check("classification", "classification", "bert",
          {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
           "intermediate_size": 3072, "max_position_embeddings": 512, "vocab_size": 30_522},
          rows=4000),
    Check("generation", "generation", "llama",
          {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
           "num_key_value_heads": 12, "intermediate_size": 2048,
           "max_position_embeddings": 1024, "vocab_size": 32_000, "tie_word_embeddings": True},
          rows=3000),
    Check("sft", "fine-tuning", "llama",
          {"hidden_size": 1024, "num_hidden_layers": 16, "num_attention_heads": 16,
           "num_key_value_heads": 4, "intermediate_size": 2816,
           "max_position_embeddings": 2048, "vocab_size": 32_000, "tie_word_embeddings": True},
          rows=3000, method="lora"),
)


@dataclass
class PlannedCheck:
    """One check after planning: where its files are, what the estimate says, how to run it."""

    name: str
    task: str
    project: Path
    model_dir: Path
    architecture: str
    config: dict
    parameters: int
    device: str
    peak_tflops: float
    estimate_peak_mib: float
    estimate_components: dict
    estimate_fits: bool
    command: list[str]  # run in `project`
    output_dir: Path
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Projects: data, tokenizer, model config (weights only when the check runs)
# ---------------------------------------------------------------------------------------------


def corpus_document(rng: random.Random) -> str:
    """Story sentences of log-normal count (median 8, long tail): a text corpus."""
    from bench_sft import ANIMALS, story_sentence

    count = int(min(120, max(1, rng.lognormvariate(math.log(8), 0.8))))
    animal = rng.choice(list(ANIMALS))
    return " ".join(story_sentence(rng, animal) for _ in range(count))


def write_data(check: Check, project: Path, seed: int = 5) -> list[str]:
    """The check's data files under project/data; returns texts to train the tokenizer on."""
    from bench_sft import chat_row, write_jsonl
    from bench_throughput import ticket_rows, write_csv

    validation = check.rows // 10
    if check.task == "classification":
        rows = ticket_rows(check.rows, seed=seed)
        write_csv(project / "data" / "train.csv", rows[validation:])
        write_csv(project / "data" / "validation.csv", rows[:validation])
        return [text for text, _ in rows]
    if check.task == "generation":
        rng = random.Random(seed)
        documents = [corpus_document(rng) for _ in range(check.rows)]
        folder = project / "data"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "train.txt").write_text("\n".join(documents[validation:]) + "\n",
                                          encoding="utf-8")
        (folder / "validation.txt").write_text("\n".join(documents[:validation]) + "\n",
                                               encoding="utf-8")
        return documents
    rng = random.Random(seed)
    rows = [chat_row(rng) for _ in range(check.rows)]
    write_jsonl(project / "data" / "train.jsonl", rows[validation:])
    write_jsonl(project / "data" / "validation.jsonl", rows[:validation])
    return [message["content"] for row in rows for message in row["messages"]]


CHATML_TEMPLATE = (  # as tests/builders.py's chat Llama
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_model_folder(check: Check, folder: Path, texts: list[str]) -> None:
    """A tokenizer trained on the texts and the model's config.json; no weights yet."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import BertConfig, LlamaConfig, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    positions = check.model_config["max_position_embeddings"]
    if check.architecture == "bert":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(
            vocab_size=TOKENIZER_VOCAB, special_tokens=specials))
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
        fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]",
                                       pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                                       mask_token="[MASK]", model_max_length=positions)
        BertConfig(**check.model_config).save_pretrained(folder)
    else:
        chat = check.task == "fine-tuning"
        specials = ["<s>", "</s>"] + (["<|im_start|>", "<|im_end|>"] if chat else [])
        tokenizer = Tokenizer(models.BPE(unk_token=None))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.train_from_iterator(texts, trainers.BpeTrainer(
            vocab_size=TOKENIZER_VOCAB, special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>",
                                       eos_token="<|im_end|>" if chat else "</s>",
                                       model_max_length=positions)
        if chat:
            fast.chat_template = CHATML_TEMPLATE
        LlamaConfig(**check.model_config, bos_token_id=fast.bos_token_id,
                    eos_token_id=fast.eos_token_id).save_pretrained(folder)
    fast.save_pretrained(folder)


def materialise_weights(planned: PlannedCheck, seed: int = 0) -> None:
    """Random weights for the config (an encoder without a head for BERT, as a hub model)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    if any(planned.model_dir.glob("*.safetensors")):
        return
    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(planned.model_dir)
    builder = AutoModel if planned.architecture == "bert" else AutoModelForCausalLM
    builder.from_config(config).save_pretrained(planned.model_dir)


# ---------------------------------------------------------------------------------------------
# Planning (no GPU needed; tests/test_gpu_check.py calls plan_checks)
# ---------------------------------------------------------------------------------------------


def run_overrides(steps: int, output_dir: Path) -> list[str]:
    """The only changes to the generated setup: run length, where outputs go, and no
    evaluation / checkpointing inside the timed loop."""
    sets = {
        "training.max_steps": str(steps),
        "training.output_dir": f"'{output_dir}'",
        "training.eval_strategy": "'no'",
        "training.save_strategy": "'no'",
        "training.load_best_model_at_end": "false",
        "training.report_to": "'none'",
    }
    return [part for key, value in sets.items() for part in ("--set", f"{key}={value}")]


def estimate_peak(memory) -> float:
    """The estimate's peak: its total when it has one, else the sum of its components."""
    total = getattr(memory, "total_mib", None)
    return float(total) if total is not None else float(sum(memory.components.values()))


def plan_check(check: Check, root: Path, hardware, steps: int) -> PlannedCheck:
    """Build the check's project under root/<name>, plan and write its setup, estimate it."""
    import yaml

    from trainwright.errors import UserError
    from trainwright.pipeline import prepare
    from trainwright.planning import Options
    from trainwright.planning.estimate import estimate_config
    from trainwright.planning.gpus import lookup_gpu, spec_for
    from trainwright.write import apply_changes

    project = root / check.name
    shutil.rmtree(project, ignore_errors=True)
    texts = write_data(check, project)
    model_dir = project / "models" / check.name
    build_model_folder(check, model_dir, texts)

    options = Options(model=f"models/{check.name}", method=check.method, report_to="none")
    prepared = prepare(check.task, project, options, hardware=hardware, pictures=False,
                       regenerate_command=f"trainwright init {check.task} . --force")
    apply_changes(prepared.facts.root, prepared.changes)
    config = yaml.safe_load(prepared.files[prepared.plan.config_path])

    gpu = hardware.gpus[0] if hardware.gpus else None
    spec = None
    if gpu is not None:
        try:
            spec = lookup_gpu(gpu.name)
        except UserError:  # a GPU the table does not know: its memory, an assumed peak
            spec = spec_for(gpu)
        spec = replace(spec, memory_mib=gpu.memory_mib)
    estimate = estimate_config(config, prepared.model, spec, hardware.ram_mib, None, None)
    output_dir = root / "runs" / check.name
    command = [sys.executable, prepared.plan.script_path, "--config", prepared.plan.config_path,
               "--no-resume", *run_overrides(steps, output_dir)]
    return PlannedCheck(
        name=check.name, task=check.task, project=project, model_dir=model_dir,
        architecture=check.architecture, config=config,
        parameters=int(prepared.model.num_parameters or 0),
        device=estimate.device, peak_tflops=spec.peak_tflops if spec else 0.0,
        estimate_peak_mib=estimate_peak(estimate.memory),
        estimate_components=dict(estimate.memory.components), estimate_fits=estimate.fits,
        command=command, output_dir=output_dir)


def plan_checks(root: Path, hardware, steps: int = DEFAULT_STEPS, only: tuple[str, ...] = (),
                rows: int | None = None) -> list[PlannedCheck]:
    """Plan the checks (those named in `only`, else all) for `hardware`'s first GPU; `rows`
    replaces each check's number of data rows (a smaller project plans faster)."""
    return [plan_check(replace(check, rows=rows) if rows else check, root, hardware, steps)
            for check in CHECKS if not only or check.name in only]


def planning_hardware(gpu_name: str | None):
    """This machine's hardware, its GPU replaced by --gpu (or, without a GPU, an A100-80GB)."""
    from trainwright.discovery.hardware import probe_hardware
    from trainwright.planning.gpus import lookup_gpu

    hardware = probe_hardware()
    if gpu_name or not hardware.gpus:
        gpu = lookup_gpu(gpu_name or DEFAULT_GPU).as_gpu()
        hardware = replace(hardware, gpus=(gpu,), source=f"planned for {gpu.name}")
    return hardware


# ---------------------------------------------------------------------------------------------
# Running (GPU only)
# ---------------------------------------------------------------------------------------------


def env_for_runs() -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    return env


def run_check(planned: PlannedCheck, warmup: int) -> dict:
    """Weights, then the generated train.py under the observer; the measured figures."""
    materialise_weights(planned)
    shutil.rmtree(planned.output_dir, ignore_errors=True)
    out = planned.output_dir.parent / f"{planned.name}.observed.json"
    log = planned.output_dir.parent / f"{planned.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(OBSERVER), str(out), *planned.command[1:]]
    print(f"  {planned.name}: {' '.join(command)}", flush=True)
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        completed = subprocess.run(command, cwd=planned.project, stdout=handle,
                                   stderr=subprocess.STDOUT, env=env_for_runs(), check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        return {"error": f"exit {completed.returncode}; last lines of {log}:\n{tail}"}
    record = json.loads(out.read_text(encoding="utf-8"))
    return measured(planned, record, warmup, wall)


def measured(planned: PlannedCheck, record: dict, warmup: int, wall: float) -> dict:
    train = record["trains"][-1]
    runtime = train["train_runtime"]
    accumulation = train["gradient_accumulation_steps"]
    examples_per_step = train["per_device_train_batch_size"] * accumulation
    times, tokens = record["batch_end_times"], record["batch_tokens"]
    skip = warmup * accumulation  # micro-batches of the warm-up steps
    steady = {}
    if len(times) > skip + accumulation:
        span = times[-1] - times[skip - 1] if skip else times[-1] - record["train_started"]
        steps = (len(times) - skip) / accumulation
        steady_tokens = sum(tokens[skip:])
        steady = {"steady_steps": steps,
                  "steady_samples_per_second": steps * examples_per_step / span,
                  "steady_tokens_per_second": steady_tokens / span}
    peak = planned.peak_tflops * 1e12
    result = {
        "steps": train["global_step"],
        "train_runtime_s": runtime,
        "process_wall_s": wall,
        "cuda_max_allocated_mib": train.get("cuda_max_allocated_mib"),
        "cuda_max_reserved_mib": train.get("cuda_max_reserved_mib"),
        "cuda_device": train.get("cuda_device"),
        "samples_per_second": record["examples"] / runtime,
        "tokens_per_second": record["tokens"] / runtime,
        "padding_share": 1 - record["tokens"] / max(1, record["positions"]),
        **steady,
    }
    rate = result.get("steady_tokens_per_second", result["tokens_per_second"])
    result["mfu"] = 6 * planned.parameters * rate / peak if peak else None
    if result["cuda_max_allocated_mib"]:
        result["estimate_over_allocated"] = (planned.estimate_peak_mib
                                             / result["cuda_max_allocated_mib"])
    return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def describe(planned: PlannedCheck) -> str:
    training, data = planned.config["training"], planned.config.get("data", {})
    length = data.get("max_length") or data.get("block_size")
    return (f"{planned.parameters / 1e6:.0f}M, batch {training['per_device_train_batch_size']}"
            f"x{training.get('gradient_accumulation_steps', 1)}, length {length}")


def print_plan(planned: list[PlannedCheck]) -> None:
    print(f"\n{'check':<15} {'model, batch, length':<30} {'estimate MiB':>12} {'fits':>5}  "
          "command (in the project folder)")
    for check in planned:
        print(f"{check.name:<15} {describe(check):<30} {check.estimate_peak_mib:>12,.0f} "
              f"{'yes' if check.estimate_fits else 'NO':>5}  "
              f"{' '.join(check.command[1:5])} ...")
    print(f"estimated for {planned[0].device}" if planned else "nothing planned")


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def print_results(planned: list[PlannedCheck], results: dict[str, dict]) -> None:
    print(f"\n{'check':<15} {'model, batch, length':<30} {'estimate':>9} {'allocated':>10} "
          f"{'reserved':>9} {'est/alloc':>9} {'samples/s':>10} {'tokens/s':>10} {'MFU':>6}")
    for check in planned:
        result = results[check.name]
        if "error" in result:
            print(f"{check.name:<15} failed: {result['error']}")
            continue
        ratio = result.get("estimate_over_allocated")
        samples = result.get("steady_samples_per_second", result["samples_per_second"])
        tokens = result.get("steady_tokens_per_second", result["tokens_per_second"])
        mfu = "-" if result["mfu"] is None else f"{result['mfu']:.1%}"
        print(f"{check.name:<15} {describe(check):<30} {_mib(check.estimate_peak_mib):>9} "
              f"{_mib(result['cuda_max_allocated_mib']):>10} "
              f"{_mib(result['cuda_max_reserved_mib']):>9} "
              f"{'-' if ratio is None else f'{ratio:.2f}':>9} {samples:>10.1f} {tokens:>10,.0f} "
              f"{mfu:>6}")
    print("MiB: the estimate's peak (planning.estimate), torch.cuda.max_memory_allocated() / "
          "max_memory_reserved() when train() returned; samples/s, tokens/s (non-padding) and "
          "MFU (6 x parameters x tokens/s / peak) after the warm-up steps")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan-only", action="store_true",
                        help="plan and estimate, do not train (exit 0 without a GPU)")
    parser.add_argument("--gpu", help=f"plan for this GPU (t4, a100-80gb, h100, ...) instead of "
                                      f"this machine's; without a GPU: {DEFAULT_GPU}")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"optimiser steps per check (default {DEFAULT_STEPS})")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help="steps left out of the steady-state rates (default "
                             f"{DEFAULT_WARMUP})")
    parser.add_argument("--only", action="append", choices=[check.name for check in CHECKS],
                        help="run only this check (repeatable)")
    parser.add_argument("--output", type=Path, default=RESULTS / "gpu_check.json")
    args = parser.parse_args(argv)
    if args.warmup >= args.steps:
        parser.error("--warmup must be below --steps")

    import torch

    has_gpu = torch.cuda.is_available()
    hardware = planning_hardware(args.gpu)
    print(f"Planning the checks for {hardware.gpus[0].name} under {WORK} ...", flush=True)
    planned = plan_checks(WORK, hardware, args.steps, tuple(args.only or ()))
    print_plan(planned)
    if args.plan_only:
        return 0
    if not has_gpu:
        print("\nNo CUDA GPU here: the checks were planned and estimated, not run. Run this on a "
              "machine with an NVIDIA GPU, or pass --plan-only to stop after planning.",
              file=sys.stderr)
        return 2
    if args.gpu:
        print(f"note: planned for --gpu {args.gpu}, running on {torch.cuda.get_device_name(0)}")

    print("\nRunning:", flush=True)
    results = {check.name: run_check(check, args.warmup) for check in planned}
    print_results(planned, results)
    document = {
        "benchmark": "gpu_check",
        "command": "python benchmarks/" + Path(__file__).name + " "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__},
        "checks": {check.name: {"model": describe(check), "parameters": check.parameters,
                                "estimate_peak_mib": check.estimate_peak_mib,
                                "estimate_components_mib": check.estimate_components,
                                "estimate_fits": check.estimate_fits,
                                "peak_tflops": check.peak_tflops,
                                "training": check.config["training"],
                                **results[check.name]} for check in planned},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output}")
    return 1 if any("error" in result for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
