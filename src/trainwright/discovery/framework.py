"""Which ML framework a project uses, from every kind of evidence, each with file and line."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

from trainwright.discovery.models import Evidence, FrameworkFacts

FRAMEWORKS = ("pytorch", "tensorflow", "jax")

# Distribution or import names that point to a framework.
PACKAGE_FRAMEWORK = {
    "torch": "pytorch", "pytorch": "pytorch", "torchvision": "pytorch", "torchaudio": "pytorch",
    "pytorch-lightning": "pytorch", "lightning": "pytorch",
    "tensorflow": "tensorflow", "tensorflow-cpu": "tensorflow", "tensorflow-gpu": "tensorflow",
    "tf-keras": "tensorflow", "keras": "tensorflow", "tensorflow-macos": "tensorflow",
    "jax": "jax", "jaxlib": "jax", "flax": "jax", "optax": "jax",
}
IMPORT_FRAMEWORK = {
    "torch": "pytorch", "torchvision": "pytorch", "lightning": "pytorch",
    "pytorch_lightning": "pytorch", "tensorflow": "tensorflow", "keras": "tensorflow",
    "tf_keras": "tensorflow", "jax": "jax", "flax": "jax", "optax": "jax",
}

# A declared dependency is the project's intent; an import is usage; an installed package may be
# left over from another project in the same environment, so it weighs least.
WEIGHTS = {
    "requirements": 3.0, "pyproject": 3.0, "setup": 3.0, "environment": 3.0, "pipfile": 3.0,
    "import": 1.0, "installed": 0.5,
}
MAX_IMPORT_WEIGHT_PER_FRAMEWORK = 10.0
MAX_SOURCE_FILES = 4000
MAX_SOURCE_BYTES = 64 * 1024

IMPORT_RE = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w]*)[\w.]*\s+import|import\s+([A-Za-z_][\w]*))")
REQUIREMENT_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _framework_of_requirement(line: str) -> str | None:
    line = line.split("#", 1)[0].strip().strip("\"',")
    if not line or line.startswith(("-", "[")):
        return None
    match = REQUIREMENT_NAME_RE.match(line)
    if not match:
        return None
    return PACKAGE_FRAMEWORK.get(match.group(1).lower().replace("_", "-"))


def _kind_of_dependency_file(name: str) -> str:
    lower = name.lower()
    if lower.startswith("requirements"):
        return "requirements"
    if lower == "pyproject.toml":
        return "pyproject"
    if lower in {"setup.cfg", "setup.py"}:
        return "setup"
    if lower == "pipfile":
        return "pipfile"
    return "environment"


def evidence_from_dependency_file(path: Path, root: Path) -> list[Evidence]:
    kind = _kind_of_dependency_file(path.name)
    found = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:MAX_SOURCE_BYTES]
    except OSError:
        return found
    for number, raw in enumerate(text.splitlines(), start=1):
        candidate = raw.strip()
        if kind == "environment":
            candidate = candidate.lstrip("- ").strip()
            candidate = re.split(r"[=<>! ]", candidate, maxsplit=1)[0]
        elif kind in {"pyproject", "setup", "pipfile"}:
            quoted = re.findall(r"[\"']([A-Za-z0-9][A-Za-z0-9._-]*)", candidate)
            bare = REQUIREMENT_NAME_RE.match(candidate)
            names = quoted + ([bare.group(1)] if bare else [])
            candidate = next((n for n in names if _framework_of_requirement(n)), "")
        framework = _framework_of_requirement(candidate) if candidate else None
        if framework:
            found.append(Evidence(framework, kind, _relative(path, root), number,
                                  raw.strip()[:120], WEIGHTS[kind]))
    return found


def evidence_from_source(path: Path, root: Path) -> list[Evidence]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_SOURCE_BYTES)
    except OSError:
        return []
    if path.suffix == ".ipynb":
        text = _notebook_code(text)
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "import" not in line:
            continue
        match = IMPORT_RE.match(line)
        if not match:
            continue
        framework = IMPORT_FRAMEWORK.get(match.group(1) or match.group(2))
        if framework:
            found.append(Evidence(framework, "import", _relative(path, root), number,
                                  line.strip()[:120], WEIGHTS["import"]))
    return found


def _notebook_code(text: str) -> str:
    try:
        cells = json.loads(text).get("cells", [])
    except (json.JSONDecodeError, AttributeError):
        return text  # truncated or odd notebook: scan the raw text, imports still show
    lines = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            lines.append(source if isinstance(source, str) else "".join(source))
    return "\n".join(lines)


def evidence_from_installed() -> list[Evidence]:
    found = []
    for name in ("torch", "tensorflow", "tensorflow-cpu", "jax", "flax"):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(Evidence(PACKAGE_FRAMEWORK[name], "installed", "python environment", None,
                              f"{name}=={version}", WEIGHTS["installed"]))
    return found


def decide_framework(evidence: list[Evidence], sources_capped: bool = False) -> FrameworkFacts:
    scores = {name: 0.0 for name in FRAMEWORKS}
    import_weight = {name: 0.0 for name in FRAMEWORKS}
    for item in evidence:
        if item.kind == "import":
            # Many files importing torch should not drown out a declared dependency.
            if import_weight[item.framework] >= MAX_IMPORT_WEIGHT_PER_FRAMEWORK:
                continue
            import_weight[item.framework] += item.weight
        scores[item.framework] += item.weight
    present = {name: score for name, score in scores.items() if score > 0}
    if not present:
        return FrameworkFacts(None, scores, tuple(evidence),
                              "No framework evidence found; the PyTorch setup is generated.")
    chosen = max(present, key=lambda name: (present[name], name == "pytorch"))
    if len(present) == 1:
        explanation = f"{chosen} is the only framework with evidence (score {present[chosen]:g})."
    else:
        others = ", ".join(f"{n} {s:g}" for n, s in sorted(present.items()) if n != chosen)
        explanation = (
            f"Conflicting evidence: {chosen} scores {present[chosen]:g} against {others}. "
            "Declared dependencies weigh 3, each import 1 (at most 10 per framework), "
            "an installed package 0.5."
        )
    if sources_capped:
        explanation += f" Imports were read from the first {MAX_SOURCE_FILES} source files."
    return FrameworkFacts(chosen, scores, tuple(evidence), explanation)


def discover_framework(root: Path, dependency_files: list[Path], source_files: list[Path]
                       ) -> FrameworkFacts:
    evidence: list[Evidence] = []
    for path in dependency_files:
        evidence += evidence_from_dependency_file(path, root)
    for path in source_files[:MAX_SOURCE_FILES]:
        evidence += evidence_from_source(path, root)
    evidence += evidence_from_installed()
    return decide_framework(evidence, sources_capped=len(source_files) > MAX_SOURCE_FILES)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
