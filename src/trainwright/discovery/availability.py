"""Where a model will load from: a local folder, the Hugging Face cache, or the Hub, and whether
the Hub can be reached from here. Read-only and fast: environment variables, the cache folder
and, only when nothing else answers, one short connection attempt."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

TRUE = {"1", "true", "yes", "on"}
HUB_NAME = re.compile(r"[\w.-]+/[\w.-]+|[\w.-]+")  # owner/name, or a bare canonical name
CONNECT_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class ModelAvailability:
    kind: str  # one of the kinds below
    detail: str  # where it loads from, or why it cannot

    LOCAL = "local"  # a folder with config.json
    CACHED = "cached"  # in the Hugging Face cache: loads without the network
    HUB = "hub"  # not here yet; the Hub is reachable, so the first run downloads it
    UNAVAILABLE = "unavailable"  # neither here nor reachable: train.py cannot load it

    @property
    def loadable(self) -> bool:
        return self.kind != self.UNAVAILABLE


def hub_offline() -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: the libraries will not try the network."""
    return any(os.environ.get(name, "").strip().lower() in TRUE
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def huggingface_home() -> Path:
    """HF_HOME as huggingface_hub and datasets compute it: the root of both caches."""
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return base / "huggingface"


def hub_cache() -> Path:
    """The folder huggingface_hub caches downloads in, from the same variables it reads."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    return huggingface_home() / "hub"


def cached_snapshot(name: str) -> Path | None:
    """The newest cached snapshot of a Hub model that has its config.json, if any."""
    if name.count("/") != 1:
        return None
    snapshots = hub_cache() / f"models--{name.replace('/', '--')}" / "snapshots"
    found = [folder for folder in snapshots.glob("*") if (folder / "config.json").is_file()]
    return max(found, key=lambda folder: folder.stat().st_mtime) if found else None


def hub_reachable(timeout: float = CONNECT_TIMEOUT_S) -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def model_availability(name_or_path: str, local_path: str | None) -> ModelAvailability:
    if local_path:
        return ModelAvailability(ModelAvailability.LOCAL, "a local folder")
    if not HUB_NAME.fullmatch(name_or_path):
        return ModelAvailability(ModelAvailability.UNAVAILABLE,
                                 "not a model folder (no config.json there) and not a Hub name "
                                 "(owner/name)")
    snapshot = cached_snapshot(name_or_path)
    if snapshot is not None:
        return ModelAvailability(ModelAvailability.CACHED, "in the Hugging Face cache")
    if hub_offline():
        return ModelAvailability(ModelAvailability.UNAVAILABLE,
                                 "not a local folder, not in the Hugging Face cache, and "
                                 "HF_HUB_OFFLINE is set")
    if not hub_reachable():
        return ModelAvailability(ModelAvailability.UNAVAILABLE,
                                 "not a local folder, not in the Hugging Face cache, and the "
                                 "Hub cannot be reached from this machine")
    return ModelAvailability(ModelAvailability.HUB, "from the Hugging Face Hub (the first run "
                                                    "downloads it)")


def download_fix(name: str) -> str:
    if not HUB_NAME.fullmatch(name):
        return "pass --model with a model folder that holds config.json, or a Hub name"
    folder = f"models/{name.rsplit('/', 1)[-1]}"
    return (f"download it where the Hub is reachable (`hf download {name} --local-dir {folder}`) "
            f"and pass --model {folder}, or pass --model with a local model folder")
