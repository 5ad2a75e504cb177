"""What a run measured: its scores, speed, per-class report, perplexity and samples."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from trainwright.report.folders import checkpoints
from trainwright.report.models import ClassScore, LanguageModelling, Sample, Throughput
from trainwright.report.values import as_float, as_int, is_timing

BEFORE_TRAINING = ("eval_loss_before",)
SAMPLES_SHOWN = 20
REPORT_ROW = re.compile(r"^\s*(?P<label>\S.*?)\s+(?P<precision>\d+\.\d+)\s+(?P<recall>\d+\.\d+)"
                        r"\s+(?P<f1>\d+\.\d+)\s+(?P<support>\d+)\s*$")
ACCURACY_ROW = re.compile(r"^\s*accuracy\s+(?P<value>\d+\.\d+)\s+\d+\s*$")


def scores(final: dict | None, log: list[dict], state_file: Path | None
           ) -> tuple[dict[str, float], str]:
    """The scores: final_metrics.json's eval_* and test_*; without it, the last evaluation."""
    if final is not None:
        found = {key: float(value) for key, value in final.items()
                 if key.startswith(("eval_", "test_")) and not is_timing(key)
                 and key not in BEFORE_TRAINING and as_float(value) is not None}
        return found, "final_metrics.json"
    evaluations = [entry for entry in log if "eval_loss" in entry or
                   any(key.startswith("eval_") and not is_timing(key) for key in entry)]
    if not evaluations:
        return {}, "no evaluation yet"
    last = evaluations[-1]
    found = {key: float(value) for key, value in last.items()
             if key.startswith("eval_") and not is_timing(key) and as_float(value) is not None}
    return found, f"the last evaluation (step {last.get('step')}) in {state_file}"


def throughput(folder: Path, final: dict | None, log: list[dict], steps_done: int,
               steps_planned: int | None) -> Throughput:
    """Speed as the Trainer measured it; for a run without its summary, the pace between the
    first and the last checkpoint (evaluation and saving included) and the time left at it."""
    summary = final if final is not None else next(
        (entry for entry in reversed(log) if "train_runtime" in entry), None)
    if summary is not None:
        return Throughput(
            train_seconds=as_float(summary.get("train_runtime")),
            samples_per_second=as_float(summary.get("train_samples_per_second")),
            steps_per_second=as_float(summary.get("train_steps_per_second")),
            # train_tokens_*: train.py since trainwright 0.1's throughput report; the
            # older names of generation runs before it
            tokens_per_second=as_float(summary.get("train_tokens_per_second",
                                                   summary.get("tokens_per_second"))),
            tokens_seen=as_int(summary.get("train_tokens_seen", summary.get("tokens_seen"))),
            source="final_metrics.json" if final is not None else "trainer_state.json")
    written = [(int(path.name.split("-")[1]), (path / "trainer_state.json").stat().st_mtime)
               for path in checkpoints(folder) if (path / "trainer_state.json").is_file()]
    if len(written) >= 2 and written[-1][1] > written[0][1]:
        (first_step, first_time), (last_step, last_time) = written[0], written[-1]
        pace = (last_step - first_step) / (last_time - first_time)
        left = ((steps_planned - steps_done) / pace if steps_planned and pace > 0 else None)
        return Throughput(None, None, pace, None, None,
                          f"the write times of checkpoint-{first_step} and "
                          f"checkpoint-{last_step}", seconds_left=left)
    return Throughput(None, None, None, None, None,
                      "not measured yet (the Trainer reports speed when training ends; two "
                      "checkpoints give the pace)")


def classification_report(path: Path) -> tuple[tuple[ClassScore, ...], tuple[ClassScore, ...],
                                               float | None]:
    """The rows of scikit-learn's classification_report that train.py saves."""
    if not path.is_file():
        return (), (), None
    classes, averages, accuracy = [], [], None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if match := ACCURACY_ROW.match(line):
            accuracy = float(match.group("value"))
        elif match := REPORT_ROW.match(line):
            score = ClassScore(match.group("label"), float(match.group("precision")),
                               float(match.group("recall")), float(match.group("f1")),
                               int(match.group("support")))
            (averages if score.label.endswith(" avg") else classes).append(score)
    return tuple(classes), tuple(averages), accuracy


def language_modelling(final: dict) -> LanguageModelling | None:
    """Perplexity and validation loss before and after training, where the run measured them;
    the scripts report perplexity as exp(validation loss), so one gives the other."""
    if not any(key in final for key in ("perplexity", "perplexity_before", "eval_loss_before")):
        return None
    before_loss = as_float(final.get("eval_loss_before"))
    before = as_float(final.get("perplexity_before"))
    if before is None and before_loss is not None and "perplexity" in final:
        before = math.exp(min(before_loss, 700))
    if before_loss is None and before is not None and 0 < before < math.inf:
        before_loss = math.log(before)  # generation records the perplexity only
    return LanguageModelling(before, as_float(final.get("perplexity")), before_loss,
                             as_float(final.get("eval_loss")))


def read_samples(path: Path, notes: list[str]) -> tuple[tuple[Sample, ...], int]:
    """The first samples of samples.jsonl (generation: prompt and sample; fine-tuning: prompt,
    reference and answer), and how many it holds."""
    if not path.is_file():
        return (), 0
    shown, total = [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            total += 1
            if len(shown) >= SAMPLES_SHOWN:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                notes.append(f"{path}: line {number} is not JSON; skipped")
                continue
            text = record.get("sample", record.get("answer")) if isinstance(record, dict) else None
            if isinstance(text, str):
                reference = record.get("reference")
                shown.append(Sample(str(record.get("prompt", "")), text,
                                    reference if isinstance(reference, str) else None))
    return tuple(shown), total
