"""`trainwright report` on run folders shaped as train.py leaves them, and the curves picture."""

from __future__ import annotations

import json
import os
import sys

import pytest
from run_folders import (
    early_stopped_classification_run,
    generation_run,
    killed_classification_run,
    log_history,
    trainer_state,
    write_checkpoint,
    write_config,
)

from trainwright.cli import main
from trainwright.errors import UserError
from trainwright.report import compare_runs, curve_points, ensure_curves, plot_curves, read_run
from trainwright.report.curves import metric_key

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def listing(folder) -> dict:
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns
            for path in sorted(folder.rglob("*"))}


# --- the curves ---------------------------------------------------------------------------------


def test_curve_points_are_the_logged_values():
    history = log_history([0.38, 0.30, 0.31])
    history.append({"epoch": 3.0, "step": 51, "train_runtime": 2.5, "train_loss": 1.09,
                    "train_samples_per_second": 427.6, "total_flos": 1.0})  # the summary
    curves = curve_points(history, "f1_macro")
    assert curves.train_loss == tuple((e["step"], e["loss"]) for e in history if "loss" in e)
    assert len(curves.train_loss) == 12  # every 4 steps of 51; the summary is no point
    assert curves.eval_loss == tuple((e["step"], e["eval_loss"]) for e in history
                                     if "eval_loss" in e)
    assert curves.metric_name == "eval_f1_macro"
    assert curves.metric == ((17, 0.38), (34, 0.30), (51, 0.31))


def test_the_loss_as_best_model_metric_draws_no_second_curve():
    assert metric_key("f1_macro") == metric_key("eval_f1_macro") == "eval_f1_macro"
    assert metric_key("loss") is None and metric_key("eval_loss") is None
    curves = curve_points(log_history([0.3]), "loss")
    assert curves.metric == () and curves.eval_loss == ((17, 1.1 - 0.03),)


def test_plot_curves_draws_its_points_with_the_marks(tmp_path):
    history = log_history([0.38, 0.30, 0.31, 0.29])
    curves = curve_points(history, "f1_macro")
    path = tmp_path / "training_curves.png"
    figure = plot_curves(curves, path, best_step=17, stopped_step=68)
    assert png_size(path) == (800, 600)
    losses, metric = figure.axes
    drawn = {line.get_label(): line for line in losses.get_lines()}
    assert list(drawn["training loss"].get_xdata()) == [step for step, _ in curves.train_loss]
    assert list(drawn["training loss"].get_ydata()) == [value for _, value in curves.train_loss]
    assert list(drawn["validation loss"].get_xdata()) == [17, 34, 51, 68]
    assert list(drawn["best checkpoint (step 17)"].get_xdata()) == [17, 17]
    assert list(drawn["early stopping (step 68)"].get_xdata()) == [68, 68]
    (line, *marks) = metric.get_lines()
    assert line.get_label() == "validation f1_macro"
    assert list(line.get_ydata()) == [0.38, 0.30, 0.31, 0.29]
    assert [list(mark.get_xdata()) for mark in marks] == [[17, 17], [68, 68]]
    assert metric.get_xlabel() == "step"


def test_a_picture_without_a_metric_panel_is_one_panel(tmp_path):
    import matplotlib.image

    path = tmp_path / "curves.png"
    figure = plot_curves(curve_points(log_history([0.3, 0.4]), "loss"), path)
    assert len(figure.axes) == 1 and png_size(path) == (800, 450)
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (450, 800) and pixels.std() > 0.05  # drawn, not blank
    assert not list(tmp_path.glob(".*partial*"))


# --- reading a run ------------------------------------------------------------------------------


def test_an_early_stopped_run(tmp_path):
    report = read_run(early_stopped_classification_run(tmp_path))
    assert (report.state, report.kind, report.task) == ("finished", "run", "classification")
    assert (report.steps_done, report.steps_planned) == (68, 170)
    assert (report.epochs_done, report.epochs_planned) == (4.0, 10)
    assert report.checkpoints == ("checkpoint-17", "checkpoint-68")
    best = report.best
    assert (best.path, best.step, best.metric, best.value) == (
        "outputs/classification/checkpoint-17", 17, "f1_macro", 0.38)
    assert best.greater_is_better and best.exists
    assert best.metrics["eval_f1_macro"] == 0.38 and "eval_runtime" not in best.metrics
    stopping = report.early_stopping
    assert stopping.fired and stopping.step == 68 and stopping.patience == 3
    assert stopping.evaluations_without_improvement == 3
    assert stopping.explanation.startswith("fired at step 68 of 170: 3 evaluations")
    assert report.throughput.samples_per_second == 427.576
    assert report.throughput.source == "final_metrics.json"
    assert report.metrics == {"eval_loss": 1.062, "eval_accuracy": 0.6666666666666666,
                              "eval_f1_macro": 0.38}
    assert report.baselines == {"majority_class_rate": 0.6333333333333333}
    assert [(c.label, c.f1, c.support) for c in report.per_class] == [
        ("negative", 0.33, 8), ("positive", 0.82, 19), ("question", 0.0, 3)]
    assert [a.label for a in report.averages] == ["macro avg", "weighted avg"]
    assert report.accuracy == 0.67
    assert report.settings["training.learning_rate"] == 0.0003
    assert report.peak_learning_rate == pytest.approx(3e-4 * 68 / 68)
    assert report.config == str(tmp_path.resolve() / "training_config.yaml")


def test_a_run_that_trained_every_step_did_not_stop_early(tmp_path):
    write_config(tmp_path)
    folder = tmp_path / "outputs" / "classification"
    history = log_history([0.3, 0.4])
    write_checkpoint(folder, 34, trainer_state(history, max_steps=34, best_step=34,
                                               best_metric=0.4, counter=0, stop=True,
                                               output_dir="outputs/classification"))
    report = read_run(folder)
    assert report.state == "ended"  # every step ran, but no final_metrics.json
    assert not report.early_stopping.fired
    assert report.early_stopping.explanation.startswith("did not fire: every planned step ran")


def test_a_state_that_records_no_early_stopping_callback_had_none(tmp_path):
    write_config(tmp_path, patience=3)  # the config says 3; the run had --set ... patience=0
    folder = tmp_path / "outputs" / "classification"
    history = log_history([0.38, 0.30, 0.31, 0.29])
    write_checkpoint(folder, 68, trainer_state(history, max_steps=170, best_step=17,
                                               best_metric=0.38, patience=None, stop=True,
                                               output_dir="outputs/classification"))
    stopping = read_run(folder).early_stopping
    assert stopping.patience is None and not stopping.fired
    assert "no EarlyStoppingCallback" in stopping.explanation


def test_without_the_callbacks_record_early_stopping_is_judged_from_the_log(tmp_path):
    write_config(tmp_path, patience=3)
    folder = tmp_path / "outputs" / "classification"
    history = log_history([0.38, 0.30, 0.31, 0.29])
    write_checkpoint(folder, 68, trainer_state(history, max_steps=170, best_step=17,
                                               best_metric=0.38, callbacks=False,
                                               output_dir="outputs/classification"))
    (folder / "final_metrics.json").write_text(json.dumps({"global_step": 68}))
    stopping = read_run(folder).early_stopping
    assert stopping.fired and stopping.evaluations_without_improvement == 3
    assert "from the log's evaluations" in stopping.explanation


def test_a_killed_run_is_incomplete_with_what_is_known(tmp_path):
    folder = killed_classification_run(tmp_path)
    report = read_run(folder)
    assert report.state == "incomplete" and report.kind == "run"
    assert (report.steps_done, report.steps_planned) == (34, 170)
    assert report.best.step == 34 and report.best.value == 0.35
    assert not report.early_stopping.fired
    assert "has not fired (the run has not ended)" in report.early_stopping.explanation
    assert report.metrics["eval_f1_macro"] == 0.35
    assert report.metrics_source.startswith("the last evaluation (step 34)")
    # 17 steps between checkpoints written 20 s apart: 0.85 steps/s, 136 steps left
    assert report.throughput.steps_per_second == pytest.approx(17 / 20)
    assert report.throughput.seconds_left == pytest.approx(136 / (17 / 20))
    assert report.train_loss is None and report.per_class == ()
    assert any("python train.py --config training_config.yaml (from the project root) "
               "resumes" in note for note in report.notes)


def test_a_checkpoint_cut_short_while_written_is_skipped(tmp_path):
    folder = killed_classification_run(tmp_path)
    checkpoint = folder / "checkpoint-51"
    checkpoint.mkdir()
    (checkpoint / "trainer_state.json").write_text('{"global_step": 51, "log_hist')
    report = read_run(folder)
    assert report.steps_done == 34
    assert report.state_file.endswith("checkpoint-34/trainer_state.json")
    assert any("checkpoint-51/trainer_state.json is unreadable" in note for note in report.notes)


def test_a_generation_run_has_perplexity_and_samples(tmp_path):
    report = read_run(generation_run(tmp_path))
    language = report.language
    assert language.perplexity_before == pytest.approx(376.4638006476619)
    assert language.perplexity_after == pytest.approx(268.4969938682935)
    assert language.eval_loss_after == pytest.approx(5.59283971786499)
    assert language.eval_loss_before == pytest.approx(5.9308, abs=1e-4)  # ln(376.46)
    assert [s.text for s in report.samples] == ["the old dog finds the red ball",
                                                "the small tree sees the river"]
    assert report.samples_total == 2
    assert report.throughput.tokens_per_second == pytest.approx(2064.793655061164)
    assert report.best.metric == "loss" and report.best.greater_is_better is False
    assert report.metrics == {"eval_loss": pytest.approx(5.59283971786499)}


def test_the_best_metric_is_named_from_the_log_without_a_config(tmp_path):
    folder = early_stopped_classification_run(tmp_path)
    (tmp_path / "training_config.yaml").unlink()
    report = read_run(folder)
    assert report.config is None and report.settings == {}
    assert report.best.metric == "f1_macro"  # the eval value at step 17 equal to best_metric
    assert report.best.greater_is_better
    assert any("no training_config.yaml" in note for note in report.notes)


def test_a_search_trial_is_compared_with_the_planned_run(tmp_path):
    folder = early_stopped_classification_run(tmp_path)
    trial = folder / "hpo" / "trial-1"
    history = log_history([0.45, 0.52])
    write_checkpoint(trial, 34, trainer_state(history, max_steps=34, best_step=34,
                                              best_metric=0.52, stop=True,
                                              output_dir=str(trial)))
    (folder / "best_hyperparameters.json").write_text(json.dumps(
        {"metric": "eval_f1_macro", "value": 0.52, "trial": 1,
         "parameters": {"training.learning_rate": 5e-5}}))
    planned, searched = read_run(folder), read_run(trial)
    assert searched.kind == "search trial" and searched.state == "ended"
    assert searched.settings["training.learning_rate"] == 5e-5
    assert searched.settings_source == "training_config.yaml with best_hyperparameters.json " \
                                       "(trial 1)"
    assert any(f"--compare {trial}" in note for note in planned.notes)
    rows = {row.name: row for row in compare_runs(planned, searched)}
    assert (rows["best f1_macro"].first, rows["best f1_macro"].second) == (0.38, 0.52)
    assert rows["best f1_macro"].better == "second"
    assert (rows["training.learning_rate"].first,
            rows["training.learning_rate"].second) == (0.0003, 5e-5)
    assert rows["steps"].first == "68 of 170" and rows["steps"].second == "34 of 34"


# --- what is not a run --------------------------------------------------------------------------


def test_a_folder_that_is_not_a_run_is_exit_2_and_nothing_is_written(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "reviews.csv").write_text("text,label\na,b\n")
    before = listing(tmp_path)
    assert main(["report", str(folder)]) == 2
    error = capsys.readouterr().err
    assert f"{folder} is not a training run" in " ".join(error.split())
    assert "final_metrics.json" in error and "Traceback" not in error
    assert listing(tmp_path) == before


def test_a_missing_folder_a_checkpoint_and_an_untrained_config_are_refused(tmp_path, capsys,
                                                                             monkeypatch):
    with pytest.raises(UserError, match="does not exist"):
        read_run(tmp_path / "nowhere")
    folder = early_stopped_classification_run(tmp_path)
    with pytest.raises(UserError, match="is a checkpoint of the run in"):
        read_run(folder / "checkpoint-17")
    project = tmp_path / "fresh"
    write_config(project)
    monkeypatch.chdir(project)
    assert main(["report"]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "outputs/classification (training.output_dir of training_config.yaml) does not " \
           "exist" in error
    assert "python train.py --config training_config.yaml" in error


def test_without_an_argument_the_configs_output_dir_is_reported(tmp_path, monkeypatch, capsys):
    early_stopped_classification_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["folder"] == "outputs/classification"
    assert document["config"] == "training_config.yaml"
    assert main(["report", ".", "--json"]) == 0  # a project folder: the same run
    assert json.loads(capsys.readouterr().out)["folder"] == "outputs/classification"


# --- the command --------------------------------------------------------------------------------


def test_report_prints_the_run_and_draws_the_missing_curves(tmp_path, monkeypatch, capsys):
    folder = early_stopped_classification_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "outputs/classification"]) == 0
    output = " ".join(capsys.readouterr().out.split())
    for expected in ("stopped early", "68 of 170 planned", "checkpoint-17 (step 17)",
                     "f1_macro 0.38", "higher is better", "fired at step 68 of 170",
                     "427.6 samples/s", "negative", "macro avg", "majority_class_rate",
                     "training.learning_rate"):
        assert expected in output, expected
    assert png_size(folder / "training_curves.png") == (800, 600)
    assert "written: outputs/classification/training_curves.png" in output
    assert main(["report", "outputs/classification"]) == 0  # drawn after the state: kept
    assert "kept" in capsys.readouterr().out


def test_report_json_is_one_document(tmp_path, capsys):
    folder = generation_run(tmp_path)
    assert main(["report", str(folder), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["state"] == "finished" and document["task"] == "generation"
    assert document["language"]["perplexity_after"] == pytest.approx(268.497, abs=1e-3)
    assert document["samples"][0]["prompt"] == "the old dog finds the"
    assert document["curves"]["status"] == "written"
    assert document["curves_png"] == str(folder / "training_curves.png")
    assert "log_history" not in json.dumps(document)


def test_report_compare_sets_two_runs_side_by_side(tmp_path, capsys):
    first = early_stopped_classification_run(tmp_path / "a")
    second = killed_classification_run(tmp_path / "b")
    assert main(["report", str(first), "--compare", str(second), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [run["state"] for run in document["runs"]] == ["finished", "incomplete"]
    rows = {row["name"]: row for row in document["comparison"]}
    assert rows["best f1_macro"]["first"] == 0.38 and rows["best f1_macro"]["second"] == 0.35
    assert rows["best f1_macro"]["better"] == "first"
    assert main(["report", str(first), "--compare", str(second)]) == 0
    output = capsys.readouterr().out
    assert "Two runs side by side" in output and "0.38 *" in output


def test_without_matplotlib_the_report_says_how_to_get_the_picture(tmp_path, monkeypatch,
                                                                    capsys):
    folder = early_stopped_classification_run(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["report", str(folder)]) == 0
    output = " ".join(capsys.readouterr().out.split())
    assert "pip install matplotlib" in output and "fired at step 68" in output
    assert not (folder / "training_curves.png").exists()


def test_a_picture_older_than_the_runs_state_is_drawn_again(tmp_path):
    folder = killed_classification_run(tmp_path)  # its states are dated 2023
    picture = folder / "training_curves.png"
    picture.write_bytes(b"old")
    os.utime(picture, (1_600_000_000, 1_600_000_000))
    report, outcome = ensure_curves(read_run(folder))
    assert outcome.status == "written" and png_size(picture) == (800, 600)
    assert report.curves_png == str(picture)


def test_a_diverged_run_is_still_one_valid_json_document(tmp_path, capsys):
    folder = early_stopped_classification_run(tmp_path)
    final = json.loads((folder / "final_metrics.json").read_text())
    final.update(train_loss=float("nan"), eval_loss=float("inf"))
    (folder / "final_metrics.json").write_text(json.dumps(final))  # Python writes NaN
    assert main(["report", str(folder), "--json"]) == 0

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    document = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert document["train_loss"] == "nan" and document["metrics"]["eval_loss"] == "inf"
