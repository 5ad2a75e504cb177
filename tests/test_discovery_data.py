"""Data discovery: which files hold data, their splits, schema, counts and problems."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from trainwright.discovery import discover
from trainwright.discovery.data import SAMPLE_BYTES, inspect_data_file
from trainwright.discovery.models import DataProblem, Dependencies, Hardware
from trainwright.errors import UserError

HARDWARE = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16384,
                    source="test")
DEPENDENCIES = Dependencies(packages=(), training_argument_fields=(),
                            transformers_target="0", transformers_installed=False)

REVIEWS = [
    ("great product, would buy again", "positive"),
    ("arrived broken and late", "negative"),
    ("love it", "positive"),
    ("the worst purchase I have made this year", "negative"),
    ("does it come in blue?", "question"),
    ("perfect size and colour", "positive"),
    ("terrible support, no refund", "negative"),
    ("amazing value for the price", "positive"),
]
REVIEW_COUNTS = {"positive": 4, "negative": 3, "question": 1}


def run_discover(root: Path, **kwargs):
    return discover(root, hardware=HARDWARE, dependencies=DEPENDENCIES, **kwargs)


def data_by_path(root: Path, **kwargs) -> dict:
    return {item.path: item for item in run_discover(root, **kwargs).data}


def write_rows(path: Path, rows, header=("text", "label"), delimiter=",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def records(header=("text", "label"), rows=REVIEWS) -> list[dict]:
    return [dict(zip(header, row)) for row in rows]


# ---------------------------------------------------------------------------------------------
# Every format
# ---------------------------------------------------------------------------------------------

def assert_reviews(item, fmt: str, path: str, text="text", label="label"):
    assert item.path == path
    assert item.format == fmt
    assert item.rows == len(REVIEWS)
    assert list(item.columns) == [text, label]
    assert item.text_column == text
    assert item.label_column == label
    assert item.label_counts == REVIEW_COUNTS
    assert item.num_classes == 3
    assert item.problems == ()


def test_csv(tmp_path):
    write_rows(tmp_path / "data" / "reviews.csv", REVIEWS)
    (item,) = run_discover(tmp_path).data
    assert_reviews(item, "csv", "data/reviews.csv")
    assert item.size_bytes == (tmp_path / "data" / "reviews.csv").stat().st_size


def test_tsv(tmp_path):
    write_rows(tmp_path / "data" / "reviews.tsv", REVIEWS, delimiter="\t")
    (item,) = run_discover(tmp_path).data
    assert_reviews(item, "tsv", "data/reviews.tsv")


def test_jsonl(tmp_path):
    write_jsonl(tmp_path / "data" / "reviews.jsonl", records())
    (item,) = run_discover(tmp_path).data
    assert_reviews(item, "jsonl", "data/reviews.jsonl")


def test_json_array(tmp_path):
    path = tmp_path / "data" / "reviews.json"
    path.parent.mkdir()
    path.write_text(json.dumps(records(), indent=2), encoding="utf-8")
    (item,) = run_discover(tmp_path).data
    assert_reviews(item, "json", "data/reviews.json")


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "data" / "reviews.parquet"
    path.parent.mkdir()
    table = pa.table({"text": [t for t, _ in REVIEWS], "label": [lab for _, lab in REVIEWS]})
    pq.write_table(table, path)
    (item,) = run_discover(tmp_path).data
    assert_reviews(item, "parquet", "data/reviews.parquet")


def test_parquet_written_in_several_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels = ["a"] * 7000 + ["b"] * 2500 + ["c"] * 500
    random.Random(3).shuffle(labels)
    path = tmp_path / "data" / "train.parquet"
    path.parent.mkdir()
    table = pa.table({"sentence": [f"sentence number {i} here" for i in range(10000)],
                      "intent": labels})
    pq.write_table(table, path, row_group_size=1000)
    (item,) = run_discover(tmp_path).data
    assert (item.format, item.split, item.rows) == ("parquet", "train", 10000)
    assert (item.text_column, item.label_column) == ("sentence", "intent")
    assert item.label_counts == {"a": 7000, "b": 2500, "c": 500}


def test_txt(tmp_path):
    path = tmp_path / "data" / "corpus.txt"
    path.parent.mkdir()
    path.write_text("the first line of text\nthe second line\n\nthe third and last line\n",
                    encoding="utf-8")
    (item,) = run_discover(tmp_path).data
    assert (item.path, item.format, item.rows) == ("data/corpus.txt", "txt", 3)
    assert item.columns == ("text",)
    assert item.text_column == "text"
    assert item.label_column is None
    assert item.label_counts == {}
    assert item.problems == ()


def test_large_txt_row_count_is_exact(tmp_path):
    """Beyond the head sample the lines are counted by the streaming pass."""
    path = tmp_path / "data" / "corpus.txt"
    path.parent.mkdir()
    lines = [f"line number {i} with a few more words in it" for i in range(40000)]
    path.write_text("\n".join(lines), encoding="utf-8")  # no newline after the last line
    assert path.stat().st_size > SAMPLE_BYTES
    (item,) = run_discover(tmp_path).data
    assert item.rows == 40000


def test_datasets_save_to_disk_folder(tmp_path):
    import datasets

    texts = [t for t, _ in REVIEWS] * 25
    labels = [lab for _, lab in REVIEWS] * 25
    datasets.Dataset.from_dict({"review": texts, "sentiment": labels}).save_to_disk(
        str(tmp_path / "data" / "reviews_ds"))
    (item,) = run_discover(tmp_path).data
    assert item.path == "data/reviews_ds"
    assert item.format == "arrow"
    assert item.rows == 200
    assert list(item.columns) == ["review", "sentiment"]
    assert (item.text_column, item.label_column) == ("review", "sentiment")
    assert item.label_counts == {"positive": 100, "negative": 75, "question": 25}
    assert item.problems == ()


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------

def test_splits_from_names(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_rows(tmp_path / "train.csv", REVIEWS)
    write_rows(tmp_path / "data" / "validation.csv", REVIEWS)
    write_jsonl(tmp_path / "dev.jsonl", records())
    pq.write_table(pa.table({"text": ["a b c"] * 4, "label": ["x", "y"] * 2}),
                   tmp_path / "test.parquet")
    write_rows(tmp_path / "data" / "train" / "part.csv", REVIEWS)
    write_rows(tmp_path / "data" / "reviews_2024.csv", REVIEWS)
    splits = {path: item.split for path, item in data_by_path(tmp_path).items()}
    assert splits == {
        "train.csv": "train",
        "data/validation.csv": "validation",
        "dev.jsonl": "validation",
        "test.parquet": "test",
        "data/train/part.csv": "train",
        "data/reviews_2024.csv": None,
    }


def test_project_folder_name_is_not_a_split(tmp_path):
    """A project that happens to live in a folder called `test` has no test split."""
    root = tmp_path / "test"
    write_rows(root / "reviews.csv", REVIEWS)
    (item,) = run_discover(root).data
    assert item.path == "reviews.csv"
    assert item.split is None


# ---------------------------------------------------------------------------------------------
# Column roles
# ---------------------------------------------------------------------------------------------

def test_text_and_label_columns_from_names(tmp_path):
    rows = [(i, text, label) for i, (text, label) in enumerate(REVIEWS)]
    write_rows(tmp_path / "data" / "reviews.csv", rows, header=("id", "review", "sentiment"))
    (item,) = run_discover(tmp_path).data
    assert (item.text_column, item.label_column) == ("review", "sentiment")
    assert item.label_counts == REVIEW_COUNTS


def test_text_and_label_columns_from_content(tmp_path):
    generator = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    rows = [(" ".join(generator.choices(words, k=generator.randint(5, 15))), ["x", "y", "z"][i % 3])
            for i in range(30)]
    write_rows(tmp_path / "data" / "things.csv", rows, header=("a", "b"))
    (item,) = run_discover(tmp_path).data
    assert (item.text_column, item.label_column) == ("a", "b")
    assert item.label_counts == {"x": 10, "y": 10, "z": 10}


def test_given_column_names_win_and_wrong_ones_are_reported(tmp_path):
    rows = [(text, label, "en") for text, label in REVIEWS]
    write_rows(tmp_path / "data" / "reviews.csv", rows, header=("body", "stars", "lang"))
    (item,) = run_discover(tmp_path, text_column="body", label_column="stars").data
    assert (item.text_column, item.label_column) == ("body", "stars")
    assert item.label_counts == REVIEW_COUNTS

    (item,) = run_discover(tmp_path, text_column="content").data
    assert any("content" in p.message for p in item.problems)


# ---------------------------------------------------------------------------------------------
# A file bigger than the head sample
# ---------------------------------------------------------------------------------------------

def test_large_csv_counts_are_exact_and_quoted_fields_are_handled(tmp_path):
    generator = random.Random(11)
    labels = ["billing"] * 36000 + ["shipping"] * 18000 + ["returns"] * 6000
    generator.shuffle(labels)
    words = ["order", "box", "late", "refund", "card", "charge", "parcel", "courier",
             "size", "colour"]
    rows = []
    for number, label in enumerate(labels):
        text = " ".join(generator.choices(words, k=generator.randint(6, 14)))
        if number % 7 == 0:
            text = f'{text}, and "more", on a\nsecond line'  # commas, quotes and a newline
        rows.append((text, label))
    path = write_rows(tmp_path / "data" / "tickets.csv", rows)
    assert path.stat().st_size > 4 * SAMPLE_BYTES
    (item,) = run_discover(tmp_path).data
    assert item.rows == 60000
    assert item.label_column == "label"
    assert item.label_counts == {"billing": 36000, "shipping": 18000, "returns": 6000}
    assert 0 < item.sampled_rows < 60000
    assert item.problems == ()


def test_text_length_percentiles_in_words(tmp_path):
    # 100 texts of 1..100 words: p50 near 50, p90 near 90, max 100.
    rows = [(" ".join(["word"] * n), "a" if n % 2 else "b") for n in range(1, 101)]
    random.Random(5).shuffle(rows)
    write_rows(tmp_path / "data" / "lengths.csv", rows)
    (item,) = run_discover(tmp_path).data
    words = item.text_length_words
    assert set(words) == {"p50", "p90", "p95", "p99", "max"}
    assert 49 <= words["p50"] <= 52
    assert 89 <= words["p90"] <= 92
    assert 94 <= words["p95"] <= 97
    assert 98 <= words["p99"] <= 100
    assert words["max"] == 100
    assert item.text_length_chars["max"] == len(" ".join(["word"] * 100))


# ---------------------------------------------------------------------------------------------
# Problems are recorded, never raised
# ---------------------------------------------------------------------------------------------

def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "data" / "weights.csv"
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04\x00\x00\x00binary\x00\xff\xfe" * 50)
    item = inspect_data_file(path, tmp_path)
    assert item.rows is None
    assert len(item.problems) == 1
    assert item.problems[0].kind == DataProblem.UNREADABLE
    assert "data/weights.csv" in item.problems[0].message and "binary" in item.problems[0].message


def test_non_utf8_csv(tmp_path):
    path = tmp_path / "data" / "latin.csv"
    path.parent.mkdir()
    path.write_bytes("text,label\ncafé crème,positive\nçà et là,negative\n".encode("latin-1"))
    item = inspect_data_file(path, tmp_path)
    assert item.rows is None
    assert len(item.problems) == 1
    assert item.problems[0].kind == DataProblem.UNREADABLE
    assert "data/latin.csv" in item.problems[0].message and "UTF-8" in item.problems[0].message


def test_empty_csv_has_zero_rows(tmp_path):
    path = tmp_path / "data" / "empty.csv"
    path.parent.mkdir()
    path.write_text("text,label\n", encoding="utf-8")
    item = inspect_data_file(path, tmp_path)
    assert item.rows == 0
    assert item.columns == ("text", "label")
    assert item.label_counts == {}
    assert item.text_length_words == {}


def test_jsonl_with_a_broken_line(tmp_path):
    path = tmp_path / "data" / "broken.jsonl"
    path.parent.mkdir()
    path.write_text('{"text": "fine", "label": "a"}\n{"text": "cut off", "lab\n'
                    '{"text": "fine too", "label": "b"}\n', encoding="utf-8")
    item = inspect_data_file(path, tmp_path)
    assert len(item.problems) == 1
    assert item.problems[0].kind == DataProblem.UNREADABLE
    assert "data/broken.jsonl" in item.problems[0].message and "line 2" in item.problems[0].message


def test_problems_do_not_stop_discovery_of_other_files(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bad.csv").write_bytes(b"\x00\x01\x02")
    write_rows(tmp_path / "data" / "good.csv", REVIEWS)
    found = data_by_path(tmp_path)
    assert set(found) == {"data/bad.csv", "data/good.csv"}
    assert found["data/bad.csv"].problems
    assert found["data/good.csv"].label_counts == REVIEW_COUNTS


def test_missing_labels_are_reported(tmp_path):
    rows = REVIEWS + [("no label on this one", "")]
    write_rows(tmp_path / "data" / "reviews.csv", rows)
    (item,) = run_discover(tmp_path).data
    assert item.rows == 9
    assert item.label_counts == REVIEW_COUNTS
    assert [p.kind for p in item.problems] == [DataProblem.MISSING_LABELS]
    assert "1 rows have no value in 'label'" in item.problems[0].message


# ---------------------------------------------------------------------------------------------
# Which files are data
# ---------------------------------------------------------------------------------------------

def test_data_is_looked_for_everywhere_but_outputs_and_files_that_are_not_data(tmp_path):
    write_rows(tmp_path / "reviews.csv", REVIEWS)
    write_rows(tmp_path / "data" / "a.csv", REVIEWS)
    write_rows(tmp_path / "datasets" / "nested" / "b.csv", REVIEWS)
    write_rows(tmp_path / "src" / "fixtures" / "x.csv", REVIEWS)
    write_rows(tmp_path / "tests" / "fixtures" / "y.csv", REVIEWS)
    write_rows(tmp_path / "outputs" / "predictions.csv", REVIEWS)
    (tmp_path / "requirements.txt").write_text("torch\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    (tmp_path / "README.txt").write_text("How to train.\n")
    (tmp_path / "LICENSE.txt").write_text("MIT\n")
    (tmp_path / "src" / "settings.json").write_text('{\n  "debug": true\n}\n')  # no rows
    assert set(data_by_path(tmp_path)) == {"reviews.csv", "data/a.csv", "datasets/nested/b.csv",
                                           "src/fixtures/x.csv", "tests/fixtures/y.csv"}


def test_requirements_with_underscore_is_not_data(tmp_path):
    (tmp_path / "requirements_dev.txt").write_text("pytest\nruff\n")
    (tmp_path / "requirements.in.txt").write_text("pytest\n")
    assert run_discover(tmp_path).data == ()


# ---------------------------------------------------------------------------------------------
# Data paths the user gives
# ---------------------------------------------------------------------------------------------

def test_given_data_paths_replace_discovery(tmp_path):
    write_rows(tmp_path / "data" / "a.csv", REVIEWS)
    write_rows(tmp_path / "elsewhere" / "b.csv", REVIEWS)
    found = data_by_path(tmp_path, data_paths=["elsewhere/b.csv"])
    assert set(found) == {"elsewhere/b.csv"}


def test_data_path_outside_the_project_is_refused(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    write_rows(tmp_path / "outside.csv", REVIEWS)
    with pytest.raises(UserError) as caught:
        run_discover(root, data_paths=["../outside.csv"])
    assert "../outside.csv" in str(caught.value)
    assert "outside the project" in str(caught.value)


def test_missing_data_path_is_refused(tmp_path):
    with pytest.raises(UserError) as caught:
        run_discover(tmp_path, data_paths=["data/nope.csv"])
    assert "data/nope.csv" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Counting beyond the head for JSON
# ---------------------------------------------------------------------------------------------

def test_large_jsonl_counts_are_exact(tmp_path):
    labels = ["yes"] * 15000 + ["no"] * 5000
    random.Random(2).shuffle(labels)
    path = write_jsonl(tmp_path / "data" / "train.jsonl",
                       [{"text": f"question number {i} about something", "label": label}
                        for i, label in enumerate(labels)])
    assert path.stat().st_size > SAMPLE_BYTES
    (item,) = run_discover(tmp_path).data
    assert item.rows == 20000
    assert item.label_counts == {"yes": 15000, "no": 5000}
    assert item.problems == ()


def test_large_json_array_counts_are_exact(tmp_path):
    labels = ["yes"] * 15000 + ["no"] * 5000
    random.Random(2).shuffle(labels)
    path = tmp_path / "data" / "train.json"
    path.parent.mkdir()
    path.write_text(json.dumps([{"text": f"question number {i} about something", "label": lab}
                                for i, lab in enumerate(labels)]), encoding="utf-8")
    assert path.stat().st_size > SAMPLE_BYTES
    (item,) = run_discover(tmp_path).data
    assert item.rows == 20000
    assert item.label_counts == Counter(labels)
    assert item.problems == ()


def test_head_sample_cut_inside_a_quoted_multiline_field(tmp_path):
    """The 1 MB head may end inside a quoted field; the schema and counts must not suffer."""
    path = tmp_path / "data" / "notes.csv"
    path.parent.mkdir()
    filler = " ".join(["word"] * 60)
    body = "".join(f'"row {i:06d}, part one {filler}\npart two",{"odd" if i % 2 else "even"}\n'
                   for i in range(5000))  # ~330 bytes a row: the head holds < 5000 rows
    for padding in range(40):
        # Every row's text spans two lines, so the last newline before the sample boundary is
        # inside a quoted field for some paddings of the first row: use the first such padding.
        raw = (f'text,label\n"{"p" * padding}\nstart",first\n' + body).encode("utf-8")
        head = raw[:SAMPLE_BYTES]
        cut = head.rfind(b"\n") + 1
        if head[:cut].count(b'"') % 2 == 1:  # an open quote at the cut
            break
    else:
        pytest.fail("no padding put the sample boundary inside a quoted field")
    path.write_bytes(raw)
    (item,) = run_discover(tmp_path).data
    assert item.problems == ()
    assert item.columns == ("text", "label")
    assert (item.text_column, item.label_column) == ("text", "label")
    assert item.rows == 5001
    assert item.label_counts == {"even": 2500, "odd": 2500, "first": 1}
    assert 1000 < item.sampled_rows < 5000
    assert item.text_length_words["max"] == 66  # no row cut short or glued to the next
    assert item.text_length_words["p50"] == 66
