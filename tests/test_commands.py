"""One convention for every command: a project folder or a config path, defaults that work from
the project root or above it, and fixes that name the command the user ran."""

from __future__ import annotations

import json

from builders import labelled_texts, write_csv

from trainwright.cli import main
from trainwright.discovery.models import Hardware
from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.write import apply_changes

CPU = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16_000, source="test")


def project_with_config(root, model, rows=360):
    write_csv(root / "data" / "train.csv", labelled_texts(rows))
    prepared = prepare("classification", root, Options(model=str(model)), hardware=CPU)
    apply_changes(root, prepared.changes)
    return root / "training_config.yaml"


def test_validate_takes_a_project_folder_like_init(tmp_path, tiny_bert, capsys):
    config = project_with_config(tmp_path / "project", tiny_bert)
    assert main(["validate", str(tmp_path / "project")]) == 0
    assert f"{config}: valid" in " ".join(capsys.readouterr().out.split())


def test_a_bare_validate_finds_the_one_config_below(tmp_path, tiny_bert, monkeypatch, capsys):
    project_with_config(tmp_path / "examples" / "reviews", tiny_bert)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    assert "examples/reviews/training_config.yaml: valid" in capsys.readouterr().out


def test_several_configs_below_are_listed_not_guessed(tmp_path, tiny_bert, monkeypatch, capsys):
    for name in ("a", "b"):
        project_with_config(tmp_path / name, tiny_bert, rows=60)
    monkeypatch.chdir(tmp_path)
    assert main(["estimate"]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "a/training_config.yaml" in error and "b/training_config.yaml" in error
    assert "trainwright estimate a/training_config.yaml" in error


def test_a_bare_estimate_without_a_config_names_init_and_estimate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["estimate"]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "trainwright estimate path/to/training_config.yaml" in error
    assert "trainwright init" in error and "validate" not in error


def test_estimate_counts_the_rows_training_uses(tmp_path, tiny_bert, monkeypatch, capsys):
    project_with_config(tmp_path, tiny_bert, rows=360)
    monkeypatch.chdir(tmp_path)
    assert main(["estimate", "--json", "--gpu", "t4"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    assert any(text.startswith("324 rows") for text in estimate["assumptions"])  # 360 - 10 %
    assert main(["estimate", "--gpu", "t4"]) == 0
    output = capsys.readouterr().out
    assert "about 0 s" not in output and "Time per epoch: under a second" in output


def test_help_lists_every_command_whole(capsys):
    assert main(["--help"]) == 0
    commands = capsys.readouterr().out.split("Commands:")[1]
    assert "..." not in commands and "…" not in commands
    for command in ("init", "inspect", "validate", "estimate", "report", "env"):
        assert f"  {command} " in commands


def test_summary_reasons_are_cut_at_a_clause_never_inside_brackets():
    from trainwright.cli import _short

    reason = ("the 99th percentile is 21 words (1.4 tokens a word; the tokenizer was not "
              "available); rounded up. Batches are padded")
    assert _short(reason) == ("the 99th percentile is 21 words (1.4 tokens a word; the "
                              "tokenizer was not available)")
    assert _short("no clause at all") == "no clause at all"


def test_summary_values_read_as_numbers_and_names():
    from trainwright.cli import _value_text

    assert _value_text({"negative": 1.1110999584197998, "positive": 0.5}) == \
        "negative 1.111, positive 0.5"
    assert _value_text(["q_proj", "v_proj"]) == "q_proj, v_proj"
    assert _value_text(None) == "none" and _value_text(3e-05) == "3e-05"
