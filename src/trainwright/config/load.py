"""Load a YAML (or JSON) config safely: bounded size, no binary, a mapping at the top, no
duplicate keys, no alias bombs. Every failure is a UserError naming the file and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from trainwright.errors import UserError

MAX_CONFIG_BYTES = 1024 * 1024
MAX_ALIASES = 50


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and more than MAX_ALIASES aliases."""

    aliases_seen = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases_seen += 1
            if self.aliases_seen > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (line {mark.line + 1}); "
                                     "a config does not need them")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):
                raise yaml.YAMLError(f"a mapping key at line {key_node.start_mark.line + 1} is "
                                     "not a plain value")
            if key in seen:
                raise yaml.YAMLError(
                    f"duplicate key '{key}' at line {key_node.start_mark.line + 1} (first at "
                    f"line {seen[key] + 1}); the second would silently win")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_config_text(path: Path) -> str:
    if not path.exists():
        raise UserError(f"{path} does not exist.", "pass the path of a training_config.yaml, "
                        "or create one with `trainwright init`.")
    if not path.is_file():
        raise UserError(f"{path} is not a file.", "pass the path of a training_config.yaml.")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise UserError(f"{path} is {size / 2**20:.0f} MiB; a training config is a few KB.",
                        "check that this is the right file.")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise UserError(f"{path} is a binary file, not YAML.", "pass a training_config.yaml.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not UTF-8 text (byte {error.start}).",
                        "save the file as UTF-8.") from None


def parse_config(text: str, source: str) -> dict:
    try:
        loader = _StrictLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise UserError(f"{source} is not valid YAML: {detail}",
                        "fix the line it names; YAML needs spaces, not tabs, for indentation.") \
            from None
    except RecursionError:
        raise UserError(f"{source} is nested too deeply to be a config.",
                        "check that this is the right file.") from None
    if data is None:
        raise UserError(f"{source} is empty.", "create one with `trainwright init`.")
    if not isinstance(data, dict):
        raise UserError(f"{source} holds a YAML {type(data).__name__}, not a mapping of sections.",
                        "a training config has sections such as `model:`, `data:`, `training:`.")
    return data


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key '{key}'; the second would silently win")
        seen[key] = value
    return seen


def parse_json_config(text: str, source: str) -> dict:
    """A JSON config (a TrainingArguments file such as HfArgumentParser reads) as a mapping;
    JSON, not YAML 1.1, so 1e-5 is a number."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        raise UserError(f"{source} is not valid JSON: {error.msg} (line {error.lineno}, "
                        f"column {error.colno})", "fix the place it names.") from None
    except ValueError as error:
        raise UserError(f"{source} is not valid JSON: {error}", "keep one of the two.") \
            from None
    except RecursionError:
        raise UserError(f"{source} is nested too deeply to be a config.",
                        "check that this is the right file.") from None
    if not isinstance(data, dict):
        raise UserError(f"{source} holds a JSON {type(data).__name__}, not a mapping of settings.",
                        "a training config is one JSON object of `\"key\": value` pairs.")
    return data


def parse_config_file(text: str, path: Path) -> dict:
    """The config text of `path`, as JSON for a .json file and as YAML otherwise."""
    if path.suffix.lower() == ".json":
        return parse_json_config(text, str(path))
    return parse_config(text, str(path))


def load_config(path: Path) -> dict:
    return parse_config_file(read_config_text(path), path)
