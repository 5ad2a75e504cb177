"""The data at a glance: data_at_a_glance.png beside README-TRAINING.md (the lengths with the
planned max_length or block_size marked, and the labels, the packed blocks or the prompt and
response lengths), and the same histogram as text in `trainwright inspect`."""

from __future__ import annotations

import re
import struct
from collections import Counter
from pathlib import Path

import pytest
from builders import (
    build_tiny_llama,
    instruction_rows,
    labelled_texts,
    write_csv,
    write_jsonl,
)

from trainwright.cli import main
from trainwright.discovery.data_shape import sample_parts_of
from trainwright.discovery.models import DataShape, Hardware
from trainwright.pipeline import prepare
from trainwright.planning import Options
from trainwright.render.draw import picture_png, stored_fingerprint
from trainwright.render.pictures import (
    PICTURE_FILE,
    Histogram,
    length_histogram,
    packed_blocks,
    text_histogram,
)
from trainwright.write import apply_changes

CPU = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16_000, source="test")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, the first after the signature."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def in_bins(lengths: list[int], histogram: Histogram) -> list[int]:
    """The lengths counted into the histogram's bins, the open last bin taking the tail."""
    counts = [0] * len(histogram.counts)
    for length in lengths:
        index = max(i for i, edge in enumerate(histogram.edges[:-1]) if length >= edge)
        counts[index] += 1
    return counts


def token_counts(model: Path, texts: list[str]) -> list[int]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return [len(encoding.ids) for encoding in tokenizer.encode_batch(texts)]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# The numbers of the picture
# ---------------------------------------------------------------------------------------------

def test_the_histogram_counts_every_length_once_and_has_max_length_as_an_edge():
    lengths = [1, 2, 2, 3, 7, 8, 9, 15, 40]
    histogram = length_histogram(lengths, limit=8, max_bins=8)
    # The narrowest width that divides max_length and spans the 99th percentile (40) in the
    # bins allowed.
    assert histogram.edges == (0, 8, 16, 24, 32, 40, 48)
    assert histogram.counts == (5, 3, 0, 0, 0, 1)
    assert histogram.total == len(lengths) and not histogram.open_end
    # A long tail goes into one open last bin instead of a hundred empty ones.
    tail = length_histogram([10] * 99 + [5000], limit=64)
    assert tail.open_end and tail.edges[-1] == 5001 and tail.counts[-1] == 1
    assert len(tail.counts) <= 30 and 64 in tail.edges and tail.total == 100


def test_without_a_limit_the_bins_are_round_numbers():
    histogram = length_histogram(list(range(1000)))
    assert histogram.width in {1, 2, 5, 10, 20, 50, 100}
    assert histogram.total == 1000 and len(histogram.counts) <= 30


def test_packed_blocks_count_the_documents_each_full_block_holds():
    # 3 + EOS and 3 + EOS fill one block of 8; 10 + EOS fill the next and 3 tokens spill over,
    # which are no full block and are dropped as train.py drops them.
    assert packed_blocks([3, 3, 10], 8) == ((1, 1), (2, 1))
    lengths = [5, 17, 2, 40, 9, 9, 1, 63, 30]
    blocks = packed_blocks(lengths, 16)
    assert sum(count for _, count in blocks) == sum(n + 1 for n in lengths) // 16


def test_the_text_histogram_shows_each_bins_range_bar_and_count():
    rows = text_histogram(length_histogram([3, 3, 4, 9, 9, 9, 9], limit=None, max_bins=12))
    assert rows[0].split()[0] == "3" and rows[0].endswith("2")  # empty leading bins left out
    counts = [int(row.split()[-1]) for row in rows]
    assert sum(counts) == 7
    longest = max(rows, key=lambda row: row.count("█"))
    assert longest.split()[0] == "9" and longest.count("█") == 40


@pytest.fixture(scope="module")
def long_tail_project(tmp_path_factory, tiny_bert) -> tuple[Path, Path, list[tuple[str, str]]]:
    """600 reviews of which 4 are eight times as long: max_length cuts those."""
    root = tmp_path_factory.mktemp("long-tail")
    rows = labelled_texts(596, seed=3)
    rows += [(" ".join([text] * 8), label) for text, label in labelled_texts(4, seed=4)]
    write_csv(root / "data" / "train.csv", rows)
    return root, tiny_bert, rows


def test_the_classification_picture_is_the_plans_lengths_and_classes(long_tail_project):
    root, model, rows = long_tail_project
    prepared = prepare("classification", root, Options(model=str(model)), hardware=CPU)
    glance = prepared.glance
    lengths = glance.lengths
    max_length = prepared.plan.value("data", "max_length")
    assert (lengths.limit_key, lengths.limit, lengths.measured) == ("max_length", max_length, True)
    measured = token_counts(model, [text for text, _ in rows])
    assert lengths.samples == len(rows) == lengths.histogram.total
    assert list(lengths.histogram.counts) == in_bins(measured, lengths.histogram)
    assert max_length in lengths.histogram.edges
    # The share it cuts is the one the plan's reason gives.
    reason = prepared.plan.sections["data"]["max_length"].reason
    cut, total, share = re.search(r"cuts (\d+) of (\d+) sampled texts \(([\d.]+) %\)",
                                  reason).groups()
    assert (lengths.longer, lengths.samples) == (int(cut), int(total)) == \
        (sum(n > max_length for n in measured), 600)
    assert f"{100 * lengths.longer_share:.1f}" == share and lengths.longer >= 4
    assert dict(glance.labels) == dict(Counter(label for _, label in rows))
    readme = prepared.files["README-TRAINING.md"]
    assert f"![The data at a glance]({PICTURE_FILE})" in readme
    assert f"it cuts {cut} ({share} %) of them" in readme


def test_the_fine_tuning_picture_splits_prompts_from_responses(tmp_path):
    rows = instruction_rows(120, seed=5)
    write_jsonl(tmp_path / "data" / "train.jsonl", rows)
    model = build_tiny_llama(tmp_path / "models" / "llama",
                             [row["instruction"] + " " + row["output"] for row in rows])
    prepared = prepare("fine-tuning", tmp_path, Options(model="models/llama"), hardware=CPU)
    glance = prepared.glance
    assert glance.lengths.added_tokens == 32 and glance.lengths.what == "examples"
    below_template = [count for count, low in zip(glance.lengths.histogram.counts,
                                                  glance.lengths.histogram.edges) if low < 32]
    assert sum(below_template) == 0  # every example carries the chat template's tokens
    responses = token_counts(model, [row["output"] for row in rows])
    assert list(glance.responses.counts) == in_bins(responses, glance.responses)
    assert glance.prompts.total == glance.responses.total == len(rows)
    assert 0 < glance.response_share < 1
    assert glance.labels == () and glance.blocks == ()


def test_a_conversation_splits_into_its_context_and_its_assistant_turns():
    row = {"messages": [{"role": "system", "content": "Be brief."},
                        {"role": "user", "content": "Colour of the fox?"},
                        {"role": "assistant", "content": "Red."},
                        {"role": "user", "content": "And the dog?"},
                        {"role": "assistant", "content": "Blue."}],
           "conversations": [{"from": "Human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}
    chat = DataShape("chat", messages_column="messages")
    assert sample_parts_of(row, chat) == ("Be brief.\nColour of the fox?\nAnd the dog?",
                                          "Red.\nBlue.")
    sharegpt = DataShape("sharegpt", messages_column="conversations")
    assert sample_parts_of(row, sharegpt) == ("Hi", "Hello")
    pair = DataShape("instruction", prompt_column="q", input_column="c", response_column="a")
    assert sample_parts_of({"q": "Sum?", "c": "2 and 3", "a": "5"}, pair) == \
        ("Sum?\n\n2 and 3", "5")


# ---------------------------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------------------------

def test_the_png_is_the_figure_size_and_names_the_data_it_shows(long_tail_project, tmp_path):
    root, model, _ = long_tail_project
    glance = prepare("classification", root, Options(model=str(model)), hardware=CPU).glance
    data = picture_png(glance)
    assert png_size(data) == (1000, 400)  # 10 x 4 inches at 100 dpi
    (tmp_path / "picture.png").write_bytes(data)
    assert stored_fingerprint(tmp_path / "picture.png") == glance.fingerprint


def test_init_draws_it_beside_the_readme_and_replaces_it_only_with_force(tmp_path, tiny_bert):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200, seed=8))
    options = Options(model=str(tiny_bert))
    first = prepare("classification", tmp_path, options, hardware=CPU)
    assert [c.status for c in first.changes if c.path == PICTURE_FILE] == ["create"]
    apply_changes(tmp_path, first.changes)
    picture = tmp_path / PICTURE_FILE
    assert png_size(picture.read_bytes()) == (1000, 400)
    assert f"]({PICTURE_FILE})" in (tmp_path / "README-TRAINING.md").read_text()
    rerun = prepare("classification", tmp_path, options, hardware=CPU)
    assert {c.path: c.status for c in rerun.changes}[PICTURE_FILE] == "identical"
    # Other data: the picture differs like every other file, and is kept without --force.
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(300, seed=9))
    other = prepare("classification", tmp_path, options, hardware=CPU)
    change = next(c for c in other.changes if c.path == PICTURE_FILE)
    assert change.status == "conflict" and "drawn by an earlier init" in change.note
    forced = prepare("classification", tmp_path, options, hardware=CPU, force=True)
    before = picture.read_bytes()
    apply_changes(tmp_path, forced.changes)
    assert (tmp_path / f"{PICTURE_FILE}.bak").read_bytes() == before
    assert stored_fingerprint(picture) == forced.glance.fingerprint != first.glance.fingerprint


def test_a_dry_run_lists_the_picture_and_writes_nothing(tmp_path, tiny_bert, capsys):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200, seed=8))
    before = snapshot(tmp_path)
    assert main(["init", "classification", str(tmp_path), "--model", str(tiny_bert),
                 "--dry-run", "--yes"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{re.escape(PICTURE_FILE)}\s*│\s*create", out)
    assert snapshot(tmp_path) == before


def test_without_matplotlib_init_writes_the_rest_and_says_how_to_get_it(tmp_path, tiny_bert,
                                                                        monkeypatch):
    monkeypatch.setattr("trainwright.pipeline.matplotlib_installed", lambda: False)
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200, seed=8))
    prepared = prepare("classification", tmp_path, Options(model=str(tiny_bert)), hardware=CPU)
    change = next(c for c in prepared.changes if c.path == PICTURE_FILE)
    assert change.status == "skip" and "pip install matplotlib" in change.note
    apply_changes(tmp_path, prepared.changes)
    assert not (tmp_path / PICTURE_FILE).exists()
    assert (tmp_path / "train.py").is_file()
    assert PICTURE_FILE not in (tmp_path / "README-TRAINING.md").read_text()


def test_inspect_prints_the_words_per_text_of_the_training_data(tmp_path, capsys):
    rows = labelled_texts(150, seed=2)
    write_csv(tmp_path / "data" / "train.csv", rows)
    assert main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _, _, after = out.partition("Words per text of data/train.csv (150 sampled texts")
    assert "init measures tokens with the model's tokenizer" in after.splitlines()[0]
    bars = after.splitlines()[1:]
    bars = bars[:next(i for i, line in enumerate(bars) if not line.startswith("  "))]
    words = [len(text.split()) for text, _ in rows]
    for line in bars:  # "  10-11  ████████  126": the range, its bar and its count
        label, count = line.split()[0], int(line.split()[-1])
        if label == ">=":
            low, high = int(line.split()[1]), max(words)
        else:
            low, _, high = label.partition("-")
            low, high = int(low), int(high or low)
        assert count == sum(low <= n <= high for n in words), line
    assert sum(int(line.split()[-1]) for line in bars) == 150
    assert max(line.count("█") for line in bars) == 40
