"""Where training_config.yaml and train.py go: where the project keeps its configs and scripts."""

from __future__ import annotations

from trainwright.discovery.models import ProjectFacts

DEFAULT_CONFIG_NAME = "training_config.yaml"
DEFAULT_SCRIPT_NAME = "train.py"


def file_layout(facts: ProjectFacts) -> tuple[str, str, str]:
    """Where training_config.yaml and train.py go, and why."""
    if facts.conventions.config_dir:
        config_path = f"{facts.conventions.config_dir}/{DEFAULT_CONFIG_NAME}"
        reason = f"the project keeps configs in {facts.conventions.config_dir}/"
    else:
        config_path, reason = DEFAULT_CONFIG_NAME, "the project has no config folder"
    existing = facts.existing.training_config
    if existing and existing != config_path:
        config_path, reason = existing, f"the existing {existing} is regenerated in place"
    if facts.conventions.scripts_dir:
        script_path = f"{facts.conventions.scripts_dir}/{DEFAULT_SCRIPT_NAME}"
        reason += f"; scripts live in {facts.conventions.scripts_dir}/"
    else:
        script_path = DEFAULT_SCRIPT_NAME
    return config_path, script_path, reason
