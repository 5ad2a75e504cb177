"""Pure planning: facts + task + options -> a typed Plan with a reason per value.

skeleton.py holds the rules every task shares; each task planner states what differs, from its
row of defaults.py. Adding a training type means a default table, a planner and a template.
"""

from __future__ import annotations

from collections.abc import Callable

from trainwright.discovery.architecture import Architecture
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import ProjectFacts
from trainwright.planning.classification import plan_classification
from trainwright.planning.fine_tuning import plan_fine_tuning
from trainwright.planning.generation import plan_generation
from trainwright.planning.model_choice import choose_model, default_model
from trainwright.planning.plan import Choice, Options, Plan, SearchParameter, SearchSpace
from trainwright.planning.selection import DataSelection, select_data
from trainwright.planning.skeleton import PlanInputs

__all__ = ["Choice", "DataSelection", "Options", "Plan", "PlanInputs", "SearchParameter",
           "SearchSpace", "choose_model", "default_model", "plan", "plan_inputs", "select_data"]

PLANNERS: dict[str, Callable[[PlanInputs], Plan]] = {
    "classification": plan_classification,
    "generation": plan_generation,
    "fine-tuning": plan_fine_tuning,
}


def plan_inputs(task: str, facts: ProjectFacts, model: ModelFacts, options: Options,
                token_lengths: list[int] | None = None,
                architecture: Architecture | None = None,
                data: DataSelection | None = None, model_choice: Choice | None = None
                ) -> PlanInputs:
    """What the planners read; the data selection and the model choice when not given."""
    data = data or select_data(task, facts, options)
    objective = data.objective.value if data.objective else None
    model_choice = model_choice or choose_model(task, facts, options, objective)
    if model_choice.value != model.name_or_path:  # a library caller chose the model
        model_choice = Choice(model.name_or_path, "given to trainwright.planning.plan()")
    return PlanInputs(task, facts, options, data, model_choice, model, token_lengths,
                      architecture)


def plan(task: str, facts: ProjectFacts, model: ModelFacts, options: Options,
         token_lengths: list[int] | None = None, architecture: Architecture | None = None,
         data: DataSelection | None = None, model_choice: Choice | None = None) -> Plan:
    return PLANNERS[task](plan_inputs(task, facts, model, options, token_lengths,
                                      architecture, data, model_choice))
