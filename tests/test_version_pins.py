"""A project's transformers pin is respected: the config's keys are those of the pinned release
(from the shipped field table), the script uses its API names, requirements-training.txt never
contradicts the pin, the summary says so; a pin older than 4.46 is a clear stop."""

from __future__ import annotations

import pytest
import yaml
from builders import labelled_texts, write_csv
from test_model_availability import CPU

from trainwright.config.releases import release_field_specs
from trainwright.errors import UserError
from trainwright.pipeline import prepare
from trainwright.planning import Options


def pinned_project(tmp_path, requirement):
    write_csv(tmp_path / "data" / "train.csv", labelled_texts(200))
    (tmp_path / "requirements.txt").write_text(f"torch>=2.2\n{requirement}\ndatasets\n",
                                               encoding="utf-8")
    return tmp_path


def test_a_4x_pin_gets_a_config_the_4x_field_table_accepts(tmp_path, tiny_bert):
    project = pinned_project(tmp_path, "transformers==4.46.3")
    prepared = prepare("classification", project, Options(model=str(tiny_bert)), hardware=CPU)
    plan = prepared.plan
    assert plan.transformers_target == "4.46.3"
    training = yaml.safe_load(prepared.files["training_config.yaml"])["training"]
    fields = release_field_specs("4.46.3")
    assert set(training) <= set(fields), set(training) - set(fields)
    assert "warmup_ratio" in training  # 4.x has no fractional warmup_steps
    assert "transformers==4.46.3" in prepared.files["requirements-training.txt"].splitlines()
    assert plan.script.dtype_argument == "torch_dtype"  # from_pretrained's name before 4.56
    warning = next(w for w in plan.warnings if "4.46.3" in w)
    assert "requirements.txt:2" in warning and "5.24" in warning  # the installed one differs


def test_a_range_targets_the_newest_release_it_allows(tmp_path, tiny_bert):
    project = pinned_project(tmp_path, "transformers>=4.50,<4.54")
    plan = prepare("classification", project, Options(model=str(tiny_bert)), hardware=CPU).plan
    assert plan.transformers_target == "4.53.3"
    requirements = "\n".join(plan.requirements)
    assert "transformers>=4.50,<4.54" in requirements


def test_a_pin_the_installed_release_satisfies_changes_nothing(tmp_path, tiny_bert):
    project = pinned_project(tmp_path, "transformers>=5.0")
    plan = prepare("classification", project, Options(model=str(tiny_bert)), hardware=CPU).plan
    assert plan.transformers_target.startswith("5.24")
    assert not any("pins" in warning for warning in plan.warnings)


def test_a_pin_older_than_4_46_is_a_clear_stop(tmp_path, tiny_bert):
    project = pinned_project(tmp_path, "transformers==4.36.2")
    with pytest.raises(UserError) as raised:
        prepare("classification", project, Options(model=str(tiny_bert)), hardware=CPU)
    message = str(raised.value)
    assert "transformers==4.36.2 (requirements.txt:2)" in message
    assert "4.46" in message and "raise the pin" in message


@pytest.mark.parametrize("pinned, fields_of", [("4.46.0", "4.46.1"), ("4.51.0", "4.51.3"),
                                               ("4.57.1", "4.57.4")])
def test_an_exact_pin_the_table_lists_under_another_patch_targets_it(tmp_path, tiny_bert,
                                                                    pinned, fields_of):
    project = pinned_project(tmp_path, f"transformers=={pinned}")
    prepared = prepare("classification", project, Options(model=str(tiny_bert)), hardware=CPU)
    assert prepared.plan.transformers_target == pinned
    training = yaml.safe_load(prepared.files["training_config.yaml"])["training"]
    assert set(training) <= set(release_field_specs(fields_of))


def test_an_exact_pin_of_an_old_major_is_a_clear_stop(tmp_path, tiny_bert):
    project = pinned_project(tmp_path, "transformers==3.4.0")
    with pytest.raises(UserError, match="older than the oldest"):
        prepare("classification", project, Options(model=str(tiny_bert)), hardware=CPU)
