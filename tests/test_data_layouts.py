"""Where the data is and what a split is: data anywhere in the project, ranked with its
evidence; shards, folders and globs as one split; a single .arrow file; a Hub dataset name
planned from the local datasets cache; samples drawn across large files; a corpus too small
to train on. Unit tier: everything runs in-process."""

from __future__ import annotations

import ast
import json
import random
import re
import shutil
from pathlib import Path

import pytest
from builders import labelled_texts, write_csv
from golden_projects import CPU, DEPENDENCIES, KNOWN_SPECS

from trainwright.cli import main
from trainwright.discovery import discover
from trainwright.discovery.walk import walk_project
from trainwright.errors import AmbiguousChoice, UserError
from trainwright.pipeline import prepare
from trainwright.planning import Options, select_data
from trainwright.planning.ranking import rank


def run_discover(root: Path, **kwargs):
    return discover(root, hardware=CPU, dependencies=DEPENDENCIES, **kwargs)


def plan_files(root: Path, task: str = "classification", **options) -> dict[str, str]:
    prepared = prepare(task, root, Options(**options), hardware=CPU, dependencies=DEPENDENCIES,
                       specs=KNOWN_SPECS)
    return prepared.files


def data_section(files: dict[str, str]) -> dict:
    import yaml

    return yaml.safe_load(files["training_config.yaml"])["data"]


def write_parquet(path: Path, rows: list[tuple[str, str]], row_group_size: int | None = None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"text": [text for text, _ in rows], "label": [label for _, label in rows]})
    pq.write_table(table, path, row_group_size=row_group_size)


def write_hf_layout(root: Path) -> list[tuple[str, str]]:
    """The layout `datasets` pushes to the Hub: data/SPLIT-0000i-of-0000n.parquet."""
    rows = labelled_texts(1000, seed=3)
    write_parquet(root / "data" / "train-00000-of-00002.parquet", rows[:400])
    write_parquet(root / "data" / "train-00001-of-00002.parquet", rows[400:800])
    write_parquet(root / "data" / "validation-00000-of-00001.parquet", rows[800:900])
    write_parquet(root / "data" / "test-00000-of-00001.parquet", rows[900:])
    return rows


def counts(rows) -> dict[str, int]:
    found: dict[str, int] = {}
    for _, label in rows:
        found[label] = found.get(label, 0) + 1
    return found


# ---------------------------------------------------------------------------------------------
# Splits as sets of files
# ---------------------------------------------------------------------------------------------

def test_the_hub_layout_is_three_splits_with_every_shard(tmp_path, tiny_bert):
    rows = write_hf_layout(tmp_path)
    found = {item.split: item for item in run_discover(tmp_path).data}
    assert set(found) == {"train", "validation", "test"}
    train = found["train"]
    assert train.path == "data/train-*.parquet"
    assert train.files == ("data/train-00000-of-00002.parquet",
                           "data/train-00001-of-00002.parquet")
    assert train.rows == 800  # both shards, not the first one's 400
    assert train.label_counts == counts(rows[:800])
    data = data_section(plan_files(tmp_path, model=str(tiny_bert)))
    assert data["train_file"] == "data/train-*.parquet"
    assert data["validation_file"] == "data/validation-00000-of-00001.parquet"
    assert data["test_file"] == "data/test-00000-of-00001.parquet"


def test_data_takes_a_folder_and_a_glob_as_one_split_each(tmp_path, tiny_bert):
    rows = labelled_texts(300, seed=5)
    for index in range(3):
        write_csv(tmp_path / "exports" / f"batch-{index}.csv", rows[index * 80:(index + 1) * 80])
    write_csv(tmp_path / "held_out" / "dev-a.csv", rows[240:270])
    write_csv(tmp_path / "held_out" / "dev-b.csv", rows[270:])
    found = run_discover(tmp_path, data_paths=["exports", "held_out/dev-*.csv"]).data
    by_path = {item.path: item for item in found}
    assert set(by_path) == {"exports/*.csv", "held_out/dev-*.csv"}
    assert by_path["exports/*.csv"].rows == 240
    assert by_path["held_out/dev-*.csv"].split == "validation"
    assert by_path["held_out/dev-*.csv"].rows == 60
    data = data_section(plan_files(tmp_path, model=str(tiny_bert),
                                   data_paths=("exports", "held_out/dev-*.csv")))
    assert (data["train_file"], data["validation_file"]) == ("exports/*.csv", "held_out/dev-*.csv")


def test_files_named_one_by_one_are_one_split_held_as_a_list(tmp_path, tiny_bert):
    rows = labelled_texts(200, seed=6)
    write_csv(tmp_path / "a" / "train.csv", rows[:100])
    write_csv(tmp_path / "b" / "train.csv", rows[100:])
    (item,) = run_discover(tmp_path, data_paths=["a/train.csv", "b/train.csv"]).data
    assert item.rows == 200
    data = data_section(plan_files(tmp_path, model=str(tiny_bert),
                                   data_paths=("a/train.csv", "b/train.csv")))
    assert data["train_file"] == ["a/train.csv", "b/train.csv"]


def test_a_validation_split_is_taken_from_the_training_data_s_dataset(tmp_path):
    rows = labelled_texts(400, seed=13)
    write_csv(tmp_path / "data" / "reviews" / "train.csv", rows[:300])
    write_csv(tmp_path / "data" / "reviews" / "validation.csv", rows[300:350])
    write_csv(tmp_path / "data" / "tickets" / "validation.csv",
              [(t, lab, "web") for t, lab in rows[350:]], header=("body", "queue", "channel"))
    selection = select_data("classification", run_discover(tmp_path))
    assert selection.train.path == "data/reviews/train.csv"
    assert selection.validation.path == "data/reviews/validation.csv"
    (tmp_path / "data" / "reviews" / "validation.csv").unlink()
    selection = select_data("classification", run_discover(tmp_path))
    assert selection.validation is None  # never another dataset's split: carved from train


def test_a_glob_that_matches_nothing_is_refused_with_the_pattern(tmp_path):
    with pytest.raises(UserError) as raised:
        run_discover(tmp_path, data_paths=["data/train-*.parquet"])
    assert "'data/train-*.parquet' matches no file" in str(raised.value)


def test_a_single_arrow_file_is_data(tmp_path):
    import datasets
    import pyarrow as pa

    rows = labelled_texts(120, seed=7)
    datasets.Dataset.from_dict({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]}
                               ).save_to_disk(str(tmp_path / "saved"))
    for folder in ("data", "other"):
        (tmp_path / folder).mkdir()
    shutil.copy(next((tmp_path / "saved").glob("*.arrow")), tmp_path / "data" / "reviews.arrow")
    shutil.rmtree(tmp_path / "saved")
    table = pa.table({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})
    with pa.ipc.new_file(str(tmp_path / "other" / "file-format.arrow"), table.schema) as writer:
        writer.write_table(table)  # Arrow's file format, not the stream `datasets` writes
    found = run_discover(tmp_path).data
    assert [item.path for item in found] == ["data/reviews.arrow", "other/file-format.arrow"]
    for item in found:
        assert item.format == "arrow"
        assert item.rows == 120
        assert (item.text_column, item.label_column) == ("text", "label")
        assert item.label_counts == counts(rows)


# ---------------------------------------------------------------------------------------------
# Finding data anywhere, ranked
# ---------------------------------------------------------------------------------------------

def test_data_deep_in_the_project_is_found_and_ranked_above_a_fixture(tmp_path, capsys):
    corpus = tmp_path / "resources" / "corpora" / "2024" / "x.jsonl"
    corpus.parent.mkdir(parents=True)
    corpus.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n"
                              for t, lab in labelled_texts(400, seed=8)))
    fixture = tmp_path / "tests" / "fixtures" / "sample.json"
    fixture.parent.mkdir(parents=True)
    fixture.write_text(json.dumps([{"text": "a b c", "label": "x"}, {"text": "d e", "label": "y"}]))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "prepare.py").write_text('SOURCE = "resources/corpora/2024/x.jsonl"\n')
    facts = run_discover(tmp_path)
    ranked = rank(facts.data)
    assert [r.data.path for r in ranked] == ["resources/corpora/2024/x.jsonl",
                                             "tests/fixtures/sample.json"]
    evidence = "; ".join(ranked[0].evidence)
    assert "in a data folder (corpora/)" in evidence
    assert "mentioned in scripts/prepare.py" in evidence
    assert "in tests/, where tests and fixtures live" in "; ".join(ranked[1].evidence)
    selection = select_data("classification", facts)
    assert selection.train.path == "resources/corpora/2024/x.jsonl"
    assert "--data overrides" in selection.why
    assert "mentioned in scripts/prepare.py" in selection.why
    assert main(["inspect", str(tmp_path), "--json"]) == 0
    ranking = json.loads(capsys.readouterr().out)["data_ranking"]
    assert ranking[0]["path"] == "resources/corpora/2024/x.jsonl"
    assert ranking[0]["score"] > ranking[1]["score"]
    assert "400 rows" in ranking[0]["evidence"]


def test_skipped_folders_are_not_walked(tmp_path):
    skipped = [".git/objects", "my-env", "node_modules/pkg", "src/__pycache__",
               "outputs/classification", "runs/checkpoint-500", ".cache/x", "models/bert",
               "pkg.egg-info"]
    for folder in skipped:
        write_csv(tmp_path / folder / "rows.csv", labelled_texts(20))
        (tmp_path / folder / "module.py").write_text("import torch\n")
    (tmp_path / "my-env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "models" / "bert" / "config.json").write_text("{}")
    (tmp_path / "models" / "bert" / "model.safetensors").write_bytes(b"\0")
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(20))
    files = walk_project(tmp_path)
    walked = {path.relative_to(tmp_path).as_posix() for path in files.python_files}
    assert walked == set()
    assert [path.relative_to(tmp_path).as_posix() for path in files.data_files] == \
        ["data/train.csv"]
    assert {"my-env", "models/bert", "node_modules", ".git", "outputs", "pkg.egg-info"} <= \
        set(files.skipped_dirs)


def test_the_walk_keeps_to_its_budget_and_reports_progress(tmp_path, monkeypatch):
    from trainwright.discovery import walk

    for index in range(120):
        (tmp_path / f"pkg{index % 6}").mkdir(exist_ok=True)
        (tmp_path / f"pkg{index % 6}" / f"mod{index}.py").write_text("x = 1\n")
    monkeypatch.setattr(walk, "PROGRESS_EVERY", 25)
    messages: list[str] = []
    files = walk.walk_project(tmp_path, messages.append, max_files=60)
    assert 60 <= files.total_files < 120
    assert files.stopped is not None and "stopped scanning after" in files.stopped
    assert messages and messages[0].startswith("scanning files: ")
    facts = run_discover(tmp_path)  # the full budget sees all of it
    assert facts.files_scanned == 120


@pytest.mark.e2e  # a whole init: it starts the TrainingArguments check in a child
def test_two_equally_plausible_candidates_are_a_question(tmp_path, tiny_bert, monkeypatch,
                                                         capsys):
    rows = labelled_texts(400, seed=9)
    write_csv(tmp_path / "data" / "reviews.csv", rows[:200])
    write_csv(tmp_path / "data" / "tickets.csv", [(t, lab, "web") for t, lab in rows[200:]],
              header=("text", "label", "channel"))
    facts = run_discover(tmp_path)
    with pytest.raises(AmbiguousChoice) as raised:
        select_data("classification", facts)
    assert raised.value.flag == "--data" and raised.value.option == "data_paths"
    assert [c.value for c in raised.value.candidates] == ["data/reviews.csv", "data/tickets.csv"]
    # Without a terminal: exit 2 listing the candidates and the flag; nothing is written.
    code = main(["init", "classification", str(tmp_path), "--model", str(tiny_bert), "--yes"])
    message = capsys.readouterr().err
    assert code == 2
    assert "data/reviews.csv" in message and "data/tickets.csv" in message
    assert "--data" in message and not (tmp_path / "training_config.yaml").exists()
    # In a terminal the answer is planned on.
    import click

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(click, "prompt", lambda *args, **kwargs: "2")
    code = main(["init", "classification", str(tmp_path), "--model", str(tiny_bert),
                 "--dry-run"])
    assert code == 0
    assert re.search(r"train_file\s*│\s*data/tickets\.csv", capsys.readouterr().out)


# ---------------------------------------------------------------------------------------------
# Hub dataset names
# ---------------------------------------------------------------------------------------------

def fill_datasets_cache(cache: Path, name: str, splits: dict[str, list[tuple[str, str]]]) -> None:
    """What `datasets.load_dataset(name)` leaves in HF_DATASETS_CACHE (datasets 3+)."""
    import datasets

    owner, dataset = name.split("/")
    folder = cache / f"{owner}___{dataset}" / "plain_text" / "0.0.0" / "0123abcd"
    folder.mkdir(parents=True)
    infos = {}
    for split, rows in splits.items():
        saved = cache / "saved" / split
        datasets.Dataset.from_dict({"text": [t for t, _ in rows],
                                    "label": [lab for _, lab in rows]}).save_to_disk(str(saved))
        shutil.copy(next(saved.glob("*.arrow")), folder / f"{dataset}-{split}.arrow")
        infos[split] = {"name": split, "num_examples": len(rows), "dataset_name": dataset}
    shutil.rmtree(cache / "saved")
    (folder / "dataset_info.json").write_text(json.dumps(
        {"config_name": "plain_text", "dataset_name": dataset, "splits": infos}))


def test_a_cached_hub_dataset_is_planned_from_the_cache_with_its_splits(tmp_path, tiny_bert,
                                                                         monkeypatch):
    rows = labelled_texts(300, seed=10)
    cache = tmp_path / "hf-datasets"
    fill_datasets_cache(cache, "stanfordnlp/imdb", {"train": rows[:250], "test": rows[250:],
                                                    "unsupervised": rows[:10]})
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    project = tmp_path / "project"
    project.mkdir()
    found = run_discover(project, data_paths=["stanfordnlp/imdb"])
    assert {(item.split, item.rows) for item in found.data} == {("train", 250), ("test", 50)}
    assert any("unsupervised" in note for note in found.notes)
    files = plan_files(project, model=str(tiny_bert), data_paths=("stanfordnlp/imdb",))
    data = data_section(files)
    assert (data["train_file"], data["test_file"]) == ("stanfordnlp/imdb", "stanfordnlp/imdb")
    assert data["validation_file"] is None  # carved from train, never the test split
    readme = files["README-TRAINING.md"]
    assert "local datasets cache" in readme and "loads its train split by name" in readme


def test_a_hub_name_that_is_not_cached_is_exit_2_saying_what_is_needed(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "empty-cache"))
    project = tmp_path / "project"
    project.mkdir()
    code = main(["init", "classification", str(project), "--data", "stanfordnlp/imdb",
                 "--yes", "--dry-run"])
    message = capsys.readouterr().err
    assert code == 2
    assert "stanfordnlp/imdb" in message and "not in the local datasets cache" in message
    assert "datasets.load_dataset('stanfordnlp/imdb')" in message and "--data" in message
    assert "Traceback" not in message


def rendered_functions(source: str, names: set[str], **namespace) -> dict:
    """The named top-level functions, classes and constants of a rendered train.py, run in a
    namespace of our own (so that load_dataset can be replaced)."""
    tree = ast.parse(source)
    keep = [node for node in tree.body
            if (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names)
            or (isinstance(node, ast.Assign) and any(getattr(t, "id", "") in names
                                                     for t in node.targets))]
    exec(compile(ast.Module(keep, type_ignores=[]), "train.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("task, builder", [("classification", "labelled"),
                                           ("generation", "corpus")])
def test_train_py_loads_a_hub_name_by_its_split_and_local_lists_whole(tmp_path, task, builder,
                                                                      tiny_bert):
    if builder == "labelled":
        write_csv(tmp_path / "data" / "train.csv", labelled_texts(200, seed=11))
        files = plan_files(tmp_path, task, model=str(tiny_bert))
    else:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "corpus.txt").write_text("the quick brown fox jumps .\n" * 2000)
        files = plan_files(tmp_path, task, model="HuggingFaceTB/SmolLM2-135M")
    calls = []

    def load_dataset(path, *args, **kwargs):
        calls.append((path, kwargs))
        if path == "offline/missing":
            raise ConnectionError("Couldn't reach 'offline/missing' on the Hub")
        return f"dataset of {path}"

    from datasets import Dataset, DatasetDict

    train_py = files["train.py"]
    names = {"load_split", "is_glob", "load_hub_split", "DATA_BUILDERS", "DataError"}
    space = rendered_functions(train_py, names, Path=Path, Dataset=Dataset,
                               DatasetDict=DatasetDict, load_dataset=load_dataset,
                               load_from_disk=None)
    space["load_split"]("stanfordnlp/imdb", "validation")
    assert calls[-1] == ("stanfordnlp/imdb", {"split": "validation"})
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text('{"text": "x"}\n')
    space["load_split"]([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")])
    assert calls[-1] == ("json", {"data_files": [str(tmp_path / "a.jsonl"),
                                                  str(tmp_path / "b.jsonl")], "split": "train"})
    with pytest.raises(space["DataError"]) as raised:
        space["load_split"]("offline/missing", "train")
    assert "local cache" in str(raised.value) and "offline/missing" in str(raised.value)
    # Every split is loaded by its own name: a Hub validation file never evaluates on train.
    assert 'load_split(data["train_file"]' in train_py
    assert 'data["validation_file"], "validation")' in train_py


# ---------------------------------------------------------------------------------------------
# Samples across large files
# ---------------------------------------------------------------------------------------------

def test_the_sample_of_a_large_file_reaches_its_end(tmp_path):
    """Rows sorted by length: a head sample would see only the short ones."""
    generator = random.Random(12)
    short = [" ".join(generator.choices(["a", "b", "c"], k=5)) for _ in range(60_000)]
    long = [" ".join(generator.choices(["d", "e", "f"], k=300)) for _ in range(1_500)]
    path = tmp_path / "data" / "sorted.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps({"text": t, "label": "x" if i % 2 else "y"}) + "\n"
                            for i, t in enumerate(short + long)))
    assert path.stat().st_size > 2 * 1024 * 1024
    (item,) = run_discover(tmp_path).data
    assert item.rows == 61_500
    assert item.text_length_words["max"] == 300
    assert item.text_length_words["p99"] == 300  # over 1 % of the sample is from the end
    assert item.text_length_words["p50"] == 5
    assert any(len(text.split()) == 300 for text in item.sample_texts)


def test_csv_samples_across_the_file_start_on_record_boundaries(tmp_path):
    """Multi-line quoted values: a piece may start inside one; no row is cut or glued."""
    path = tmp_path / "data" / "notes.csv"
    path.parent.mkdir()
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("text,label\n")
        for i in range(30_000):
            words = 10 if i < 24_000 else 40
            body = " ".join(["w"] * words)
            handle.write(f'"{body}\n{body}, more",{"odd" if i % 2 else "even"}\n')
    (item,) = run_discover(tmp_path).data
    assert path.stat().st_size > 2 * 1024 * 1024
    assert item.rows == 30_000
    assert set(item.text_length_words.values()) <= {20 + 1, 80 + 1}  # whole values only
    assert item.text_length_words["max"] == 81  # the long rows at the end are sampled


def test_parquet_samples_come_from_row_groups_across_the_file(tmp_path):
    rows = [(f"short {i}", "x") for i in range(20_000)] + \
        [(" ".join(["long"] * 50), "y") for _ in range(5_000)]
    write_parquet(tmp_path / "data" / "train.parquet", rows, row_group_size=2_500)
    (item,) = run_discover(tmp_path).data
    assert item.rows == 25_000
    assert item.text_length_words["max"] == 50


# ---------------------------------------------------------------------------------------------
# Generation: a corpus too small to train on
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, held", [("", "no text at all"),
                                        ("a tiny corpus .\nof two lines .\n", "about ")])
def test_a_corpus_too_small_for_the_blocks_is_refused_with_the_numbers(tmp_path, text, held):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "corpus.txt").write_text(text)
    with pytest.raises(UserError) as raised:
        plan_files(tmp_path, "generation", model="HuggingFaceTB/SmolLM2-135M")
    message = str(raised.value)
    assert "data/corpus.txt is too small to train a language model on" in message
    assert held in message
    assert "at least 1,280" in message and "blocks of 64 tokens" in message
    assert "--data" in message
