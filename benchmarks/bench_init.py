"""Benchmark `trainwright init classification` against project size and data size.

Goal (from the issue): on a project with 20,000 source files and a 1 GB CSV, under 5 s wall
and under 300 MB peak memory.

Builds synthetic projects under benchmarks/_work/ (reused between runs), then runs
``python -m trainwright init classification <project> --force --yes`` once per grid point
(``--repeat`` times, the median is reported) through a tiny wrapper that:

* reads ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at exit: the peak RSS of the trainwright
  process alone; the TrainingArguments child (verify.TrainingArgumentsProbe, which the CLI
  starts before discovery) is reported separately from ``RUSAGE_CHILDREN``;
* times the library calls in-process (pipeline.prepare, discovery's steps, plan, render,
  write, verify) by wrapping them; ``TrainingArgumentsProbe.check`` is the parent's wait on the
  child, and from ``TrainingArgumentsProbe.__init__`` (Popen) to the end of that wait is the
  child's whole life; a name that no longer exists in trainwright is simply not timed;
* with ``--probe off`` (or in the second grid of ``--probe both``, the default), patches
  ``start_probe`` to return None: no child and no TrainingArguments check, so the run shows
  trainwright's own time and memory.

It also times the child script alone on the idle machine (``child_alone`` in the JSON).

Usage:
    python benchmarks/bench_init.py                 # the full grid, child on and off
    python benchmarks/bench_init.py --quick         # a small grid, for a sanity run
    python benchmarks/bench_init.py --files 20000 --sizes 1G --probe off
    python benchmarks/bench_init.py --files 20000 --sizes 1G --profile   # cProfile one run
    python benchmarks/bench_init.py --cold          # evict the project from the page cache first

Results: a table on stdout and benchmarks/results/init.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
RESULTS = HERE / "results"

GOAL_SECONDS = 5.0
CONTENDED_SHARE = 0.25  # a run during which other work used more CPU than this is redone
GOAL_MIB = 300.0
GENERATOR_VERSION = 1  # bump when the generated content changes: cached files are rebuilt

FULL_FILES = (1000, 5000, 20000)
FULL_SIZES = ("10M", "100M", "1G")
SMALL_SIZE = "2M"  # the data of the file-count series: above the 1 MiB head sample, so the
#                    streaming count over the whole file runs as it does for the big files
QUICK_FILES = (200, 1000)
QUICK_SIZES = ("5M",)

# ---------------------------------------------------------------------------------------------
# The measured process: runs trainwright's CLI exactly as `python -m trainwright` does, with
# timers around the library calls, and writes what it measured to a JSON file at exit.
# ---------------------------------------------------------------------------------------------

WRAPPER = r'''
import json, os, resource, sys, time
started = time.perf_counter()
out_path, profile_path, no_probe, argv = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
import trainwright.cli as cli
imported = time.perf_counter()
timings = {}
marks = {}


def timed(module_name, name, key):
    """Wrap module.name (a dotted name reaches a method: Class.method) to add up its time."""
    try:
        owner = __import__(module_name, fromlist=["_"])
    except ImportError:
        return
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part, None)
        if owner is None:
            return
    original = getattr(owner, attribute, None)
    if original is None:
        return
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            now = time.perf_counter()
            timings[key] = timings.get(key, 0.0) + now - start
            marks.setdefault(key + "_first_start", start - started)
            marks[key + "_last_end"] = now - started
    setattr(owner, attribute, wrapper)


for module_name, name, key in (
    ("trainwright.cli", "prepare", "prepare"),
    ("trainwright.cli", "write_and_verify", "write_and_verify"),
    ("trainwright.pipeline", "discover", "discover"),
    ("trainwright.pipeline", "describe_model", "model"),
    ("trainwright.pipeline", "token_lengths", "token_lengths"),
    ("trainwright.pipeline", "plan", "plan"),
    ("trainwright.pipeline", "render", "render"),
    ("trainwright.pipeline", "plan_changes", "plan_changes"),
    ("trainwright.pipeline", "apply_changes", "write"),
    ("trainwright.pipeline", "verify_files", "verify"),
    # The TrainingArguments child: started (Popen) by the CLI before discovery; check() is the
    # parent's wait for it, which returns once the child has exited (communicate + wait).
    ("trainwright.verify", "TrainingArgumentsProbe.__init__", "probe_start"),
    ("trainwright.verify", "TrainingArgumentsProbe.check", "probe_wait"),
    ("trainwright.discovery", "walk_project", "discover_walk"),
    ("trainwright.discovery", "discover_framework", "discover_framework"),
    ("trainwright.discovery", "discover_existing", "discover_existing"),
    ("trainwright.discovery", "inspect_data_file", "discover_data"),
    ("trainwright.discovery", "discover_dependencies", "discover_dependencies"),
    ("trainwright.discovery", "probe_hardware", "discover_hardware"),
    ("trainwright.discovery", "discover_conventions", "discover_conventions"),
):
    timed(module_name, name, key)

if no_probe:  # trainwright's own work only: no TrainingArguments child, no such check
    import trainwright.pipeline as pipeline
    for module in (cli, pipeline):  # cli imported the name itself: patch both
        if hasattr(module, "start_probe"):
            module.start_probe = lambda *args, **kwargs: None

sys.argv = ["trainwright", *argv]
profiler = None
if profile_path:
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
try:
    code = cli.main(argv)
except SystemExit as exit:
    code = exit.code if isinstance(exit.code, int) else 1
finally:
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
finished = time.perf_counter()
if "probe_start_first_start" in marks and "probe_wait_last_end" in marks:
    # From just before Popen to the return of the wait: the child's whole life, as the parent
    # sees it (the parent is blocked in communicate(), so it reaps the child as it exits).
    timings["probe_child_lifetime"] = (marks["probe_wait_last_end"]
                                       - marks["probe_start_first_start"])
own = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out_path, "w", encoding="utf-8") as handle:
    json.dump({
        "exit_code": code,
        "import_s": imported - started,
        "in_process_s": finished - started,
        "timings": timings,
        "marks": marks,
        "self_peak_rss_mib": own.ru_maxrss / 1024,
        "self_cpu_s": own.ru_utime + own.ru_stime,
        "children_peak_rss_mib": children.ru_maxrss / 1024,
        "children_cpu_s": children.ru_utime + children.ru_stime,
    }, handle)
sys.stdout.flush(); sys.stderr.flush()
os._exit(code or 0)
'''


# ---------------------------------------------------------------------------------------------
# Synthetic projects
# ---------------------------------------------------------------------------------------------

def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", text.upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 10M, 1G)")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[unit])


def size_label(size: int) -> str:
    for unit, factor in (("G", 2**30), ("M", 2**20), ("K", 2**10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B" if size < 2**20 else f"{size / 2**20:.0f}M"


def _write_meta(path: Path, meta: dict) -> None:
    path.with_name(path.name + ".meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _read_meta(path: Path) -> dict | None:
    meta = path.with_name(path.name + ".meta.json")
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


_WORDS_TEXT = (
    "the a of and to in is was it for on with as this that film movie story plot actor "
    "acting great good bad terrible boring wonderful amazing awful character scene music "
    "director script ending beginning funny sad slow fast love hate watch again never "
    "really very quite somewhat not best worst ever seen product service delivery price "
    "quality support order refund shipping package arrived broken works perfectly battery "
    "screen sound camera phone laptop customer experience recommend would could should "
    "time money waste value cheap expensive return replace helpful rude friendly staff "
    "hotel room clean dirty location breakfast view noise bed comfortable"
)
WORDS = _WORDS_TEXT.split()
LABELS = ("positive", "negative", "neutral")
LABEL_WEIGHTS = (0.70, 0.22, 0.08)  # imbalanced: 70 / 22 / 8 %


def _row_pool(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Distinct (csv-escaped text, label) pairs; word counts skewed (log-normal, 5-200)."""
    pool = []
    for _ in range(count):
        words = min(200, max(5, int(rng.lognormvariate(math.log(30), 0.8))))
        text = " ".join(rng.choices(WORDS, k=words))
        if rng.random() < 0.15:  # some texts need quoting: a comma and a quote inside
            text = f'"{text[: len(text) // 2]}, ""really"" {text[len(text) // 2:]}"'
        pool.append((text, rng.choices(LABELS, LABEL_WEIGHTS)[0]))
    return pool


def build_csv(path: Path, size: int) -> Path:
    """A CSV of id,text,label of at least `size` bytes; reused when it is already there."""
    meta = {"version": GENERATOR_VERSION, "target": size}
    if path.is_file() and _read_meta(path) == meta and path.stat().st_size >= size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(size)
    pool = _row_pool(rng, 50_000)
    started = time.perf_counter()
    temporary = path.with_name(path.name + ".tmp")
    average_row = sum(len(text) + len(label) + 10 for text, label in pool) / len(pool)
    written, next_id = 0, 0
    with open(temporary, "w", encoding="utf-8", newline="", buffering=8 * 2**20) as handle:
        handle.write("id,text,label\n")
        written += len("id,text,label\n")
        while written < size:
            chunk_rows = max(100, min(20_000, int((size - written) / average_row) + 1))
            picks = rng.choices(pool, k=chunk_rows)
            chunk = "".join(f"{next_id + i},{text},{label}\n"
                            for i, (text, label) in enumerate(picks))
            next_id += chunk_rows
            handle.write(chunk)
            written += len(chunk)  # ASCII only: characters are bytes
    os.replace(temporary, path)
    _write_meta(path, meta)
    print(f"  built {path.relative_to(HERE)} ({written / 2**20:,.0f} MiB, {next_id:,} rows) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return path


IMPORT_LINES = (
    "import os", "import sys", "import json", "import math", "import logging",
    "from pathlib import Path", "from typing import Any, Optional",
    "from dataclasses import dataclass", "import torch", "import torch.nn as nn",
    "from torch.utils.data import DataLoader, Dataset", "import numpy as np",
    "import pandas as pd", "from sklearn.metrics import f1_score",
    "from transformers import AutoTokenizer", "import yaml",
)


def _source_file(rng: random.Random, index: int) -> str:
    imports = sorted(set(rng.sample(IMPORT_LINES, rng.randint(2, 6))))
    parts = [f'"""Module {index}: helpers for the synthetic project."""\n', *imports, ""]
    for function in range(rng.randint(2, 8)):
        parts += [
            "",
            f"def step_{index}_{function}(values, scale={rng.randint(1, 9)}):",
            f'    """Scale and sum a few values (function {function})."""',
            "    total = 0",
            "    for value in values:",
            "        if value is None:",
            "            continue",
            "        total += value * scale",
            f"    return total / max(1, len(values)) + {rng.random():.4f}",
        ]
    if rng.random() < 0.3:
        parts += ["", "", f"class Component{index}:",
                  "    def __init__(self, size: int = 8) -> None:",
                  "        self.size = size", "",
                  "    def forward(self, inputs):",
                  "        return [x * self.size for x in inputs]"]
    return "\n".join(parts) + "\n"


def _source_path(index: int) -> str:
    """Nested like a real repository: src/pkgNN/subN/[deepN/]module.py, tests/, scripts/."""
    if index % 10 == 0:
        return f"tests/unit_{index // 500:02d}/test_mod_{index}.py"
    if index % 97 == 0:
        return f"scripts/tool_{index}.py"
    package, sub = index // 400, (index // 40) % 10
    deep = f"deep{index % 3}/" if index % 7 == 0 else ""
    return f"src/project/pkg{package:02d}/sub{sub}/{deep}mod_{index}.py"


STATIC_FILES = {
    "README.md": "# Synthetic project\n\nBuilt by benchmarks/bench_init.py.\n",
    "requirements.txt": "torch>=2.2\nnumpy\npandas\nscikit-learn\npyyaml\n",
    "pyproject.toml": ('[project]\nname = "synthetic"\nversion = "0.1.0"\n'
                       'dependencies = ["torch>=2.2", "numpy"]\n\n[tool.ruff]\nline-length = 100\n'),
    "configs/model.yaml": "model:\n  hidden: 256\n  layers: 4\n",
    "configs/data.yaml": "data:\n  path: data/train.csv\n  text: text\n  label: label\n",
    "notebooks/explore.ipynb": json.dumps({
        "cells": [{"cell_type": "code", "source": ["import torch\n", "import pandas as pd\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
}


def manifest_of(project: Path) -> Path:
    """The list of the project's own files. It lies next to the project, not inside it: a
    .json at the project root would be taken for a data file by discovery."""
    return project.with_name(project.name + ".manifest.json")


def build_project(files: int) -> Path:
    """A project with `files` Python files (plus a few others); reused when already built."""
    project = WORK / "projects" / f"files-{files}"
    manifest = manifest_of(project)
    meta = {"version": GENERATOR_VERSION, "files": files}
    old_manifest = project / ".bench-manifest.json"  # where earlier versions kept it
    if old_manifest.is_file() and not manifest.exists():
        os.replace(old_manifest, manifest)
    try:
        if json.loads(manifest.read_text(encoding="utf-8"))["meta"] == meta:
            return project
    except (OSError, json.JSONDecodeError, KeyError):
        pass
    if project.exists():
        shutil.rmtree(project)
    started = time.perf_counter()
    rng = random.Random(files)
    paths = []
    for index in range(files):
        relative = _source_path(index)
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_source_file(rng, index), encoding="utf-8")
        paths.append(relative)
    for relative, content in STATIC_FILES.items():
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        paths.append(relative)
    (project / "data").mkdir(exist_ok=True)
    paths.append("data/train.csv")
    manifest.write_text(json.dumps({"meta": meta, "paths": sorted(paths)}), encoding="utf-8")
    print(f"  built {project.relative_to(HERE)} ({files:,} source files) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return project


def reset_project(project: Path, data: Path) -> None:
    """Back to the state before any init: generated files removed; data/train.csv is `data`."""
    keep = set(json.loads(manifest_of(project).read_text(encoding="utf-8"))["paths"])
    for dirpath, dirnames, filenames in os.walk(project, topdown=False):
        relative_dir = os.path.relpath(dirpath, project)
        for name in filenames:
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            if relative not in keep:
                os.unlink(os.path.join(dirpath, name))
        if relative_dir != "." and not os.listdir(dirpath):
            os.rmdir(dirpath)
    link = project / "data" / "train.csv"
    link.parent.mkdir(exist_ok=True)
    if link.exists() and os.path.samefile(link, data):
        return
    temporary = link.with_name("train.csv.linking")
    temporary.unlink(missing_ok=True)
    os.link(data, temporary)  # a hard link: the big file exists once on disk
    os.replace(temporary, link)  # (a no-op when both are links to one file: hence the check)
    temporary.unlink(missing_ok=True)


def evict_from_page_cache(project: Path) -> None:
    """Drop the project's file pages from the page cache (no root needed: clean pages only)."""
    if not hasattr(os, "posix_fadvise"):
        return
    for dirpath, _, filenames in os.walk(project):
        for name in filenames:
            try:
                descriptor = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

def _cpu_times() -> tuple[int, int] | None:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def busy_fraction(seconds: float = 1.0) -> float | None:
    """How busy the machine's CPUs were over `seconds` (0..1), from /proc/stat; None elsewhere."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None or after[0] == before[0]:
        return None
    return 1 - (after[1] - before[1]) / (after[0] - before[0])


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> float | None:
    """On a shared machine, wait (up to max_wait s) until other work uses under `threshold`
    of the CPUs; return the busy fraction measured just before the run."""
    deadline = time.monotonic() + max_wait
    busy = busy_fraction()
    while busy is not None and busy >= threshold and time.monotonic() < deadline:
        time.sleep(2)
        busy = busy_fraction()
    return busy


def _other_cpu_share(before: tuple[int, int] | None, after: tuple[int, int] | None,
                     wall: float, own_cpu_s: float) -> float | None:
    """CPUs' worth of other work during a run: machine-wide busy time minus the run's own CPU
    time (its process and children), over the wall time. Near 0 on an otherwise idle machine."""
    if before is None or after is None or wall <= 0:
        return None
    busy_s = ((after[0] - before[0]) - (after[1] - before[1])) / os.sysconf("SC_CLK_TCK")
    return max(0.0, busy_s - own_cpu_s) / wall


def run_once(project: Path, profile_path: str = "", probe: bool = True) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out_path = handle.name
    command = [sys.executable, "-c", WRAPPER, out_path, profile_path, "0" if probe else "1",
               "init", "classification", str(project), "--force", "--yes"]
    cpu_before = _cpu_times()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env={**os.environ, "COLUMNS": "100"})
    wall = time.perf_counter() - started
    cpu_after = _cpu_times()
    try:
        measured = json.loads(Path(out_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        measured = {"exit_code": result.returncode}
    finally:
        Path(out_path).unlink(missing_ok=True)
    measured["wall_s"] = wall
    measured["other_cpu_share"] = _other_cpu_share(
        cpu_before, cpu_after, wall,
        (measured.get("self_cpu_s") or 0) + (measured.get("children_cpu_s") or 0))
    measured["process_exit_code"] = result.returncode
    if result.returncode != 0:
        measured["output_tail"] = (result.stdout + result.stderr)[-2000:]
    elif probe and "TrainingArguments" not in result.stdout:
        measured["output_tail"] = "no TrainingArguments check in the output (is the probe off?)"
    return measured


def summarise(runs: list[dict]) -> dict:
    def median(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    timing_keys = sorted({k for r in runs for k in r.get("timings", {})})
    timings = {k: statistics.median(r.get("timings", {}).get(k, 0.0) for r in runs)
               for k in timing_keys}
    before_verify = sum(timings.get(k, 0.0) for k in ("prepare", "write"))
    lifetime, wait = timings.get("probe_child_lifetime"), timings.get("probe_wait")
    self_peak = max((r.get("self_peak_rss_mib") or 0) for r in runs)
    child_peak = max((r.get("children_peak_rss_mib") or 0) for r in runs)
    return {
        "wall_s": median("wall_s"),
        "wall_s_runs": [round(r["wall_s"], 3) for r in runs],
        "startup_and_import_s": (median("wall_s") or 0) - (median("in_process_s") or 0)
        + (median("import_s") or 0),
        "discover_plan_render_write_s": before_verify,
        "verify_s": timings.get("verify"),
        "probe_wait_s": wait,
        "probe_child_lifetime_s": lifetime,
        "probe_hidden_s": None if lifetime is None or wait is None else lifetime - wait,
        "self_peak_rss_mib": self_peak,
        "children_peak_rss_mib": child_peak,
        "combined_peak_rss_upper_bound_mib": self_peak + child_peak,
        "self_cpu_s": median("self_cpu_s"),
        "children_cpu_s": median("children_cpu_s"),
        "timings": timings,
        "exit_codes": sorted({r.get("process_exit_code") for r in runs}),
        "failures": [r["output_tail"] for r in runs if "output_tail" in r][:1],
    }


def measure_point(files: int, size: int, repeat: int, cold: bool, probe: bool,
                  quiet_wait: float = 0.0) -> dict:
    """`repeat` runs of one point. On a shared machine a run during which other work used more
    than CONTENDED_SHARE of a CPU is measured again (up to 3 x repeat runs in all); the
    reported numbers are over the clean runs, or over all runs when too few were clean."""
    project = build_project(files)
    data = build_csv(WORK / "data" / f"train-{size_label(size)}.csv", size)
    point = {"files": files, "csv": size_label(size), "csv_bytes": data.stat().st_size,
             "probe": probe}
    runs, clean = [], []
    while len(clean) < repeat and len(runs) < 3 * repeat:
        reset_project(project, data)
        if cold:
            evict_from_page_cache(project)
        if quiet_wait > 0:
            wait_for_quiet(quiet_wait)
        run = run_once(project, probe=probe)
        runs.append(run)
        share = run.get("other_cpu_share")
        if share is None or share < CONTENDED_SHARE:
            clean.append(run)
    used = clean if len(clean) >= repeat else runs
    point.update(summarise(used))
    point["runs_made"] = len(runs)
    point["clean_runs"] = len(clean)
    point["contended"] = len(clean) < repeat
    point["other_cpu_share_runs"] = [None if r.get("other_cpu_share") is None
                                     else round(r["other_cpu_share"], 2) for r in used]
    point["cache"] = "cold" if cold else "warm"
    goal = point["wall_s"] < GOAL_SECONDS and point["self_peak_rss_mib"] < GOAL_MIB
    point["meets_goal"] = goal
    print(row(point), flush=True)
    return point


def measure_child_alone(config: Path | None, repeat: int, quiet_wait: float = 0.0
                        ) -> dict | None:
    """The TrainingArguments child on an idle machine, with nothing to overlap: how long until
    it is ready (python + torch + transformers imported, the first TrainingArguments built),
    how long the real check then takes, and its own peak RSS."""
    from trainwright import early, verify

    script = (getattr(early, "TRAINING_ARGUMENTS_PROBE", None)
              or getattr(verify, "TRAINING_ARGUMENTS_PROBE", None))
    if script is None:
        return None
    runs: list[dict] = []
    attempts = 0
    while sum(r["clean"] for r in runs) < repeat and attempts < 3 * repeat:
        attempts += 1
        if quiet_wait > 0:
            wait_for_quiet(quiet_wait)
        cpu_before = _cpu_times()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = process.stdout.readline()
        ready = time.perf_counter()
        process.stdin.write(f"{config or ''}\n")
        process.stdin.close()
        process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        finished = time.perf_counter()
        share = _other_cpu_share(cpu_before, _cpu_times(), finished - started,
                                 usage.ru_utime + usage.ru_stime)
        runs.append({"ready_s": ready - started, "check_s": finished - ready,
                     "total_s": finished - started, "peak_rss_mib": usage.ru_maxrss / 1024,
                     "cpu_s": usage.ru_utime + usage.ru_stime,
                     "clean": share is None or share < CONTENDED_SHARE,
                     "ok": line.strip() == "ready" and process.returncode == 0})
    used = [r for r in runs if r["clean"]] if sum(r["clean"] for r in runs) >= repeat else runs
    result = {key: statistics.median(r[key] for r in used)
              for key in ("ready_s", "check_s", "total_s", "cpu_s")}
    result["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    result["ok"] = all(r["ok"] for r in runs)
    result["config"] = str(config) if config else None
    result["runs"] = len(used)
    result["contended"] = sum(r["clean"] for r in runs) < repeat
    print(f"TrainingArguments child alone (idle machine, median of {len(used)}): ready after "
          f"{result['ready_s']:.2f} s, check {result['check_s']:.2f} s, total "
          f"{result['total_s']:.2f} s ({result['cpu_s']:.2f} s CPU), peak "
          f"{result['peak_rss_mib']:.0f} MiB{' (contended)' if result['contended'] else ''}"
          f"{'' if result['ok'] else ' (FAILED)'}", flush=True)
    return result


HEADER = (f"{'files':>6} {'csv':>5} {'wall s':>7} {'startup':>7} {'discover':>8} "
          f"{'walk':>6} {'frmwk':>6} {'data':>6} {'plan+rnd':>8} {'write':>6} {'verify':>7} "
          f"{'(wait)':>7} {'child s':>7} {'RSS MiB':>8} {'child':>6} {'goal':>5}")


def _cell(value: float | None, width: int, digits: int = 2) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def row(point: dict) -> str:
    t = point["timings"]
    plan_render = sum(t.get(k, 0.0) for k in ("model", "token_lengths", "plan", "render",
                                              "plan_changes"))
    return (f"{point['files']:>6} {point['csv']:>5} {point['wall_s']:>7.2f} "
            f"{point['startup_and_import_s']:>7.2f} {t.get('discover', 0):>8.2f} "
            f"{t.get('discover_walk', 0):>6.2f} {t.get('discover_framework', 0):>6.2f} "
            f"{t.get('discover_data', 0):>6.2f} {plan_render:>8.2f} {t.get('write', 0):>6.2f} "
            f"{t.get('verify', 0):>7.2f} {_cell(point['probe_wait_s'], 7)} "
            f"{_cell(point['probe_child_lifetime_s'], 7)} "
            f"{point['self_peak_rss_mib']:>8.0f} {point['children_peak_rss_mib']:>6.0f} "
            f"{'yes' if point['meets_goal'] else 'NO':>5}"
            f"{'  (contended)' if point.get('contended') else ''}")


def profile_point(files: int, size: int, output: Path, probe: bool) -> None:
    import pstats

    project = build_project(files)
    data = build_csv(WORK / "data" / f"train-{size_label(size)}.csv", size)
    reset_project(project, data)
    output.parent.mkdir(parents=True, exist_ok=True)
    measured = run_once(project, str(output), probe=probe)
    print(f"profiled {files} files + {size_label(size)}, TrainingArguments child "
          f"{'on' if probe else 'off'}: wall {measured['wall_s']:.2f} s (cProfile adds "
          f"overhead); stats in {output}")
    stats = pstats.Stats(str(output))
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small grid for a sanity run")
    parser.add_argument("--files", type=lambda s: [int(x) for x in s.split(",")],
                        help="comma-separated source-file counts (default 1000,5000,20000)")
    parser.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",")],
                        help="comma-separated CSV sizes (default 10M,100M,1G)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per point (median)")
    parser.add_argument("--cold", action="store_true",
                        help="evict the project's files from the page cache before each run")
    parser.add_argument("--probe", choices=("on", "off", "both"), default="both",
                        help="with the TrainingArguments child (on, as shipped), without it "
                             "(off: start_probe patched to return None, trainwright's own "
                             "cost), or both grids (default)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one run of the largest point instead of the grid")
    parser.add_argument("--quiet-wait", type=float, default=120.0,
                        help="before each run, wait up to this many seconds until other work "
                             "uses under 15%% of the CPUs (a shared machine); 0: do not wait")
    parser.add_argument("--output", type=Path, default=RESULTS / "init.json")
    args = parser.parse_args()
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.probe]

    if args.quick:
        file_counts, sizes, small = list(QUICK_FILES), [parse_size(s) for s in QUICK_SIZES], \
            parse_size("1M")
        args.repeat = min(args.repeat, 1)
    else:
        file_counts = args.files or list(FULL_FILES)
        sizes = args.sizes or [parse_size(s) for s in FULL_SIZES]
        small = parse_size(SMALL_SIZE)
    biggest_files = max(file_counts)

    if args.profile:
        for probe in modes:
            profile_point(biggest_files, max(sizes),
                          WORK / f"init-profile{'' if probe else '-no-probe'}.prof", probe)
        return 0

    # The file-count series uses a small CSV; the data-size series uses the most files.
    grid = [(files, small) for files in file_counts]
    grid += [(biggest_files, size) for size in sizes if (biggest_files, size) not in grid]
    print(f"trainwright init benchmark: {len(grid)} points x {args.repeat} runs, "
          f"{'cold' if args.cold else 'warm'} page cache, {os.cpu_count()} CPUs", flush=True)
    for files, size in grid:  # build everything first, so building is not timed by accident
        build_project(files)
        build_csv(WORK / "data" / f"train-{size_label(size)}.csv", size)
    results: dict[bool, list[dict]] = {}
    for probe in modes:
        print("\nTrainingArguments child " + ("ON (as shipped)" if probe else
              "OFF (start_probe patched to return None: trainwright alone)"))
        print(HEADER)
        results[probe] = [measure_point(files, size, args.repeat, args.cold, probe,
                                        args.quiet_wait) for files, size in grid]
    child_alone = None
    if True in results:
        config = WORK / "projects" / f"files-{grid[-1][0]}" / "configs" / "training_config.yaml"
        print()
        child_alone = measure_child_alone(config if config.is_file() else None, args.repeat,
                                          args.quiet_wait)

    import trainwright

    document = {
        "benchmark": "trainwright init classification <project> --force --yes",
        "goal": {"wall_s": GOAL_SECONDS, "self_peak_rss_mib": GOAL_MIB,
                 "at": "20,000 source files and a 1 GB CSV"},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "processor": platform.processor()},
        "trainwright": trainwright.__version__,
        "repeat": args.repeat,
        "notes": {
            "points": "as shipped: the CLI starts the TrainingArguments child (verify."
                      "TrainingArgumentsProbe) before discovery, and waits for it in verify",
            "points_without_probe": "the same runs with pipeline.start_probe (and the name "
                                    "cli imported) patched to return None: no child and no "
                                    "TrainingArguments check, trainwright's own time and memory",
            "wall_s": "median wall time of the whole `python -m trainwright init` process, "
                      "including interpreter start-up and waiting for the child",
            "self_peak_rss_mib": "peak RSS of the trainwright process itself (max over runs)",
            "children_peak_rss_mib": "peak RSS of its children (RUSAGE_CHILDREN), i.e. the "
                                     "TrainingArguments child (max over runs)",
            "combined_peak_rss_upper_bound_mib": "self + child peaks: an upper bound on the "
                                                 "memory of both at once (they overlap)",
            "probe_wait_s": "TrainingArgumentsProbe.check: how long the parent waited for the "
                            "child at the end (its visible cost)",
            "probe_child_lifetime_s": "from just before Popen to the return of check (the "
                                      "child has exited): the child's whole life",
            "probe_hidden_s": "lifetime - wait: the part of the child that ran behind "
                              "trainwright's own work",
            "discover_plan_render_write_s": "pipeline.prepare + writing the files",
            "verify_s": "verify_files, including the wait on the child",
            "other_cpu_share_runs": "CPUs' worth of other work on the machine during each "
                                    "reported run (machine-wide busy time minus the run's own "
                                    "CPU time, over wall); a run above CONTENDED_SHARE is "
                                    "redone (up to 3 x repeat runs), and a point with too few "
                                    "clean runs is marked contended. Runs also wait up to "
                                    "--quiet-wait s for the machine to go quiet first",
            "child_alone": "the child script alone on an idle machine, on the config the last "
                           "point wrote: ready = imports + first TrainingArguments",
        },
        "points": results.get(True, []),
        "points_without_probe": results.get(False, []),
        "child_alone": child_alone,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    failed = [p for points in results.values() for p in points
              if p["exit_codes"] != [0] or p["failures"]]
    for point in failed:
        child = "on" if point["probe"] else "off"
        print(f"\n{point['files']} files + {point['csv']} (child {child}): exit codes "
              f"{point['exit_codes']}\n" + "".join(point["failures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
