"""trainwright: point it at an ML project, get a training setup that works the first time."""

__version__ = "0.1.0"

# Newest transformers release whose TrainingArguments fields the templates are written against;
# targeted (and said so) when transformers is not installed.
NEWEST_KNOWN_TRANSFORMERS = "5.24.0"
