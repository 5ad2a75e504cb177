"""Which model to train: the --model flag, the existing config's, or the task's default; and,
when the default cannot load here, a model that loads offline (a folder in the project or an
installed model package) instead of a plan that fails at its first line."""

from __future__ import annotations

from trainwright.discovery.availability import ModelAvailability
from trainwright.discovery.local_models import LocalModel
from trainwright.discovery.models import ProjectFacts
from trainwright.planning.defaults import TABLES
from trainwright.planning.existing import existing_values_for
from trainwright.planning.foreign import imports_for
from trainwright.planning.plan import (
    EXISTING,
    FLAG,
    IMPORTED,
    SEQUENCE_CLASSIFICATION,
    Choice,
    Options,
)


def choose_model(task: str, facts: ProjectFacts, options: Options,
                 objective: str | None = None,
                 default_availability: ModelAvailability | None = None) -> Choice:
    """The model's name (a Hub name or a folder), why, and where that came from.
    ``default_availability`` says whether the task's default loads here (see default_model)."""
    if options.model:
        return Choice(options.model, "given with --model", "given with --model", source=FLAG)
    name, reason, comment = TABLES[task][_default_key(task, objective)]
    planned = (offline_alternative(task, objective, name, default_availability,
                                   facts.local_models)
               or Choice(name, reason, comment))
    existing = existing_values_for(facts, task).get("model")
    kept = existing.get("name_or_path") if isinstance(existing, dict) else None
    imported = imports_for(facts, task, options.import_from).get("model", "name_or_path")
    if imported is not None and (not kept or str(kept) == str(imported.value)):
        return Choice(str(imported.value), f"{imported.where}; --model overrides",
                      imported.where, source=IMPORTED)
    if kept and str(kept) != planned.value:  # the planned value kept keeps its own reason
        where = f"kept from the existing {facts.existing.training_config}"
        return Choice(str(kept), where, where, source=EXISTING)
    return planned


def default_model(task: str, objective: str | None = None) -> str:
    """The task's default model, whose availability choose_model weighs."""
    return TABLES[task][_default_key(task, objective)][0]


def _default_key(task: str, objective: str | None) -> str:
    return ("classification_model"
            if task == "fine-tuning" and objective == SEQUENCE_CLASSIFICATION else "model")


def wants_decoder(task: str, objective: str | None) -> bool:
    """Generation and every fine-tuning objective but a classification head train a decoder."""
    return task == "generation" or (task == "fine-tuning" and objective != SEQUENCE_CLASSIFICATION)


def offline_alternative(task: str, objective: str | None, default: str,
                        availability: ModelAvailability | None,
                        local_models: tuple[LocalModel, ...]) -> Choice | None:
    """A model that loads here, when the default cannot: the project's own model folders
    first, then installed model packages; for a classification head an encoder first."""
    if availability is None or availability.loadable:
        return None
    decoder = wants_decoder(task, objective)
    fitting = [model for model in local_models if model.is_decoder or not decoder]
    if not decoder:  # an encoder suits a classification head best; a decoder also works
        fitting.sort(key=lambda model: model.is_decoder)
    if not fitting:
        return None
    model, short = fitting[0], default.rsplit("/", 1)[-1]
    reason = (f"the default {short} cannot load here ({availability.detail}); {model.name} "
              f"loads offline from {model.where}, whose folder the config names (--model "
              "overrides)")
    return Choice(model.path, reason,
                  f"loads offline from {model.where}; the default {short} is not available here")
