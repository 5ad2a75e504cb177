"""Benchmark `trainwright init classification` against project size and data size.

Goal (from the issue): on a project with 20,000 source files and a 1 GB CSV, under 5 s wall
and under 300 MB peak memory.

Builds synthetic projects under benchmarks/_work/ (reused between runs), then runs
``python -m trainwright init classification <project> --force --yes`` once per grid point
(``--repeat`` times, the median is reported) through a tiny wrapper that:

* reads ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at exit: the peak RSS of the trainwright
  process alone, without the child python that verify.py starts to build TrainingArguments
  (that child is reported separately from ``RUSAGE_CHILDREN``);
* times the library calls in-process (pipeline.prepare, discovery's steps, plan, render,
  write, verify and the TrainingArguments child) by wrapping them; a name that no longer
  exists in trainwright is simply not timed.

Usage:
    python benchmarks/bench_init.py                 # the full grid (builds a 1 GB CSV once)
    python benchmarks/bench_init.py --quick         # a small grid, for a sanity run
    python benchmarks/bench_init.py --files 20000 --sizes 1G
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
out_path, profile_path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
import trainwright.cli as cli
imported = time.perf_counter()
timings = {}

def timed(module_name, name, key):
    try:
        module = __import__(module_name, fromlist=["_"])
    except ImportError:
        return
    original = getattr(module, name, None)
    if original is None:
        return
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - start
    setattr(module, name, wrapper)

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
    ("trainwright.verify", "check_training_arguments", "verify_training_arguments_child"),
    ("trainwright.discovery", "walk_project", "discover_walk"),
    ("trainwright.discovery", "discover_framework", "discover_framework"),
    ("trainwright.discovery", "discover_existing", "discover_existing"),
    ("trainwright.discovery", "inspect_data_file", "discover_data"),
    ("trainwright.discovery", "discover_dependencies", "discover_dependencies"),
    ("trainwright.discovery", "probe_hardware", "discover_hardware"),
    ("trainwright.discovery", "discover_conventions", "discover_conventions"),
):
    timed(module_name, name, key)

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
own = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out_path, "w", encoding="utf-8") as handle:
    json.dump({
        "exit_code": code,
        "import_s": imported - started,
        "in_process_s": finished - started,
        "timings": timings,
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


def build_project(files: int) -> Path:
    """A project with `files` Python files (plus a few others); reused when already built."""
    project = WORK / "projects" / f"files-{files}"
    manifest = project / ".bench-manifest.json"
    meta = {"version": GENERATOR_VERSION, "files": files}
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
    keep = set(json.loads((project / ".bench-manifest.json").read_text())["paths"])
    keep.add(".bench-manifest.json")
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
    temporary = link.with_name("train.csv.linking")
    if temporary.exists():
        temporary.unlink()
    os.link(data, temporary)  # a hard link: the big file exists once on disk
    os.replace(temporary, link)


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

def run_once(project: Path, profile_path: str = "") -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out_path = handle.name
    command = [sys.executable, "-c", WRAPPER, out_path, profile_path,
               "init", "classification", str(project), "--force", "--yes"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env={**os.environ, "COLUMNS": "100"})
    wall = time.perf_counter() - started
    try:
        measured = json.loads(Path(out_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        measured = {"exit_code": result.returncode}
    finally:
        Path(out_path).unlink(missing_ok=True)
    measured["wall_s"] = wall
    measured["process_exit_code"] = result.returncode
    if result.returncode != 0:
        measured["output_tail"] = (result.stdout + result.stderr)[-2000:]
    return measured


def summarise(runs: list[dict]) -> dict:
    def median(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    timing_keys = sorted({k for r in runs for k in r.get("timings", {})})
    timings = {k: statistics.median(r.get("timings", {}).get(k, 0.0) for r in runs)
               for k in timing_keys}
    before_verify = sum(timings.get(k, 0.0) for k in ("prepare", "write"))
    return {
        "wall_s": median("wall_s"),
        "wall_s_runs": [round(r["wall_s"], 3) for r in runs],
        "startup_and_import_s": (median("wall_s") or 0) - (median("in_process_s") or 0)
        + (median("import_s") or 0),
        "discover_plan_render_write_s": before_verify,
        "verify_s": timings.get("verify"),
        "verify_training_arguments_child_s": timings.get("verify_training_arguments_child"),
        "wall_without_child_s": (median("wall_s") or 0)
        - timings.get("verify_training_arguments_child", 0.0),
        "self_peak_rss_mib": max((r.get("self_peak_rss_mib") or 0) for r in runs),
        "children_peak_rss_mib": max((r.get("children_peak_rss_mib") or 0) for r in runs),
        "self_cpu_s": median("self_cpu_s"),
        "timings": timings,
        "exit_codes": sorted({r.get("process_exit_code") for r in runs}),
        "failures": [r["output_tail"] for r in runs if "output_tail" in r][:1],
    }


def measure_point(files: int, size: int, repeat: int, cold: bool) -> dict:
    project = build_project(files)
    data = build_csv(WORK / "data" / f"train-{size_label(size)}.csv", size)
    point = {"files": files, "csv": size_label(size), "csv_bytes": data.stat().st_size}
    runs = []
    for _ in range(repeat):
        reset_project(project, data)
        if cold:
            evict_from_page_cache(project)
        runs.append(run_once(project))
    point.update(summarise(runs))
    point["cache"] = "cold" if cold else "warm"
    goal = point["wall_s"] < GOAL_SECONDS and point["self_peak_rss_mib"] < GOAL_MIB
    point["meets_goal"] = goal
    print(row(point), flush=True)
    return point


HEADER = (f"{'files':>6} {'csv':>5} {'wall s':>7} {'startup':>7} {'discover':>8} "
          f"{'walk':>6} {'frmwk':>6} {'data':>6} {'plan+rnd':>8} {'write':>6} {'verify':>7} "
          f"{'(child)':>7} {'no child':>8} {'RSS MiB':>8} {'child':>6} {'goal':>5}")


def row(point: dict) -> str:
    t = point["timings"]
    plan_render = sum(t.get(k, 0.0) for k in ("model", "token_lengths", "plan", "render",
                                              "plan_changes"))
    return (f"{point['files']:>6} {point['csv']:>5} {point['wall_s']:>7.2f} "
            f"{point['startup_and_import_s']:>7.2f} {t.get('discover', 0):>8.2f} "
            f"{t.get('discover_walk', 0):>6.2f} {t.get('discover_framework', 0):>6.2f} "
            f"{t.get('discover_data', 0):>6.2f} {plan_render:>8.2f} {t.get('write', 0):>6.2f} "
            f"{t.get('verify', 0):>7.2f} {t.get('verify_training_arguments_child', 0):>7.2f} "
            f"{point['wall_without_child_s']:>8.2f} "
            f"{point['self_peak_rss_mib']:>8.0f} {point['children_peak_rss_mib']:>6.0f} "
            f"{'yes' if point['meets_goal'] else 'NO':>5}")


def profile_point(files: int, size: int, output: Path) -> None:
    import pstats

    project = build_project(files)
    data = build_csv(WORK / "data" / f"train-{size_label(size)}.csv", size)
    reset_project(project, data)
    output.parent.mkdir(parents=True, exist_ok=True)
    measured = run_once(project, str(output))
    print(f"profiled {files} files + {size_label(size)}: wall {measured['wall_s']:.2f} s "
          f"(cProfile adds overhead); stats in {output}")
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
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one run of the largest point instead of the grid")
    parser.add_argument("--output", type=Path, default=RESULTS / "init.json")
    args = parser.parse_args()

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
        profile_point(biggest_files, max(sizes), WORK / "init-profile.prof")
        return 0

    # The file-count series uses a small CSV; the data-size series uses the most files.
    grid = [(files, small) for files in file_counts]
    grid += [(biggest_files, size) for size in sizes if (biggest_files, size) not in grid]
    print(f"trainwright init benchmark: {len(grid)} points x {args.repeat} runs, "
          f"{'cold' if args.cold else 'warm'} page cache, {os.cpu_count()} CPUs", flush=True)
    for files, size in grid:  # build everything first, so building is not timed by accident
        build_project(files)
        build_csv(WORK / "data" / f"train-{size_label(size)}.csv", size)
    print(HEADER)
    points = [measure_point(files, size, args.repeat, args.cold) for files, size in grid]

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
            "wall_s": "median wall time of the whole `python -m trainwright init` process, "
                      "including interpreter start-up and the verify child",
            "self_peak_rss_mib": "peak RSS of the trainwright process itself (max over runs)",
            "children_peak_rss_mib": "peak RSS of the child python verify.py starts (Linux "
                                     "counts the forked copy of the parent too, so it is at "
                                     "least the parent's RSS at the moment of the fork)",
            "wall_without_child_s": "wall_s minus the TrainingArguments child: trainwright's "
                                    "own part",
            "discover_plan_render_write_s": "pipeline.prepare + writing the files",
            "verify_s": "verify_files, including the TrainingArguments child process",
        },
        "points": points,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    failed = [p for p in points if p["exit_codes"] != [0]]
    for point in failed:
        print(f"\n{point['files']} files + {point['csv']}: exit codes {point['exit_codes']}\n"
              + "".join(point["failures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
