"""The command line: parse, call the library, present. No decisions are made here."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shlex
import sys
import sysconfig
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trainwright import __version__
from trainwright.config.check import check_config, estimate_for_file, find_config
from trainwright.config.fields import installed_field_specs
from trainwright.config.schema import json_schema
from trainwright.discovery import discover
from trainwright.discovery.data_shape import SFT_FORMATS
from trainwright.discovery.dependencies import (
    REQUIRED_FOR_TRAINING,
    install_command,
    installed_version,
)
from trainwright.discovery.hardware import probe_hardware
from trainwright.errors import AmbiguousChoice, TrainwrightError, UserError
from trainwright.init_report import error_document, init_document
from trainwright.pipeline import prepare, settle_probe, start_probe, write_and_verify
from trainwright.planning import Options
from trainwright.planning.label_columns import label_candidates
from trainwright.planning.ranking import rank as rank_data
from trainwright.render.pictures import length_histogram, text_histogram
from trainwright.tasks import IMPLEMENTED_TYPES, TRAINING_TYPES, resolve_training_type
from trainwright.verify import smoke_run

console = Console(highlight=False, soft_wrap=True)  # paths and commands stay whole
INSPECT_BINS = 12  # rows of inspect's length histogram
errors = Console(stderr=True, highlight=False, soft_wrap=True)

INIT_EXAMPLES = """
Examples:

\b
  trainwright init classification examples/reviews
  trainwright init cls . --model ./my-bert --data data/train.csv --label-column intent
  trainwright init classification . --dry-run
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="trainwright")
def cli() -> None:
    """Look at an ML project and write a tuned, verified training setup."""


@cli.command(epilog=INIT_EXAMPLES,
             short_help="Write a training setup: discover, plan, write, verify.")
@click.argument("training_type", required=False)
@click.argument("project", default=".", required=False)
@click.option("--model", help="model name on the Hub or a local folder")
@click.option("--data", "data_paths", multiple=True,
              help="the data instead of what discovery ranks first: a file, a folder, a quoted "
              "glob ('data/train-*.parquet') or a Hub dataset name (owner/name); repeat it for "
              "each split")
@click.option("--text-column", help="column that holds the text")
@click.option("--label-column", help="column that holds the label")
@click.option("--label-kind", type=click.Choice(["single-label", "multi-label", "regression"]),
              help="classification: what the labels are (default: from their values, explained)")
@click.option("--data-format", type=click.Choice(SFT_FORMATS),
              help="fine-tuning: how the rows are read (default: from the columns, explained)")
@click.option("--prompt-column", help="fine-tuning: the column of the prompt (the context)")
@click.option("--response-column", help="fine-tuning: the column that is learned")
@click.option("--output-dir", help="where training writes checkpoints and the model")
@click.option("--script", "script_path", metavar="PATH",
              help="where the training script goes, relative to the project root (default: "
              "train.py, or train_TYPE.py beside a train.py of the project's own)")
@click.option("--report-to", type=click.Choice(["none", "tensorboard", "wandb"]),
              help="experiment tracker (default: tensorboard when installed)")
@click.option("--target-gpu", help="plan for this GPU (t4, l4, a10g, v100, a100-40gb, a100-80gb, "
              "h100, h200, rtx3090, rtx4090) instead of this machine's")
@click.option("--target-gpu-memory", help="plan for a GPU with this much memory, e.g. 24GB")
@click.option("--gpus", type=click.IntRange(1, 64),
              help="GPUs (processes) a machine; default: the detected count, or 1 (1 with "
              "--target-gpu)")
@click.option("--num-gpus", type=click.IntRange(1, 64), hidden=True)  # the old name of --gpus
@click.option("--nodes", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="machines, each with --gpus GPUs")
@click.option("--strategy", type=click.Choice(["ddp", "fsdp", "zero2", "zero3"]),
              help="how several processes share the model (default: from the memory plan, "
              "explained)")
@click.option("--from-scratch", is_flag=True,
              help="generation: build a small model from a config instead of loading weights")
@click.option("--method", type=click.Choice(["lora", "qlora", "freeze", "full"]),
              help="fine-tuning: how to train (default: chosen by the plan, explained)")
@click.option("--target-modules", help="fine-tuning: LoRA target modules, comma-separated "
              "(default: every linear layer of the attention and MLP blocks)")
@click.option("--from", "import_from", metavar="FILE",
              help="import only this config of another tool (Axolotl, LLaMA-Factory, TRL, "
              "TrainingArguments YAML / JSON, DeepSpeed, accelerate); default: every one found")
@click.option("--dry-run", is_flag=True, help="show the plan and the diffs; write nothing")
@click.option("--show", "show_file", metavar="FILE",
              help="with --dry-run: print the whole text of this file as it would be written")
@click.option("--json", "as_json", is_flag=True,
              help="print the plan, the file statuses and the verification as one JSON document "
              "(schema: trainwright/schemas/init-output.schema.json)")
@click.option("--force", is_flag=True, help="overwrite existing files (a .bak is kept)")
@click.option("--smoke", is_flag=True, help="run the training script for a few steps after writing")
@click.option("--yes", "-y", is_flag=True, help="never ask; fail instead of prompting")
def init(training_type: str | None, project: str, model: str | None, data_paths: tuple[str, ...],
         text_column: str | None, label_column: str | None, label_kind: str | None,
         data_format: str | None,
         prompt_column: str | None, response_column: str | None, output_dir: str | None,
         script_path: str | None, report_to: str | None, target_gpu: str | None,
         target_gpu_memory: str | None,
         gpus: int | None, num_gpus: int | None, nodes: int, strategy: str | None,
         from_scratch: bool, method: str | None, target_modules: str | None,
         import_from: str | None, dry_run: bool, show_file: str | None, as_json: bool,
         force: bool, smoke: bool, yes: bool) -> int:
    """Write a training setup for TRAINING_TYPE (classification, generation, fine-tuning) in
    PROJECT."""
    task = resolve_training_type(training_type or _ask_training_type(yes))
    options = Options(model=model, data_paths=data_paths, text_column=text_column,
                      label_column=label_column, label_kind=label_kind, output_dir=output_dir,
                      report_to=report_to,
                      target_gpu=target_gpu, target_gpu_memory=target_gpu_memory,
                      gpus=gpus or num_gpus, nodes=nodes, strategy=strategy,
                      from_scratch=from_scratch, method=method,
                      task_alias=training_type,
                      data_format=data_format, prompt_column=prompt_column,
                      response_column=response_column,
                      target_modules=tuple(name.strip() for name in (target_modules or "")
                                           .split(",") if name.strip()),
                      import_from=import_from, script_path=script_path)
    with contextlib.ExitStack() as stack:
        probe = None if dry_run else start_probe()  # first: its imports overlap discovery
        if probe is not None:
            stack.enter_context(probe)
        answers: list[str] = []  # flags an answer to a question stands for
        while True:
            try:
                with errors.status("Looking at the project...") as status:
                    prepared = prepare(
                        task, project, options, force=force,
                        regenerate_command=_regenerate_command(click.get_current_context(),
                                                               answers),
                        progress=lambda message: status.update(f"Looking: {message}"))
                break
            except AmbiguousChoice as ambiguity:
                if yes or not sys.stdin.isatty():
                    raise
                answer = _ask(ambiguity)
                current = getattr(options, ambiguity.option)  # data_paths is a tuple
                value = (answer,) if isinstance(current, tuple) else answer
                options = dataclasses.replace(options, **{ambiguity.option: value})
                answers += [ambiguity.flag, answer]
        for warning in prepared.plan.warnings:
            errors.print(f"[yellow]warning:[/] {warning}")
        for note in prepared.facts.notes:  # how the data was found, when it matters
            errors.print(f"note: {note}", markup=False)
        if as_json and smoke:
            raise UserError("--json and --smoke together: the smoke run's output is not part "
                            "of the JSON document.", "run `init --json`, then `python "
                            f"{prepared.plan.script_path} --max-steps 2` for a smoke run.")
        if show_file and (not dry_run or as_json):
            raise UserError(f"--show {show_file} prints a file in a dry run's text output.",
                            f"run `trainwright init ... --dry-run --show {show_file}` (without "
                            "--json).")
        if show_file and show_file not in prepared.files:
            raise UserError(f"--show {show_file}: init writes no such text file.",
                            f"name one of: {', '.join(prepared.files)}.")
        if dry_run:
            if as_json:
                return _print_json(prepared, None, dry_run=True)
            return _show_dry_run(prepared, show_file)
        probe = settle_probe(probe, prepared)
        with errors.status("Writing and verifying..."):
            checks = write_and_verify(prepared, probe)
    plan = prepared.plan
    if as_json:
        return _print_json(prepared, checks, dry_run=False)
    _print_files(prepared.changes, dry_run=False)
    _print_layout(plan)
    _print_plan_table(plan)
    failed = [check for check in checks if not check.ok]
    for check in checks:
        mark = ("[yellow]skipped[/]" if check.skipped else
                "[green]ok[/]" if check.ok else "[red]FAILED[/]")
        console.print(f"  verify {check.name:<18} {mark}  {check.detail}")
    if smoke and not failed:
        with errors.status("Smoke run: a few training steps on a slice of the data..."):
            result = smoke_run(prepared.facts.root, plan.config_path, plan.script_path)
        if result.ok:
            loss = f"{result.loss:.4f}" if result.loss is not None else "not reported"
            speed = (f"{result.samples_per_second:,.1f}" if result.samples_per_second
                     is not None else "?")
            console.print(f"  smoke run [green]ok[/]: loss {loss}, "
                          f"{speed} samples/s, {result.seconds:.0f} s, "
                          f"peak {result.peak_memory_mib:,.0f} MiB")
        else:
            console.print(f"  smoke run [red]FAILED[/]:\n{result.output_tail}", markup=False)
            return 1
    if failed:
        errors.print("[red]Verification failed[/]: the files were written; see above.")
        return 1
    _print_next_steps(prepared)
    return 0


@cli.command(short_help="Show what discovery finds in a project (read-only).")
@click.argument("project", default=".", required=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def inspect(project: str, as_json: bool) -> int:
    """Show what discovery finds in PROJECT (read-only)."""
    with errors.status("Looking at the project...") as status:
        facts = discover(project, progress=lambda m: status.update(f"Looking: {m}"))
    ranking = rank_data(facts.data)
    if as_json:
        document = dataclasses.asdict(facts)
        document["root"] = str(facts.root)
        document["data_ranking"] = [{"path": r.data.path, "score": r.score,
                                     "evidence": list(r.evidence)} for r in ranking]
        document["dependencies"].pop("training_argument_fields")
        for data in document["data"]:
            data.pop("sample_texts", None)
            for shape in (data.get("shape"), *data.get("other_shapes", ())):
                if shape:
                    shape.pop("sample_texts", None)
                    shape.pop("sample_parts", None)
        click.echo(json.dumps(document, indent=2, default=str))
        return 0
    console.print(f"[bold]{facts.root}[/] ({facts.files_scanned:,} files)")
    console.print(f"Framework: [bold]{facts.framework.chosen or 'none'}[/]. "
                  f"{facts.framework.explanation}")
    for item in facts.framework.evidence[:20]:
        where = f"{item.source}:{item.line}" if item.line else item.source
        console.print(f"  {item.framework:<10} {item.kind:<12} {where}  {item.detail}",
                      markup=False)
    table = Table("data file", "split", "rows", "holds", "text", "label", "classes",
                  "words p50/p99")
    ranked = [r.data for r in ranking]
    for data in ranked + [d for d in facts.data if not d.readable]:
        words = data.text_length_words
        table.add_row(data.path, data.split or "-", f"{data.rows:,}" if data.rows else "-",
                      " or ".join(s.kind for s in (data.shape, *data.other_shapes) if s) or "-",
                      data.text_column or "-", *_label_cells(data),
                      f"{words.get('p50', '-')}/{words.get('p99', '-')}")
    console.print(table if facts.data else "No data files found.")
    if ranking:
        console.print("Training data candidates, most plausible first (init trains on the first "
                      "train or unnamed split; --data overrides):")
    for number, item in enumerate(ranking, start=1):
        console.print(f"  {number}. {item.data.path} (score {item.score:g}): "
                      + "; ".join(item.evidence), markup=False)
    _print_length_histogram([item.data for item in ranking])
    for note in facts.notes:
        console.print(f"  [yellow]note:[/] {note}")
    for data in facts.data:
        rows = [f"{data.path} {row}" for row in (data.shape.row_problems if data.shape else ())]
        for problem in (*data.problems, *rows):
            console.print(f"  [yellow]problem:[/] {problem}")
    existing = facts.existing
    scripts = [f"{script} (written by trainwright)" if script in existing.generated_scripts
               else script for script in existing.training_scripts]
    console.print(f"Training scripts: {', '.join(scripts) or 'none'}; "
                  f"training config: {existing.training_config or 'none'}; foreign configs: "
                  + (", ".join(f"{c.path} ({c.kind})" for c in existing.foreign_configs)
                     or "none"))
    _print_dependencies(facts.dependencies)
    _print_hardware(facts.hardware)
    conventions = facts.conventions
    console.print(f"Conventions: scripts in {conventions.scripts_dir or 'the root'}, configs in "
                  f"{conventions.config_dir or 'the root'}, line length "
                  f"{conventions.line_length or 'default'}")
    return 0


@cli.command(short_help="Check a config against the schema and the installed transformers.",
             epilog="""
Examples:

\b
  trainwright validate                       # ./training_config.yaml or configs/...
  trainwright validate configs/training_config.yaml --fix
  trainwright validate config/training_args.json  # a flat TrainingArguments file
  trainwright validate --schema > training_config.schema.json
""")
@click.argument("config", required=False)
@click.option("--fix", is_flag=True, help="rewrite renamed keys and typos in place (a .bak is kept)")
@click.option("--schema", is_flag=True, help="print the JSON Schema of the config and exit")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def validate(config: str | None, fix: bool, schema: bool, as_json: bool) -> int:
    """Check CONFIG against the schema and the installed transformers (exit 1 on problems);
    a flat TrainingArguments file (YAML or JSON) is checked as the installed TrainingArguments."""
    if schema:
        click.echo(json.dumps(json_schema(installed_field_specs()), indent=2))
        return 0
    report = check_config(find_config(config), fix=fix, hardware=probe_hardware())
    if as_json:
        click.echo(json.dumps({"config": str(report.path), "kind": report.kind,
                               "notes": list(report.notes), "fixed": report.fixed,
                               "problems": [dataclasses.asdict(p) for p in report.problems]},
                              indent=2, default=str))
        return 1 if report.errors else 0
    for note in report.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    for done in report.fixed:
        console.print(f"[green]fixed[/] {done}", markup=True)
    if report.fixed:
        console.print(f"The old file is kept as {report.path.name}.bak")
    for problem in report.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        console.print(f"[{colour}]{problem.severity}[/] {problem.location}: ", end="",
                      soft_wrap=True)
        console.print(f"{problem.message}. Fix: {problem.fix}"
                      + (" (--fix does this)" if problem.action and not fix else ""), markup=False,
                      soft_wrap=True)
    if not report.problems:
        console.print(f"{report.path}: valid for transformers "
                      f"{installed_version('transformers') or 'not installed'}")
    return 1 if report.errors else 0


@cli.command(short_help="Memory and time of a config on a GPU, and the batch that fits.")
@click.argument("config", required=False)
@click.option("--gpu", help="estimate for this GPU (t4, a100-80gb, h100, ...) instead of this "
              "machine's")
@click.option("--gpus", type=click.IntRange(1, 8192),
              help="per device of this many processes (default: the config's distributed "
              "section, or 1)")
@click.option("--strategy", type=click.Choice(["ddp", "fsdp", "zero2", "zero3"]),
              help="how the processes share the model (default: the config's, or ddp)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def estimate(config: str | None, gpu: str | None, gpus: int | None, strategy: str | None,
             as_json: bool) -> int:
    """Memory and time estimate of CONFIG on a GPU, with the batch size that fits; with --gpus
    N and --strategy, per device."""
    if strategy and not gpus:
        raise UserError(f"--strategy {strategy} shares the model among several processes.",
                        f"add --gpus N, e.g. `trainwright estimate --gpus 8 --strategy {strategy}`.")
    result = estimate_for_file(find_config(config, "estimate"), gpu, gpus or 1, strategy)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), indent=2, default=str))
        return 0
    per_device = (f", per device of {result.processes} processes ({result.strategy})"
                  if result.processes > 1 else "")
    table = Table("component", "MiB", title=f"Memory on {result.device}{per_device}")
    for name, mib in result.memory.components.items():
        table.add_row(name, f"{mib:,.0f}")
    table.add_row("[bold]peak[/]", f"[bold]{result.peak_mib:,.0f}[/]")
    console.print(table)
    verdict = "[green]fits[/]" if result.fits else "[red]does not fit[/]"
    console.print(f"{verdict} in 90 % of {result.device_memory_mib:,} MiB")
    if result.suggestion:
        console.print(f"Change: {result.suggestion}")
    if result.seconds_per_epoch is not None:
        seconds = result.seconds_per_epoch
        duration = ("under a second" if seconds < 1 else f"about {seconds:,.0f} s"
                    if seconds < 120 else f"about {seconds / 60:,.1f} min")
        console.print(f"Time per epoch: {duration} ({result.epoch_tokens:,} tokens)")
    console.print("Assumptions: " + "; ".join(result.assumptions))
    return 0


@cli.command(short_help="What a run did: steps, best checkpoint, metrics, curves.",
             epilog="""
Examples:

\b
  trainwright report                          # training.output_dir of ./training_config.yaml
  trainwright report outputs/classification --json
  trainwright report outputs/classification --compare outputs/classification/hpo/trial-3
""")
@click.argument("output_dir", required=False)
@click.option("--compare", "other", metavar="DIR2", help="set this run beside another one")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def report(output_dir: str | None, other: str | None, as_json: bool) -> int:
    """What the run in OUTPUT_DIR did: steps done of planned, the best checkpoint and its
    metrics, early stopping, throughput, the per-class report or perplexity and samples. Draws
    training_curves.png when the run did not (needs matplotlib)."""
    from trainwright.report import compare_runs, ensure_curves, read_run
    from trainwright.report.show import json_document, show_comparison, show_run

    folders = [output_dir, other] if other else [output_dir]  # None: the config's output_dir
    runs = [ensure_curves(read_run(folder)) for folder in folders]
    if as_json:
        click.echo(json.dumps(json_document(runs), indent=2, default=str))
    elif len(runs) == 1:
        show_run(console, *runs[0])
    else:
        show_comparison(console, compare_runs(runs[0][0], runs[1][0]),
                        (runs[0][1], runs[1][1]))
    return 0


@cli.command()
def env() -> int:
    """Versions and hardware, for bug reports."""
    from trainwright.discovery.dependencies import discover_dependencies

    console.print(f"trainwright {__version__}, Python {platform.python_version()}, "
                  f"{platform.platform()}")
    _print_dependencies(discover_dependencies())
    _print_hardware(probe_hardware())
    return 0


# ---------------------------------------------------------------------------------------------


def _label_cells(data) -> tuple[str, str]:
    """The label column as init would choose it and its classes; or, when init would ask,
    every candidate."""
    candidates, named = label_candidates(data)
    if not candidates:
        return "-", ""
    if named or len(candidates) == 1:
        return candidates[0].column.name, candidates[0].evidence
    return " or ".join(a.column.name for a in candidates) + " (init asks)", ""


def _print_length_histogram(ranked) -> None:
    """Words per sampled text of the data init would train on, as a histogram of text bars
    (inspect chooses no model, so these are words; init measures tokens)."""
    train = next((data for data in ranked if data.split in ("train", None)),
                 ranked[0] if ranked else None)
    if train is None or not train.sample_texts:
        return
    words = [len(text.split()) for text in train.sample_texts]
    console.print(f"Words per text of {train.path} ({len(words):,} sampled texts; words, as "
                  "inspect chooses no model: init measures tokens with the model's tokenizer):",
                  markup=False)
    for row in text_histogram(length_histogram(words, max_bins=INSPECT_BINS)):
        console.print(f"  {row}", markup=False)


def _show_dry_run(prepared, show_file: str | None = None) -> int:
    _print_plan_table(prepared.plan)
    _print_files(prepared.changes, dry_run=True)
    _print_layout(prepared.plan)
    for change in prepared.changes:
        if change.status in {"conflict", "overwrite", "update"}:
            console.print(change.diff(), markup=False)
    if show_file:
        console.print(f"--- {show_file} (as it would be written) ---")
        console.print(prepared.files[show_file], markup=False, end="")
    console.print("Dry run: nothing was written.")
    return 0


def _print_json(prepared, checks, *, dry_run: bool) -> int:
    """init --json: one document on stdout; 1 when a verification failed."""
    exit_code = 1 if checks and any(not check.ok for check in checks) else 0
    document = init_document(prepared.plan, prepared.changes, checks, dry_run=dry_run,
                             exit_code=exit_code)
    click.echo(json.dumps(document, indent=2))
    return exit_code


def _ask_training_type(never_prompt: bool) -> str:
    if never_prompt or not sys.stdin.isatty():
        raise UserError("No training type given.",
                        f"name one: trainwright init {{{','.join(TRAINING_TYPES)}}} [PROJECT]")
    return click.prompt("Training type", type=click.Choice(list(IMPLEMENTED_TYPES)),
                        default=IMPLEMENTED_TYPES[0])


def _regenerate_command(context: click.Context, answers: list[str]) -> str:
    argv = context.find_root().obj or []
    arguments = [a for a in argv if a not in {"--force", "--dry-run", "--smoke", "--json"}]
    arguments = [a for a in arguments if not a.startswith("--show=")]
    if "--show" in arguments:  # --show FILE only shapes what a dry run prints
        index = arguments.index("--show")
        del arguments[index:index + 2]
    return shlex.join(["trainwright", *arguments, *answers, "--force"])


def _ask(ambiguity: AmbiguousChoice) -> str:
    """The user's pick among the candidates of an ambiguous choice."""
    errors.print(f"{ambiguity.question}: several candidates qualify.")
    for number, candidate in enumerate(ambiguity.candidates, start=1):
        errors.print(f"  {number}. {candidate.value}: {candidate.evidence}", markup=False)
    values = [candidate.value for candidate in ambiguity.candidates]
    picked = click.prompt(f"Which one ({ambiguity.flag} NAME next time)?",
                          type=click.Choice([*values, *map(str, range(1, len(values) + 1))]),
                          show_choices=False, err=True)
    return values[int(picked) - 1] if picked.isdigit() and picked not in values else picked


def _print_files(changes, dry_run: bool) -> None:
    table = Table("file", "status" if not dry_run else "would be")
    colours = {"create": "green", "overwrite": "yellow", "update": "cyan", "conflict": "red"}
    for change in changes:
        colour = colours.get(change.status, "white")
        backup = f" (old kept as {change.backup})" if change.backup and not dry_run else ""
        if change.status == "skip" and change.note:
            backup = f": {change.note}"  # why it is not written, and how it would be
        table.add_row(change.path, f"[{colour}]{change.status}[/]{escape(backup)}")
    console.print(table)


def _print_layout(plan) -> None:
    """Where the config and the script go, and why (a script of the project's own is kept)."""
    if plan.facts_summary.get("layout"):
        console.print(f"Where the files go: {plan.facts_summary['layout']}.", markup=False)


# The choices inferred from the data, shown with their evidence and the flag that overrides
# them (in their reasons) before the hyperparameters.
INFERRED = (("model", "name_or_path"),
            ("data", "train_file"), ("data", "validation_file"), ("data", "test_file"),
            ("data", "objective"), ("data", "format"),
            ("data", "prompt_column"), ("data", "response_column"),
            ("data", "text_column"), ("data", "label_column"), ("data", "label_kind"))


def _model_path_text(value) -> str:
    """A model installed as a package reads as <site-packages>/..., not as the whole path."""
    text = str(value)
    site = sysconfig.get_paths()["purelib"]
    return "<site-packages>" + text[len(site):] if text.startswith(site + os.sep) else text


def _print_inferred(plan) -> None:
    table = Table("choice", "value", "evidence", title="Inferred from the data")
    for section, key in INFERRED:
        choice = plan.sections.get(section, {}).get(key)
        if choice is not None:
            value = (_model_path_text(choice.value) if key == "name_or_path"
                     else _value_text(choice.value))
            table.add_row("model" if key == "name_or_path" else key, value, choice.reason)
    if table.row_count:
        console.print(_folding(table))


def _print_imported(plan) -> None:
    """What the project's configs for other tools set: kept, changed (and why), overruled;
    then their keys that have no equivalent."""
    if plan.imported:
        table = Table("setting", "value", "from", "status", title="Taken from your configs")
        for row in plan.imported:
            status = row.status if not row.why else f"{row.status}: {_short(row.why)}"
            table.add_row(row.setting, _value_text(row.value), row.where.removeprefix("from "),
                          status)
        console.print(_folding(table))
    if plan.unmapped:
        console.print("Not imported (no equivalent in this setup):")
        for item in plan.unmapped:
            console.print(f"  {item.file}: {item.key}: {item.note}")


def _print_plan_table(plan) -> None:
    _print_inferred(plan)
    _print_imported(plan)
    table = Table("setting", "value", "why", title="Key hyperparameters")
    training = plan.sections["training"]
    keys = ("learning_rate", "num_train_epochs", "per_device_train_batch_size",
            "gradient_accumulation_steps", "warmup_steps", "warmup_ratio", "eval_strategy",
            "metric_for_best_model", "bf16", "fp16")
    for key in keys:
        if key in training:
            table.add_row(key, _value_text(training[key].value), _short(training[key].reason))
    if plan.task == "fine-tuning":
        facts = plan.facts_summary
        table.add_row("objective", plan.value("data", "objective"),
                      _short(plan.sections["data"]["objective"].reason))
        table.add_row("method", plan.value("adapter", "method"),
                      _short(plan.sections["adapter"]["method"].reason))
        table.add_row("trainable parameters",
                      f"{facts['trainable_parameters']:,} ({facts['trainable_share']:.2%})",
                      f"of the model's {facts['model_parameters']:,}")
        if "target_modules" in plan.sections["adapter"]:
            targets = plan.sections["adapter"]["target_modules"]
            table.add_row("target_modules", ", ".join(targets.value), targets.short)
    for section, key in (("data", "max_length"), ("data", "block_size"),
                         ("loss", "class_weights"), ("distributed", "strategy")):
        choice = plan.sections.get(section, {}).get(key)
        if choice is not None:
            table.add_row(key, _value_text(choice.value), _short(choice.reason))
    console.print(_folding(table))


def _folding(table: Table) -> Table:
    """Setting names stay whole; long values and reasons wrap instead of ending in '…'."""
    for column in table.columns:
        column.overflow = "fold"
    table.columns[0].no_wrap = True
    return table


def _short(reason: str) -> str:
    """The first clause of a reason, never cut inside brackets; README-TRAINING.md has all."""
    depth = 0
    for index, char in enumerate(reason):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and (char == ";" or reason.startswith(". ", index)):
            return reason[:index]
    return reason


def _value_text(value) -> str:
    """A value as a person reads it: lists and mappings without Python's brackets and quotes,
    floats without float noise."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_value_text(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(item) for item in value)
    return str(value)


def _print_next_steps(prepared) -> None:
    plan = prepared.plan
    missing = prepared.facts.dependencies.missing(REQUIRED_FOR_TRAINING)
    console.print(f"\nConfig: {plan.config_path}   Script: {plan.script_path}")
    console.print("[bold]Start training[/] (from the project root):")
    root = prepared.facts.root
    if root != Path.cwd().resolve():
        try:
            where = root.relative_to(Path.cwd().resolve())
        except ValueError:
            where = root
        console.print(f"  cd {shlex.quote(str(where))}")
    if missing:
        for command in plan.install_commands:
            console.print(f"  {command}")
    console.print(f"  {plan.train_command}")
    _print_launch(plan)
    output_dir = plan.value("training", "output_dir")
    console.print("Next:")
    console.print(f"  a quick check first: {plan.train_command} --max-steps 20 --max-samples 200")
    if plan.value("training", "report_to") in ("tensorboard", ["tensorboard"]):
        console.print(f"  watch it: tensorboard --logdir {shlex.quote(f'{output_dir}/runs')}")
    console.print(f"  review a run: trainwright report {shlex.quote(str(output_dir))}")
    # A search runs each trial in one process (one worker per GPU or machine shares --storage).
    tune = f"python {plan.script_path} --config {plan.config_path}"
    console.print(f"  tune: {tune} --hpo {plan.search_space.n_trials}")
    console.print("  README-TRAINING.md explains every value.")


def _print_launch(plan) -> None:
    """Several processes: the launchers, and what the multi-node variables mean."""
    spread = plan.distribution
    if spread is None:
        return
    commands = plan.launch_commands
    machines = f" on each of the {spread.nodes} machines" if spread.nodes > 1 else ""
    console.print(f"  or with torchrun{machines}: {commands['torchrun']}", markup=False)
    if spread.nodes > 1:
        console.print(
            f"  On every machine: NODE_RANK is its number (0 on the main machine, then 1 to "
            f"{spread.nodes - 1}); MASTER_ADDR is the main machine's address, which "
            f"{spread.accelerate_config} also needs as main_process_ip; JOB_ID is any name "
            "shared by the machines of one run (the rendezvous id); --rdzv-backend c10d lets "
            "the machines meet at --rdzv-endpoint. README-TRAINING.md explains each.",
            markup=False)


def _print_dependencies(dependencies) -> None:
    installed = [f"{p.name} {p.version}" for p in dependencies.packages if p.version]
    console.print("Installed: " + (", ".join(installed) or "none of the training stack"))
    missing = dependencies.missing(REQUIRED_FOR_TRAINING)
    if missing:
        console.print(f"Missing for training: {', '.join(missing)}; install with "
                      f"`{install_command(missing)}`")
    if not dependencies.transformers_installed:
        console.print(f"transformers is not installed: plans target "
                      f"{dependencies.transformers_target}, the newest version trainwright knows.")


def _print_hardware(hardware) -> None:
    gpus = ", ".join(
        f"{g.name} ({g.memory_mib:,} MiB, compute capability "
        f"{'.'.join(map(str, g.compute_capability)) if g.compute_capability else '?'})"
        for g in hardware.gpus) or "none"
    console.print(f"Hardware: GPUs {gpus}; MPS {'yes' if hardware.mps else 'no'}; "
                  f"{hardware.cpu_cores} CPU cores (bf16 {'yes' if hardware.cpu_bf16 else 'no'}); "
                  f"{hardware.ram_mib:,} MiB RAM")


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code (0 ok, 1 verification failed, 2 bad usage/input)."""
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        result = cli.main(args=arguments, prog_name="trainwright", standalone_mode=False,
                          obj=arguments)
    except click.exceptions.Abort:
        errors.print("Aborted.")
        return 2
    except click.exceptions.ClickException as error:
        error.show()
        return 2
    except TrainwrightError as error:
        errors.print(f"[red]error:[/] {error}", markup=True, highlight=False)
        if arguments[:1] == ["init"] and "--json" in arguments:  # CI reads stdout
            click.echo(json.dumps(error_document(str(error), error.exit_code), indent=2))
        return error.exit_code
    except KeyboardInterrupt:
        errors.print("Interrupted; nothing more was written.")
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
