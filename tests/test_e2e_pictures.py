"""End to end: `trainwright init` as a user runs it draws data_at_a_glance.png beside
README-TRAINING.md, and `--json` lists it with the other files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from builders import labelled_texts, write_csv
from test_pictures import png_size

from trainwright.render.draw import stored_fingerprint
from trainwright.render.pictures import PICTURE_FILE

pytestmark = pytest.mark.e2e


def init(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainwright", "init", *arguments],
                          capture_output=True, text=True, timeout=600, check=False)


def test_init_draws_the_picture_and_a_rerun_keeps_it(tmp_path, tiny_bert):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(240, seed=6))
    first = init("classification", str(tmp_path), "--model", str(tiny_bert), "--yes")
    assert first.returncode == 0, first.stderr[-3000:]
    assert PICTURE_FILE in first.stdout
    picture = tmp_path / PICTURE_FILE
    assert png_size(picture.read_bytes()) == (1000, 400)
    fingerprint = stored_fingerprint(picture)
    readme = (tmp_path / "README-TRAINING.md").read_text()
    assert f"![The data at a glance]({PICTURE_FILE})" in readme
    assert "with `max_length`" in readme
    rerun = init("classification", str(tmp_path), "--model", str(tiny_bert), "--yes", "--json")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    files = {entry["path"]: entry for entry in json.loads(rerun.stdout)["files"]}
    assert files[PICTURE_FILE]["status"] == "identical"
    assert stored_fingerprint(picture) == fingerprint
