"""training_config.yaml: its schema, safe loading, validation against the installed versions,
and migration of renamed keys."""
