"""Pure planning: facts + task + options -> a typed Plan with a reason per value."""

from __future__ import annotations

from collections.abc import Callable

from trainwright.discovery.architecture import Architecture
from trainwright.discovery.model import ModelFacts
from trainwright.discovery.models import ProjectFacts
from trainwright.planning.classification import plan_classification
from trainwright.planning.fine_tuning import plan_fine_tuning
from trainwright.planning.generation import plan_generation
from trainwright.planning.plan import Choice, Options, Plan, SearchParameter, SearchSpace

__all__ = ["Choice", "Options", "Plan", "SearchParameter", "SearchSpace", "plan"]

PLANNERS: dict[str, Callable[..., Plan]] = {
    "classification": plan_classification,
    "generation": plan_generation,
    "fine-tuning": plan_fine_tuning,
}


def plan(task: str, facts: ProjectFacts, model: ModelFacts, options: Options,
         token_lengths: list[int] | None = None,
         architecture: Architecture | None = None) -> Plan:
    if task == "fine-tuning":
        return plan_fine_tuning(facts, model, options, token_lengths, architecture)
    return PLANNERS[task](facts, model, options, token_lengths)
