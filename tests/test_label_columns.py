"""Label and text columns, and the kind of label: what discovery measures of each column, how
planning ranks them, and what the user sees (exit 2 with the candidates, or the question in a
terminal). Everything in-process: data written here, a Hub model name planned offline."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import pytest
from builders import labelled_texts, rated_texts, tagged_texts, ticket_rows, write_csv
from golden_projects import KNOWN_SPECS

from trainwright.cli import main
from trainwright.config.validate import validate_config
from trainwright.discovery import discover
from trainwright.discovery.data import SAMPLE_BYTES
from trainwright.discovery.model import describe_model
from trainwright.discovery.models import Dependencies, Hardware
from trainwright.errors import AmbiguousChoice, UserError
from trainwright.planning import Choice, Options, plan
from trainwright.planning.fine_tuning.data import fine_tuning_data
from trainwright.planning.fine_tuning.objective import SEQUENCE_CLASSIFICATION
from trainwright.planning.selection import DataSelection
from trainwright.planning.skeleton import PlanInputs

HARDWARE = Hardware(gpus=(), mps=False, cpu_cores=4, cpu_bf16=False, ram_mib=16384,
                    source="test")
DEPENDENCIES = Dependencies(packages=(), training_argument_fields=(),
                            transformers_target="5.24.0", transformers_installed=False)
MODEL = "distilbert/distilbert-base-uncased"
TICKET_COLUMNS = ("message", "priority", "channel", "routed_queue")


def facts_of(root: Path, **flags):
    return discover(root, hardware=HARDWARE, dependencies=DEPENDENCIES, **flags)


def plan_of(root: Path, task: str = "classification", **options):
    given = {key: options[key] for key in ("text_column", "label_column") if key in options}
    facts = facts_of(root, **given)
    return plan(task, facts, describe_model(MODEL, root), Options(**options))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def one_line(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def tickets(tmp_path) -> Path:
    write_csv(tmp_path / "data" / "tickets.csv", ticket_rows(300, seed=5), header=TICKET_COLUMNS)
    return tmp_path


# ---------------------------------------------------------------------------------------------
# Discovery: facts of every column, counted over the whole file
# ---------------------------------------------------------------------------------------------

def test_every_column_is_described_without_choosing(tickets):
    (data,) = facts_of(tickets).data
    columns = {column.name: column for column in data.column_facts}
    assert list(columns) == list(TICKET_COLUMNS)
    assert columns["message"].name_role == "text" and columns["message"].mean_words > 5
    queue = columns["routed_queue"]
    assert (queue.value_type, queue.distinct, queue.counted) == ("text", 4, "file")
    assert sum(queue.counts.values()) == 300
    assert columns["priority"].name_role is None  # not a usual label name


def test_label_candidates_are_counted_over_the_whole_of_a_large_file(tmp_path):
    rows = ticket_rows(40_000, seed=1)
    path = write_csv(tmp_path / "tickets.csv", rows, header=TICKET_COLUMNS)
    assert path.stat().st_size > 2 * SAMPLE_BYTES  # the sample is its head only
    (data,) = facts_of(tmp_path).data
    channel = data.column("channel")
    assert channel.counted == "file" and channel.rows == 40_000
    assert channel.counts == {value: sum(1 for row in rows if row[2] == value)
                              for value in channel.counts}
    assert data.column("message").counted == "sample"  # free text is not counted


def test_lists_delimited_labels_and_numbers_are_described(tmp_path):
    tagged = tagged_texts(120, seed=2)
    write_jsonl(tmp_path / "lists.jsonl", [{"text": t, "tags": tags} for t, tags in tagged])
    write_csv(tmp_path / "joined.csv", [(t, "|".join(tags)) for t, tags in tagged],
              header=("text", "topics"))
    write_csv(tmp_path / "rated.csv", rated_texts(150), header=("review", "rating"))
    found = {data.path: data for data in facts_of(tmp_path).data}
    expected = {tag: sum(tag in tags for _, tags in tagged) for tag in ("positive", "negative",
                                                                        "question")}
    lists, joined = found["lists.jsonl"].column("tags"), found["joined.csv"].column("topics")
    assert lists.value_type == "list" and lists.items == dict(
        sorted(expected.items(), key=lambda item: -item[1]))
    assert joined.delimiter == "|" and joined.items == lists.items
    assert "" not in found["joined.csv"].label_counts and not found["joined.csv"].problems
    rating = found["rated.csv"].column("rating")
    assert rating.value_type == "float" and rating.distinct > 100
    assert 2.0 <= rating.numbers.mean <= 8.0 and rating.numbers.std > 0.5


def test_classlabel_names_stored_by_datasets_are_read(tmp_path):
    datasets = pytest.importorskip("datasets")
    names = ["World", "Sports", "Business", "Sci/Tech"]
    ids = [i % 4 for i in range(40)] + [0] * 4
    table = datasets.Dataset.from_dict({"text": ["some news text here"] * 44, "label": ids})
    table = table.cast_column("label", datasets.ClassLabel(names=names))
    table.to_parquet(str(tmp_path / "news.parquet"))
    table.save_to_disk(str(tmp_path / "news_disk"))
    for data in facts_of(tmp_path).data:
        label = data.column("label")
        assert label.class_names == tuple(names), data.path
        assert data.label_counts == {"World": 14, "Sports": 10, "Business": 10, "Sci/Tech": 10}


# ---------------------------------------------------------------------------------------------
# Planning: the label column
# ---------------------------------------------------------------------------------------------

def test_several_unnamed_candidates_are_ambiguous_with_their_counts(tickets):
    with pytest.raises(AmbiguousChoice) as raised:
        plan_of(tickets)
    ambiguity = raised.value
    assert (ambiguity.option, ambiguity.flag) == ("label_column", "--label-column")
    evidence = {candidate.value: candidate.evidence for candidate in ambiguity.candidates}
    assert list(evidence) == ["priority", "channel", "routed_queue"]  # not the text, in order
    queues = {queue: sum(row[3] == queue for row in ticket_rows(300, seed=5))
              for queue in ("billing", "tech", "sales", "returns")}
    assert evidence["routed_queue"].startswith("4 classes: ")
    for queue, count in queues.items():
        assert f"{queue} {count}" in evidence["routed_queue"]
    assert "--label-column" in str(ambiguity)


def test_the_flag_decides_and_the_plan_says_so(tickets):
    the_plan = plan_of(tickets, label_column="routed_queue")
    data = the_plan.sections["data"]
    assert data["label_column"].value == "routed_queue" and data["label_column"].given
    assert data["labels"].value == ["billing", "returns", "sales", "tech"]
    assert data["label_kind"].value == "single-label"
    assert data["text_column"].value == "message"


def test_a_column_named_like_a_label_wins_and_the_others_are_listed(tmp_path):
    rows = [(text, label, random.Random(i).choice(["web", "app"]))
            for i, (text, label) in enumerate(labelled_texts(200, seed=3))]
    write_csv(tmp_path / "reviews.csv", rows, header=("text", "label", "source"))
    choice = plan_of(tmp_path).sections["data"]["label_column"]
    assert choice.value == "label" and not choice.given
    assert "named like a label" in choice.reason
    assert re.search(r"other candidates: source \(2 classes: (web|app) \d+", choice.reason)
    assert "--label-column overrides" in choice.reason


def test_an_identifier_is_no_label(tmp_path):
    rows = [(text, f"T-{number:04d}") for number, (text, _) in enumerate(labelled_texts(100))]
    write_csv(tmp_path / "tickets.csv", rows, header=("text", "label"))
    with pytest.raises(UserError, match=r"'label'.*100 distinct values in 100 rows.*identifier"):
        plan_of(tmp_path)


def test_classes_with_too_few_rows_are_named_with_their_counts(tmp_path):
    rows = labelled_texts(60, seed=4) + [("a lonely text about shipping", "shipping")]
    write_csv(tmp_path / "reviews.csv", rows)
    with pytest.raises(UserError) as raised:
        plan_of(tmp_path)
    message = str(raised.value)
    assert "shipping 1" in message and "fewer than 2 rows" in message and "'label'" in message


def test_the_validation_share_grows_to_hold_every_class(tmp_path):
    rows = [(f"text number {i} about topic {c}", f"topic{c}") for c in range(20) for i in range(8)]
    write_csv(tmp_path / "topics.csv", rows)
    fraction = plan_of(tmp_path).sections["data"]["validation_fraction"]
    assert fraction.value == 0.15  # 10 % would hold out 16 rows for 20 classes
    assert "20 classes in 160 rows" in fraction.reason


def test_a_text_column_nothing_singles_out_is_asked(tmp_path):
    rows = [(text, text[::-1], label) for text, label in labelled_texts(50)]
    write_csv(tmp_path / "pairs.csv", rows, header=("left", "right", "label"))
    with pytest.raises(AmbiguousChoice) as raised:
        plan_of(tmp_path)
    assert raised.value.option == "text_column"
    assert [c.value for c in raised.value.candidates] == ["left", "right"]


# ---------------------------------------------------------------------------------------------
# Planning: the kind of label, end to end in the plan
# ---------------------------------------------------------------------------------------------

def test_a_float_target_is_regression(tmp_path):
    write_csv(tmp_path / "reviews.csv", rated_texts(300), header=("review", "rating"))
    the_plan = plan_of(tmp_path)
    data = the_plan.values()["data"]
    assert data["label_kind"] == "regression" and "labels" not in data
    assert "regression" in the_plan.sections["data"]["label_kind"].reason
    assert the_plan.value("training", "metric_for_best_model") == "rmse"
    assert the_plan.value("training", "greater_is_better") is False
    assert the_plan.search_space.direction == "minimize"
    assert the_plan.script.template == "classification/regression.py.j2"
    assert "loss" not in the_plan.sections  # plain mean squared error


def test_lists_and_delimited_labels_are_multi_label(tmp_path):
    tagged = tagged_texts(200, seed=6)
    write_csv(tmp_path / "posts.csv", [(t, "|".join(tags)) for t, tags in tagged],
              header=("text", "topics"))
    the_plan = plan_of(tmp_path)
    data = the_plan.values()["data"]
    assert (data["label_kind"], data["label_delimiter"]) == ("multi-label", "|")
    assert data["labels"] == ["negative", "positive", "question"]
    counts = {tag: sum(tag in tags for _, tags in tagged) for tag in data["labels"]}
    weights = the_plan.values()["loss"]["pos_weight"]
    assert weights == {tag: round((200 - n) / n, 4) for tag, n in counts.items()}
    assert the_plan.value("prediction", "threshold") == 0.5
    assert the_plan.value("training", "metric_for_best_model") in {"f1_micro", "f1_macro"}
    assert the_plan.script.template == "classification/multi_label.py.j2"


def test_the_kind_flag_overrides_the_values(tmp_path):
    rows = [(text, str(1 + len(text) % 5)) for text, _ in labelled_texts(200)]  # stars 1-5
    write_csv(tmp_path / "stars.csv", rows, header=("text", "stars"))
    assert plan_of(tmp_path).value("data", "label_kind") == "single-label"  # 5 values: classes
    as_number = plan_of(tmp_path, label_kind="regression").sections["data"]["label_kind"]
    assert as_number.value == "regression" and as_number.given
    with pytest.raises(UserError, match="neither lists nor labels joined by a delimiter"):
        plan_of(tmp_path, label_kind="multi-label")


def test_classlabel_names_are_the_labels_in_id_order(tmp_path):
    datasets = pytest.importorskip("datasets")
    names = ["question", "positive", "negative"]  # the id order, not sorted
    rows = labelled_texts(120, seed=7)
    table = datasets.Dataset.from_dict({"text": [t for t, _ in rows],
                                        "label": [names.index(label) for _, label in rows]})
    table.cast_column("label", datasets.ClassLabel(names=names)).to_parquet(
        str(tmp_path / "train.parquet"))
    the_plan = plan_of(tmp_path)
    assert the_plan.value("data", "labels") == names
    assert "ClassLabel" in the_plan.sections["data"]["labels"].reason
    assert the_plan.script.class_label_ids


def test_fine_tuning_points_regression_to_classification(tmp_path):
    write_csv(tmp_path / "reviews.csv", rated_texts(100), header=("review", "rating"))
    facts = facts_of(tmp_path)
    inputs = PlanInputs("fine-tuning", facts, Options(), DataSelection(facts.data[0], None, None),
                        Choice(MODEL, "test"), describe_model(MODEL, tmp_path))
    with pytest.raises(UserError, match=r"(?s)'rating' is a regression target.*use `trainwright "
                                        "init classification`"):
        fine_tuning_data(inputs, SEQUENCE_CLASSIFICATION)


# ---------------------------------------------------------------------------------------------
# The config: schema and validate know the kinds
# ---------------------------------------------------------------------------------------------

def regression_config(**data) -> dict:
    return {"task": "classification", "model": {"name_or_path": MODEL},
            "data": {"train_file": "data/x.csv", "text_column": "text", "label_column": "y",
                     "label_kind": "regression", "max_length": 64, **data},
            "training": {"output_dir": "out", "load_best_model_at_end": True,
                         "eval_strategy": "epoch", "save_strategy": "epoch",
                         "metric_for_best_model": "rmse"}}


def test_validate_checks_the_metric_and_labels_of_each_kind():
    assert validate_config(regression_config(), KNOWN_SPECS) == []
    config = regression_config()
    config["training"]["metric_for_best_model"] = "accuracy"
    (problem,) = validate_config(config, KNOWN_SPECS)
    assert problem.location == "training.metric_for_best_model"
    assert "rmse, mae, r2, spearman" in problem.message
    multi = regression_config(label_kind="multi-label", labels=["a", "b"], label_delimiter="|")
    multi["loss"] = {"pos_weight": {"a": 2.0}}
    multi["training"]["metric_for_best_model"] = "f1_micro"
    (problem,) = validate_config(multi, KNOWN_SPECS)
    assert problem.location == "loss.pos_weight" and "no weight for b" in problem.message
    problems = validate_config(regression_config(label_kind="multi-label"), KNOWN_SPECS)
    assert any(p.location == "data" and "needs labels" in p.message for p in problems)


# ---------------------------------------------------------------------------------------------
# The command line: exit 2 with the candidates, or the question in a terminal
# ---------------------------------------------------------------------------------------------

@pytest.mark.e2e  # a whole init: it starts the TrainingArguments check in a child
def test_without_a_terminal_init_stops_listing_the_candidates(tickets, capsys):
    before = sorted(p.relative_to(tickets) for p in tickets.rglob("*"))
    assert main(["init", "classification", str(tickets), "--model", MODEL]) == 2
    error = one_line(capsys.readouterr().err)
    assert "Which column of data/tickets.csv holds the label" in error
    assert "routed_queue: 4 classes: " in error and "priority: 3 classes: " in error
    assert "--label-column" in error and "Traceback" not in error
    assert sorted(p.relative_to(tickets) for p in tickets.rglob("*")) == before


def test_in_a_terminal_init_asks_and_plans_with_the_answer(tickets, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("routed_queue\n"))
    assert main(["init", "classification", str(tickets), "--model", MODEL, "--dry-run"]) == 0
    captured = capsys.readouterr()
    question = one_line(captured.err)
    assert "3. routed_queue: 4 classes" in question and "--label-column" in question
    summary = one_line(captured.out)
    assert "label_column routed_queue given with --label-column" in summary
    assert "label_kind single-label" in summary  # every inferred choice, with its evidence


@pytest.mark.e2e  # a whole init: it starts the TrainingArguments check in a child
def test_bad_labels_are_exit_2_with_the_numbers_and_nothing_written(tmp_path, capsys):
    rows = [(text, f"T-{number:04d}") for number, (text, _) in enumerate(labelled_texts(100))]
    write_csv(tmp_path / "data" / "tickets.csv", rows, header=("text", "ticket"))
    assert main(["init", "classification", str(tmp_path), "--model", MODEL,
                 "--label-column", "ticket"]) == 2
    error = one_line(capsys.readouterr().err)
    assert "'ticket'" in error and "100 distinct values in 100 rows" in error
    assert "Traceback" not in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
