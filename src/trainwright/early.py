"""The first thing `trainwright init` does: start the child that builds the installed
TrainingArguments from the config about to be written. Importing torch and transformers takes
it seconds, so it starts before trainwright's own imports (a third of a second) and overlaps
all of discovery, planning and writing. This module imports nothing of trainwright's."""

from __future__ import annotations

import atexit
import importlib.util
import subprocess
import sys

TRAINING_ARGUMENTS_PROBE = """
import os, sys, tempfile, yaml
import torch
# Two imports that transformers makes on the way take more than half of the time and have no
# bearing on which arguments are valid: peft (trainer_utils imports it for its PeftModel
# helpers; reported missing here) and the model-loading code behind the reporting integrations
# (imported for the Kubeflow check, which reads one environment variable; answered the same).
import transformers.utils
import transformers.integrations
transformers.utils.is_peft_available = lambda: False
if "KUBEFLOW_TRAINER_SERVER_URL" not in os.environ:
    transformers.integrations.is_kubeflow_available = lambda: False
from transformers import TrainingArguments
from trainwright.planning.precision import on_this_machine
with tempfile.TemporaryDirectory() as scratch:
    TrainingArguments(output_dir=scratch)  # the first one imports accelerate: do it early
    print("ready", flush=True)
    path = sys.stdin.readline().strip()
    if path:
        training = dict(yaml.safe_load(open(path, encoding="utf-8"))["training"])
        training["output_dir"] = scratch
        # As train.py does: without a GPU, the GPU-only precision settings are off.
        TrainingArguments(**on_this_machine(training, torch.cuda.is_available()))
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)  # skip tearing down torch and transformers at exit: about a second
"""


_started: subprocess.Popen | None = None


def start_child() -> subprocess.Popen:
    """The child: it imports, builds one TrainingArguments, then waits for a config's path on
    stdin (an empty line or a closed stdin ends it)."""
    return subprocess.Popen([sys.executable, "-c", TRAINING_ARGUMENTS_PROBE],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def start_for(argv: list[str]) -> None:
    """Start the child now when argv is an init that will write (not --dry-run, not --help)
    and transformers is installed; pipeline.start_probe takes it over."""
    global _started
    if (argv[:1] == ["init"] and not {"--dry-run", "--help", "-h"} & set(argv)
            and _started is None and importlib.util.find_spec("transformers") is not None):
        _started = start_child()
        atexit.register(_stop_unclaimed)


def _stop_unclaimed() -> None:
    """A child nobody took over (init stopped before its check) ends with the process."""
    process = take_started()
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


def take_started() -> subprocess.Popen | None:
    """The child start_for started, once; None when there is none."""
    global _started
    process, _started = _started, None
    return process


def main(argv: list[str] | None = None) -> int:
    """The console entry point: the early start, then the CLI."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    start_for(arguments)
    from trainwright.cli import main as cli_main

    return cli_main(arguments)
