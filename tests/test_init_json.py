"""init --json: one JSON document (the plan with every value's reason and source, the file
statuses, the verification) that validates against the schema in the repository; --show prints
a file whole in a dry run."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from builders import labelled_texts, write_csv

from trainwright.cli import main
from trainwright.init_report import schema


def project(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(120))
    return tmp_path


def test_a_dry_run_prints_one_document_that_validates(tmp_path, tiny_bert, capsys):
    code = main(["init", "classification", str(project(tmp_path)), "--model", str(tiny_bert),
                 "--dry-run", "--json"])
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, schema())
    assert code == 0 and document["dry_run"] and document["verification"] is None
    sections = document["plan"]["sections"]
    assert sections["model"]["name_or_path"]["source"] == "flag"
    assert sections["data"]["label_column"]["value"] == "label"
    assert "--label-column overrides" in sections["data"]["label_column"]["reason"]
    assert {f["path"]: f["status"] for f in document["files"]}["train.py"] == "create"
    assert not (tmp_path / "train.py").exists()  # a dry run writes nothing


def test_bad_input_is_an_error_document_with_exit_2(tmp_path, capsys):
    code = main(["init", "classification", str(tmp_path / "missing"), "--dry-run", "--json"])
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, schema())
    assert code == 2 and document["exit_code"] == 2 and "does not exist" in document["error"]


def test_show_prints_a_new_file_whole(tmp_path, tiny_bert, capsys):
    main(["init", "classification", str(project(tmp_path)), "--model", str(tiny_bert),
          "--dry-run", "--show", "hyperparameters.json"])
    out = capsys.readouterr().out
    shown = out.split("(as it would be written) ---\n", 1)[1].rsplit("Dry run:", 1)[0]
    assert json.loads(shown)["parameters"]  # the whole file, parseable
    assert main(["init", "classification", str(tmp_path), "--model", str(tiny_bert),
                 "--dry-run", "--show", "nope.txt"]) == 2


@pytest.mark.e2e  # writes and verifies: the TrainingArguments check runs in a child
def test_a_written_setup_reports_its_verification(tmp_path, tiny_bert):
    result = subprocess.run([sys.executable, "-m", "trainwright", "init", "classification",
                             str(project(tmp_path)), "--model", str(tiny_bert), "--json"],
                            capture_output=True, text=True, timeout=300, check=False)
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema())
    assert result.returncode == 0 == document["exit_code"]
    checks = {check["name"]: check for check in document["verification"]}
    assert checks["TrainingArguments"]["ok"] and checks["YAML"]["ok"]
    assert (tmp_path / "train.py").is_file()
