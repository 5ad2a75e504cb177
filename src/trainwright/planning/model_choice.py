"""Which model to train: the --model flag, the existing config's, or the task's default."""

from __future__ import annotations

from trainwright.discovery.models import ProjectFacts
from trainwright.planning.defaults import TABLES
from trainwright.planning.existing import existing_values_for
from trainwright.planning.fine_tuning.objective import SEQUENCE_CLASSIFICATION
from trainwright.planning.plan import EXISTING, FLAG, Choice, Options


def choose_model(task: str, facts: ProjectFacts, options: Options,
                 objective: str | None = None) -> Choice:
    """The model's name (a Hub name or a folder), why, and where that came from."""
    if options.model:
        return Choice(options.model, "given with --model", "given with --model", source=FLAG)
    key = ("classification_model" if task == "fine-tuning" and objective == SEQUENCE_CLASSIFICATION
           else "model")
    name, reason, comment = TABLES[task][key]
    existing = existing_values_for(facts, task).get("model")
    kept = existing.get("name_or_path") if isinstance(existing, dict) else None
    if kept and str(kept) != name:  # the default kept is still the default, for its reason
        where = f"kept from the existing {facts.existing.training_config}"
        return Choice(str(kept), where, where, source=EXISTING)
    return Choice(name, reason, comment)
