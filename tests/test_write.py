"""Writing never loses a user's file: statuses, --force with backups, dry run, .gitignore."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import labelled_texts, write_csv

from trainwright.cli import main
from trainwright.write import apply_changes, gitignore_content, plan_changes

FILES = {"train.py": "print('generated')\n", "config/training_config.yaml": "a: 1\n"}


def test_statuses_for_new_identical_and_changed_files(tmp_path):
    (tmp_path / "train.py").write_text("print('generated')\n")
    changes = {c.path: c.status for c in plan_changes(tmp_path, FILES, (".env",), force=False)}
    assert changes == {"train.py": "identical", "config/training_config.yaml": "create",
                       ".gitignore": "create"}
    (tmp_path / "train.py").write_text("print('mine')\n")
    changes = {c.path: c.status for c in plan_changes(tmp_path, FILES, (".env",), force=False)}
    assert changes["train.py"] == "conflict"


def test_force_keeps_a_byte_exact_backup(tmp_path):
    original = b"\xff\xfe not even utf-8 \x00"
    (tmp_path / "train.py").write_bytes(original)
    apply_changes(tmp_path, plan_changes(tmp_path, FILES, (".env",), force=True))
    assert (tmp_path / "train.py").read_text() == "print('generated')\n"
    assert (tmp_path / "train.py.bak").read_bytes() == original
    assert not list(tmp_path.rglob("*.tmp"))


def test_gitignore_keeps_existing_lines_and_adds_no_duplicates():
    existing = "node_modules/\n.env\n# mine\n"
    updated = gitignore_content(existing, (".env", "outputs/"))
    assert updated.startswith(existing)
    assert updated.splitlines().count(".env") == 1
    assert "outputs/" in updated.splitlines()
    assert gitignore_content(updated, (".env", "outputs/")) == updated  # idempotent
    assert gitignore_content("no-newline", (".env",)).startswith("no-newline\n")


def test_a_crlf_gitignore_keeps_its_bytes_and_gains_crlf_lines(tmp_path):
    """A Windows-style .gitignore: every byte it had stays, the new lines end in CRLF too."""
    original = b"node_modules/\r\n# mine\r\n*.log\r\n"
    (tmp_path / ".gitignore").write_bytes(original)
    changes = plan_changes(tmp_path, {}, (".env", "outputs/"), force=False)
    apply_changes(tmp_path, changes)
    written = (tmp_path / ".gitignore").read_bytes()
    assert written.startswith(original)
    added = written[len(original):]
    assert b".env\r\n" in added and b"outputs/\r\n" in added
    assert b"\n" not in added.replace(b"\r\n", b"")  # no bare LF anywhere
    # A second run finds nothing to add and leaves the file as it is.
    again = plan_changes(tmp_path, {}, (".env", "outputs/"), force=False)
    assert [change.status for change in again if change.path == ".gitignore"] == ["identical"]


def test_dry_run_writes_nothing_and_shows_diffs(tmp_path, capsys):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(100))
    (tmp_path / "train.py").write_text("print('mine')\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    # --script names the project's own train.py: the diff shows what --force would replace.
    assert main(["init", "classification", str(tmp_path), "--script", "train.py",
                 "--dry-run"]) == 0
    output = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert "--- a/train.py" in output and "-print('mine')" in output
    assert "Dry run: nothing was written." in output


@pytest.mark.e2e  # a whole `trainwright init`: it checks TrainingArguments in a child process
def test_force_overwrites_and_reports_the_backup(tmp_path, capsys):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(100))
    (tmp_path / "train.py").write_text("print('mine')\n")
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    assert main(["init", "classification", str(tmp_path), "--script", "train.py",
                 "--force"]) == 0
    assert (tmp_path / "train.py.bak").read_text() == "print('mine')\n"
    assert "Trainer" in (tmp_path / "train.py").read_text()
    assert (tmp_path / ".gitignore").read_text().startswith("*.pyc\n")
    # The same command again (the config's Regenerate line, less --force) writes nothing new.
    assert main(["init", "classification", str(tmp_path), "--script", "train.py"]) == 0
    assert "identical" in capsys.readouterr().out


@pytest.mark.e2e  # a whole `trainwright init`: it checks TrainingArguments in a child process
def test_env_example_holds_placeholders_only(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(100))
    assert main(["init", "classification", str(tmp_path)]) == 0
    for line in (tmp_path / ".env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[1].startswith("your_"), line
    assert ".env" in (tmp_path / ".gitignore").read_text().splitlines()


def test_secret_scanner_catches_tokens():
    from trainwright.verify import find_secrets

    assert find_secrets("HF_TOKEN=hf_" + "a1B2" * 9)
    assert find_secrets("api_key: " + "Zx9" * 10)
    assert not find_secrets("HF_TOKEN=your_huggingface_token_here")


@pytest.mark.e2e  # a whole `trainwright init`: it checks TrainingArguments in a child process
def test_nothing_in_files_on_disk_but_what_was_planned(tmp_path):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(100))
    assert main(["init", "classification", str(tmp_path)]) == 0
    names = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    import importlib.util

    picture = {"data_at_a_glance.png"} if importlib.util.find_spec("matplotlib") else set()
    assert names == {"data/train.csv", "training_config.yaml", "training_config.schema.json",
                     "train.py", "hyperparameters.json",
                     "README-TRAINING.md", ".env.example", ".gitignore",
                     "requirements-training.txt"} | picture
    assert Path(tmp_path / "train.py").stat().st_mode & 0o044  # readable like any file
