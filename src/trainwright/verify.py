"""Checks on what was written: it parses, compiles, is in range, builds the installed
TrainingArguments, holds no secrets; optionally a smoke run of the generated script."""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from trainwright.config.fields import FieldSpec
from trainwright.config.validate import validate_config, validate_search_space
from trainwright.discovery.dependencies import installed_version
from trainwright.early import start_child

SECRET_PATTERNS = {
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "assigned secret": re.compile(
        r"(?i)\b(?:token|api_key|secret|password)\s*[:=]\s*[\"']?(?!your_)[A-Za-z0-9_\-]{24,}"),
}

@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False  # not run here, for the reason in detail (not a failure)


def find_secrets(text: str) -> list[str]:
    return [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


class TrainingArgumentsProbe:
    """Builds a real TrainingArguments of the installed transformers from the written config,
    in a child process (importing torch and transformers takes seconds and hundreds of MB).
    A success is remembered in ``cache`` under ``key``."""

    def __init__(self, cache: CheckCache | None = None, key: str = "",
                 process: subprocess.Popen | None = None) -> None:
        self.cache, self.key = cache, key
        self.process = process or start_child()

    def check(self, config_path: Path) -> Check:
        try:
            _, stderr = self.process.communicate(f"{config_path}\n", timeout=300)
        except subprocess.TimeoutExpired:
            self.close()
            return Check("TrainingArguments", False, "building TrainingArguments took over 300 s")
        if self.process.returncode == 0:
            if self.cache is not None:
                self.cache.store(self.key)
            return Check("TrainingArguments", True, "the training: section builds "
                                                    f"TrainingArguments of {installed_stack()}")
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        return Check("TrainingArguments", False, last)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> TrainingArgumentsProbe:  # noqa: PYI034 (Self needs Python 3.11)
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class NoChild:
    """A TrainingArguments answer that needs no child process: nothing to close."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        pass


@dataclass(frozen=True)
class CachedCheck(NoChild):
    """The same training: section built TrainingArguments of the same versions before."""

    directory: Path

    def check(self, config_path: Path) -> Check:
        return Check("TrainingArguments", True, "the same training: section built "
                                                f"TrainingArguments of {installed_stack()} before "
                                                f"(cached in {self.directory})")


@dataclass(frozen=True)
class SkippedCheck(NoChild):
    """TrainingArguments cannot be built here: the config targets another release."""

    reason: str

    def check(self, config_path: Path) -> Check:
        return Check("TrainingArguments", True, f"not built here: {self.reason}", skipped=True)


STACK = ("transformers", "torch", "accelerate")


def installed_stack() -> str:
    return ", ".join(f"{name} {installed_version(name)}" for name in STACK
                     if installed_version(name))


class CheckCache:
    """Successful TrainingArguments checks, by the training: section, the installed versions
    and whether the machine has an NVIDIA driver (train.py drops GPU settings without one)."""

    def __init__(self, directory: Path | None = None) -> None:
        default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trainwright"
        self.directory = directory or Path(os.environ.get("TRAINWRIGHT_CACHE_DIR") or default)

    def key(self, training: dict) -> str:
        facts = {"training": training, "versions": {name: installed_version(name)
                                                    for name in STACK},
                 "nvidia": shutil.which("nvidia-smi") is not None, "python": sys.version}
        text = json.dumps(facts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def hit(self, key: str) -> bool:
        return (self.directory / "training-arguments" / key).is_file()

    def store(self, key: str) -> None:
        folder = self.directory / "training-arguments"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / key).write_text(installed_stack() + "\n", encoding="utf-8")
        except OSError:
            pass  # a read-only home: the check simply runs again next time


def training_arguments_check(config_text: str, cache: CheckCache | None = None,
                             started: TrainingArgumentsProbe | None = None
                             ) -> TrainingArgumentsProbe | CachedCheck | None:
    """What checks the config's training: section against the installed TrainingArguments:
    the cache when it built before (a child ``started`` early is stopped), else that child or
    a new one; None without transformers."""
    if not installed_version("transformers"):
        if started is not None:
            started.close()
        return None
    cache = cache or CheckCache()
    try:
        training = (yaml.safe_load(config_text) or {}).get("training")
    except yaml.YAMLError:
        training = None  # the YAML check reports it; the child will fail on it too
    key = cache.key(training) if isinstance(training, dict) else ""
    if key and cache.hit(key):
        if started is not None:
            started.close()
        return CachedCheck(cache.directory)
    probe = started or TrainingArgumentsProbe()
    probe.cache, probe.key = (cache, key) if key else (None, "")
    return probe


def verify_files(root: Path, files: dict[str, str], config_path: str, script_path: str,
                 specs: dict[str, FieldSpec],
                 probe: TrainingArgumentsProbe | CachedCheck | SkippedCheck | None,
                 specs_source: str = "the installed transformers"
                 ) -> list[Check]:
    checks: list[Check] = []
    try:
        config = yaml.safe_load(files[config_path])
        checks.append(Check("YAML", True, f"{config_path} parses"))
    except yaml.YAMLError as error:
        return [Check("YAML", False, f"{config_path}: {error}")]
    try:
        space = json.loads(files["hyperparameters.json"])
        checks.append(Check("JSON", True, "hyperparameters.json parses"))
    except json.JSONDecodeError as error:
        return checks + [Check("JSON", False, f"hyperparameters.json: {error}")]
    try:
        compile(files[script_path], script_path, "exec")
        checks.append(Check("Python", True, f"{script_path} compiles"))
    except SyntaxError as error:
        checks.append(Check("Python", False, f"{script_path}:{error.lineno}: {error.msg}"))
    problems = validate_config(config, specs) + validate_search_space(space, config)
    checks.append(Check("schema", not problems, "; ".join(p.render() for p in problems)
                        or f"every key known to {specs_source}, every value in range"))
    secrets = [f"{path}: {kind}" for path, text in files.items() for kind in find_secrets(text)]
    checks.append(Check("secrets", not secrets, "; ".join(secrets) or "no secrets in any file"))
    checks += launcher_checks(files, config)
    if probe is not None:
        checks.append(probe.check(root / config_path))
    return checks


# TrainingArguments' defaults for the keys DeepSpeed's "auto" values are filled from.
DEEPSPEED_ARGUMENT_DEFAULTS = {"max_grad_norm": 1.0, "learning_rate": 5e-5, "adam_beta1": 0.9,
                               "adam_beta2": 0.999, "adam_epsilon": 1e-8, "weight_decay": 0.0,
                               "save_on_each_node": False, "fp16": False, "fp16_full_eval": False,
                               "bf16": False, "bf16_full_eval": False,
                               "per_device_train_batch_size": 8,
                               "gradient_accumulation_steps": 1}
DISTRIBUTED_TYPES = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "zero2": "DEEPSPEED",
                     "zero3": "DEEPSPEED"}


def launcher_checks(files: dict[str, str], config: dict) -> list[Check]:
    """A plan with several processes: accelerate_config.yaml loads with the installed
    accelerate and says what the config says; ds_config.json parses and DeepSpeed's
    HfTrainerDeepSpeedConfig fills it from the training section without a mismatch."""
    distributed = config.get("distributed") if isinstance(config, dict) else None
    if not isinstance(distributed, dict):
        return []
    training = config.get("training") or {}
    checks = []
    path = distributed.get("accelerate_config")
    if path in files:
        checks.append(accelerate_config_check(files[path], path, distributed))
    deepspeed = training.get("deepspeed")
    if isinstance(deepspeed, str) and deepspeed in files:
        processes = int(distributed.get("gpus", 1)) * int(distributed.get("nodes", 1))
        checks.append(deepspeed_config_check(files[deepspeed], deepspeed, training, processes))
    return checks


def accelerate_config_check(text: str, path: str, distributed: dict) -> Check:
    if not installed_version("accelerate"):
        return Check("accelerate config", True, f"{path}: accelerate is not installed, so it "
                     "was not loaded", skipped=True)
    from accelerate.commands.config.config_args import load_config_from_file

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "accelerate_config.yaml"
        copy.write_text(text, encoding="utf-8")
        try:
            loaded = load_config_from_file(str(copy))
        except (ValueError, TypeError, KeyError) as error:
            return Check("accelerate config", False, f"{path}: {error}")
    gpus, nodes = int(distributed.get("gpus", 1)), int(distributed.get("nodes", 1))
    expected = DISTRIBUTED_TYPES.get(str(distributed.get("strategy")), "")
    problems = []
    if loaded.num_processes != gpus * nodes or loaded.num_machines != nodes:
        problems.append(f"{loaded.num_processes} processes on {loaded.num_machines} machines, "
                        f"the config's distributed section says {gpus} x {nodes}")
    if str(getattr(loaded.distributed_type, "value", loaded.distributed_type)) != expected:
        problems.append(f"distributed_type {loaded.distributed_type}, the strategy needs "
                        f"{expected}")
    if loaded.mixed_precision is not None:
        problems.append(f"mixed_precision {loaded.mixed_precision}: the precision is the "
                        "training section's bf16 / fp16 alone")
    return Check("accelerate config", not problems, f"{path}: " + ("; ".join(problems) or
                 f"loads with accelerate {installed_version('accelerate')}, "
                 f"{loaded.num_processes} processes, precision from the training section"))


def deepspeed_config_check(text: str, path: str, training: dict, processes: int) -> Check:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return Check("DeepSpeed config", False, f"{path}: {error}")
    if not (installed_version("deepspeed") and installed_version("transformers")):
        return Check("DeepSpeed config", True, f"{path} parses (DeepSpeed is not installed, so "
                     "HfTrainerDeepSpeedConfig was not run)", skipped=True)
    from types import SimpleNamespace

    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    arguments = {**DEEPSPEED_ARGUMENT_DEFAULTS,
                 **{key: training[key] for key in DEEPSPEED_ARGUMENT_DEFAULTS if key in training}}
    deepspeed = HfTrainerDeepSpeedConfig(document)
    deepspeed.trainer_config_process(SimpleNamespace(world_size=processes, **arguments))
    if deepspeed.mismatches:
        return Check("DeepSpeed config", False, f"{path} disagrees with the training section: "
                     + "; ".join(line.lstrip("- ") for line in deepspeed.mismatches))
    return Check("DeepSpeed config", True, f"{path}: HfTrainerDeepSpeedConfig fills every "
                 "shared field from the training section without a mismatch")


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    seconds: float
    peak_memory_mib: float
    loss: float | None
    samples_per_second: float | None
    output_tail: str


def smoke_run(root: Path, config_path: str, script_path: str, steps: int = 3,
              samples: int = 64) -> SmokeResult:
    """Run the generated script for a few steps on a slice of the data, in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="trainwright-smoke-") as scratch:
        command = [
            sys.executable, script_path, "--config", config_path, "--max-steps", str(steps),
            "--max-samples", str(samples), "--no-resume",
            "--set", f"training.output_dir={scratch}", "--set", "training.report_to=none",
        ]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False,
                                timeout=1800)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        metrics_file = Path(scratch, "final_metrics.json")
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
    return SmokeResult(result.returncode == 0, seconds, peak, metrics.get("train_loss"),
                       metrics.get("train_samples_per_second"), tail)
