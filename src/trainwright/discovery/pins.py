"""The versions of a package that a project pins, from every kind of dependency file, each with
its file and line: requirements and constraints files, pyproject.toml (PEP 621, poetry, uv,
dependency groups), setup.cfg, setup.py, conda environment files, Pipfile, and the lock files of
poetry, uv, pipenv and pdm. Files are read, never executed; one that does not parse is skipped.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from trainwright.discovery.framework import GENERATED_MARKER
from trainwright.discovery.walk import LOCK_FILES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as the `tomli` package
    try:
        import tomli as tomllib
    except ModuleNotFoundError:  # without it, TOML files (pyproject, Pipfile, locks) are skipped
        tomllib = None

MAX_FILE_BYTES = 8 * 1024 * 1024  # a lock file of a large project is a few MB at most
# Errors a file with unexpected content raises while it is read; the file is then skipped.
UNREADABLE = (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError,
              SyntaxError, RecursionError, yaml.YAMLError, configparser.Error)


@dataclass(frozen=True)
class Pin:
    """One version constraint a project puts on a package, where it is written."""

    package: str  # canonical name, e.g. "transformers"
    specifier: str  # PEP 440, as written and normalised: "==4.46.3", ">=4.40,<4.50", "~=4.46.0"
    file: str  # relative to the project root
    line: int | None  # 1-based; None where the format does not say
    exact: str | None  # the one version it allows (an == pin, a lock file's version), else None

    @property
    def from_lock_file(self) -> bool:
        return Path(self.file).name.lower() in LOCK_FILES


def find_pins(root: Path, dependency_files: list[Path], package: str = "transformers"
              ) -> tuple[Pin, ...]:
    """Every pin of `package` in the dependency files, most specific first: lock files, then
    exact pins, then ranges (files nearer the root first within each)."""
    name = canonicalize_name(package)
    mention = re.compile(r"[-_.]+".join(map(re.escape, name.split("-"))), re.IGNORECASE)
    pins: list[Pin] = []
    for path in dependency_files:
        reader = _reader_for(path.name)
        if reader is None:
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
            if GENERATED_MARKER in text[:2048]:
                continue  # requirements-training.txt written by trainwright: not the project's
            if not mention.search(text):
                continue  # no need to parse a 2 MB lock file that never names the package
            found = list(reader(text, name))
        except UNREADABLE:
            continue
        relative = _relative(path, root)
        for specifier, line in found:
            exact = _exact(specifier)
            pins.append(Pin(name, specifier, relative, line, exact))
    return tuple(sorted(pins, key=_specificity))


def allowed(pin: Pin, versions: Sequence[str]) -> list[str]:
    """The versions (in the given order) that the pin allows; a pre-release only where the pin
    names one. For an exact pin, `trainwright.config.releases.release_for(pin.exact)` gives
    the table release with its fields, which may be a later patch than the pin."""
    specifiers = SpecifierSet(pin.specifier)
    prereleases = bool(specifiers.prereleases)  # explicit: packaging's default differs by release
    kept = []
    for version in versions:
        try:
            if specifiers.contains(Version(version), prereleases=prereleases):
                kept.append(version)
        except InvalidVersion:
            continue
    return kept


def _specificity(pin: Pin) -> tuple:
    rank = 0 if pin.from_lock_file else 1 if pin.exact else 2
    return rank, pin.file.count("/"), pin.file, pin.line or 0


def _exact(specifier: str) -> str | None:
    specifiers = SpecifierSet(specifier)
    pinned = {s.version for s in specifiers
              if s.operator in {"==", "==="} and not s.version.endswith(".*")}
    if len(pinned) != 1:
        return None
    version = pinned.pop()
    try:
        return version if specifiers.contains(version, prereleases=True) else None
    except InvalidVersion:
        return None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Specifiers: PEP 508 requirement strings, poetry and conda constraints, all made PEP 440
# ---------------------------------------------------------------------------------------------

REQUIREMENT_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;@]*)")
OPTION_RE = re.compile(r"\s+--?[A-Za-z]")  # pip options after a requirement: --hash=sha256:...
COMMENT_RE = re.compile(r"(^|\s)#.*$")  # pip: '#' at the start or after whitespace
OPERATOR_RE = re.compile(r"^(===|==|!=|~=|<=|>=|<|>)")


def normalise(specifier: str) -> str | None:
    """PEP 440 parts joined by commas in the order written ('>= 4.40 , <4.50' ->
    '>=4.40,<4.50'); None when there are none or one is not PEP 440."""
    parts = [part.strip() for part in specifier.strip().strip("()").split(",") if part.strip()]
    try:
        return ",".join(str(Specifier(part)) for part in parts) or None
    except InvalidSpecifier:
        return None


def requirement_specifier(text: str, name: str) -> str | None:
    """The normalised specifier of a PEP 508 requirement of `name` ('transformers[torch]
    ==4.46.3; python_version >= "3.10"' -> '==4.46.3'); None for another package, a URL, or
    a requirement without a version."""
    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement:
        return None
    if canonicalize_name(requirement.name) != name or requirement.url:
        return None
    match = REQUIREMENT_RE.match(text)
    return normalise(match.group("spec")) if match else None


def poetry_specifier(constraint: str) -> str | None:
    """A poetry constraint in PEP 440: '^4.46' -> '>=4.46,<5.0', '~4.46' -> '>=4.46,<4.47',
    '4.46.3' -> '==4.46.3'; None for '*', an or-constraint ('||') or anything unreadable."""
    if "|" in constraint:  # poetry's `^4.46 || ^5.0` has no PEP 440 equivalent
        return None
    pieces: list[str] = []
    for part in constraint.split(","):
        # '>=1.2 <1.5' (a space between two constraints) is two constraints.
        pieces += re.split(r"\s+(?=[<>=!~^])", part.strip())
    translated = []
    for piece in (piece.replace(" ", "") for piece in pieces if piece.strip()):
        if piece == "*":
            continue
        result = _poetry_piece(piece)
        if result is None:
            return None
        translated.append(result)
    return normalise(",".join(translated)) if translated else None


def _poetry_piece(piece: str) -> str | None:
    if piece.startswith(("^", "~")) and not piece.startswith("~="):
        numbers = _release_numbers(piece[1:])
        if numbers is None:
            return None
        if piece[0] == "^":  # the left-most non-zero part may not change: ^0.2.3 -> <0.3.0
            position = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
        else:  # tilde: ~1 -> <2, ~1.2 and ~1.2.3 -> <1.3
            position = 0 if len(numbers) == 1 else 1
        upper = [*numbers[:position], numbers[position] + 1] + [0] * (len(numbers) - position - 1)
        return f">={piece[1:]},<{'.'.join(map(str, upper))}"
    if OPERATOR_RE.match(piece):
        return piece
    if piece.startswith("="):  # poetry's '=1.2.3' is '==1.2.3'
        return "=" + piece
    return f"=={piece}"  # a bare version ('4.46.3') or wildcard ('4.46.*')


def _release_numbers(version: str) -> list[int] | None:
    if not re.fullmatch(r"\d+(\.\d+)*", version):
        return None
    return [int(number) for number in version.split(".")]


def conda_specifier(spec: str, name: str) -> str | None:
    """A conda match spec of `name` in PEP 440: 'transformers=4.46.3' and
    'conda-forge::transformers==4.46.3' -> '==4.46.3', 'transformers=4.46' -> '==4.46.*'
    (conda's '=' matches a prefix), 'transformers >=4.46,<5' -> '>=4.46,<5'."""
    spec = spec.split("::", 1)[-1].strip()
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", spec)
    if not match or canonicalize_name(match.group(1)) != name:
        return None
    rest = match.group(2).strip()
    if not rest or "|" in rest:
        return None
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=", 1)[0].strip()  # '=4.46.3=pyhd8ed1ab_0': drop the build
        return _conda_version(version)
    if not OPERATOR_RE.match(rest):  # 'transformers 4.46.3 pyhd8ed1ab_0'
        return _conda_version(rest.split()[0])
    return normalise(rest.split()[0] if " " in rest and "," not in rest else rest)


def _conda_version(version: str) -> str | None:
    version = version.rstrip("*").rstrip(".")
    numbers = _release_numbers(version)
    if numbers is None:
        return None
    return normalise(f"=={version}" if len(numbers) >= 3 else f"=={version}.*")


# ---------------------------------------------------------------------------------------------
# Readers: (specifier, line) of every pin of `name` in a file's text
# ---------------------------------------------------------------------------------------------

Found = Iterator[tuple[str, int | None]]


def requirements_file(text: str, name: str) -> Found:
    """requirements*.txt and constraints*.txt: pip's format, continuation lines joined."""
    for number, line in _logical_lines(text):
        line = COMMENT_RE.sub("", line).strip()
        if not line or line.startswith("-"):  # -r, -c, -e, --index-url: not a pin here
            continue
        specifier = requirement_specifier(OPTION_RE.split(line, maxsplit=1)[0], name)
        if specifier:
            yield specifier, number


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    start, pending = None, ""
    for number, raw in enumerate(text.splitlines(), start=1):
        start = start or number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        yield start, pending + raw
        start, pending = None, ""
    if pending:
        yield start or 1, pending


def _requirement_list(values: object, name: str, lines: list[str]) -> Found:
    """PEP 508 strings of a list (pyproject, environment.yml's pip section)."""
    if not isinstance(values, list):
        return
    for value in values:
        if not isinstance(value, str) or value.strip().startswith("-"):
            continue
        specifier = requirement_specifier(OPTION_RE.split(value.strip(), maxsplit=1)[0], name)
        if specifier:
            yield specifier, _line_containing(lines, value.strip())


def pyproject(text: str, name: str) -> Found:
    data = _toml(text)
    lines = text.splitlines()
    project = _table(data, "project")
    yield from _requirement_list(project.get("dependencies"), name, lines)
    for extra in _table(project, "optional-dependencies").values():
        yield from _requirement_list(extra, name, lines)
    for group in _table(data, "dependency-groups").values():
        yield from _requirement_list(group, name, lines)
    uv = _table(_table(data, "tool"), "uv")
    for key in ("constraint-dependencies", "override-dependencies", "dev-dependencies"):
        yield from _requirement_list(uv.get(key), name, lines)
    poetry = _table(_table(data, "tool"), "poetry")
    tables = {f"tool.poetry.{key}": _table(poetry, key)
              for key in ("dependencies", "dev-dependencies")}
    tables |= {f"tool.poetry.group.{group}.dependencies": _table(table, "dependencies")
               for group, table in _table(poetry, "group").items()}
    for header, table in tables.items():
        yield from _keyed_constraints(table, name, lines, header, poetry_specifier)


def pipfile(text: str, name: str) -> Found:
    data = _toml(text)
    lines = text.splitlines()
    for section, table in data.items():
        if section not in {"source", "requires", "scripts", "pipenv"} and isinstance(table, dict):
            yield from _keyed_constraints(table, name, lines, section,
                                          lambda value: None if value == "*" else normalise(value))


def _keyed_constraints(table: dict, name: str, lines: list[str], header: str,
                       translate: Callable[[str], str | None]) -> Found:
    """`transformers = "^4.46"`, `{version = "^4.46", extras = [...]}` or a list of those,
    in the TOML table `[header]`."""
    for key, value in table.items():
        if canonicalize_name(str(key)) != name:
            continue
        line = _key_line(lines, name, header)
        for entry in value if isinstance(value, list) else [value]:
            constraint = entry.get("version") if isinstance(entry, dict) else entry
            if isinstance(constraint, str):
                specifier = translate(constraint.strip())
                if specifier:
                    yield specifier, line


def setup_cfg(text: str, name: str) -> Found:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    lines = text.splitlines()
    values = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        values += [value for _, value in parser.items("options.extras_require")]
    for value in values:
        requirements = [line.strip() for line in value.splitlines() if line.strip()]
        yield from _requirement_list(requirements, name, lines)


def setup_py(text: str, name: str) -> Found:
    """The string literals of `setup(install_requires=[...], extras_require={...})`, or of a
    module-level list they name; the file is parsed, never run."""
    tree = ast.parse(text)
    assigned = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and _called_name(call.func) == "setup"):
            continue
        for keyword in call.keywords:
            if keyword.arg == "install_requires":
                yield from _literal_requirements(keyword.value, assigned, name)
            elif keyword.arg == "extras_require" and isinstance(keyword.value, ast.Dict):
                for value in keyword.value.values:
                    yield from _literal_requirements(value, assigned, name)


def _called_name(function: ast.expr) -> str | None:
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def _literal_requirements(node: ast.expr | None, assigned: dict, name: str) -> Found:
    if isinstance(node, ast.Name):
        node = assigned.get(node.id)
    if not isinstance(node, (ast.List, ast.Tuple)):
        return
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            specifier = requirement_specifier(element.value, name)
            if specifier:
                yield specifier, element.lineno


def environment_file(text: str, name: str) -> Found:
    """A conda environment: conda match specs under `dependencies:` and its `pip:` list."""
    data = yaml.safe_load(text)
    lines = text.splitlines()
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    for entry in dependencies if isinstance(dependencies, list) else []:
        if isinstance(entry, str):
            specifier = conda_specifier(entry, name)
            if specifier:
                yield specifier, _line_containing(lines, entry.strip())
        elif isinstance(entry, dict):
            yield from _requirement_list(entry.get("pip"), name, lines)


def toml_lock(text: str, name: str) -> Found:
    """poetry.lock, uv.lock and pdm.lock: `[[package]]` tables with a resolved version."""
    lines = text.splitlines()
    for package in _toml(text).get("package", []):
        if (isinstance(package, dict) and canonicalize_name(str(package.get("name", ""))) == name
                and isinstance(package.get("version"), str)):
            yield f"=={package['version']}", _lock_line(lines, name, package["version"])


def pipfile_lock(text: str, name: str) -> Found:
    lines = text.splitlines()
    for section in json.loads(text).values():
        if not isinstance(section, dict):
            continue
        for key, entry in section.items():
            if (canonicalize_name(str(key)) == name and isinstance(entry, dict)
                    and isinstance(entry.get("version"), str)):
                specifier = normalise(entry["version"])
                if specifier and _exact(specifier):
                    yield specifier, _line_containing(lines, f'"{key}"')


def _reader_for(file_name: str) -> Callable[[str, str], Iterable[tuple[str, int | None]]] | None:
    lower = file_name.lower()
    if lower.endswith(".txt") and lower.startswith(("requirements", "constraints")):
        return requirements_file
    if lower in {"environment.yml", "environment.yaml", "conda.yml", "conda.yaml"}:
        return environment_file
    readers = {"setup.cfg": setup_cfg, "setup.py": setup_py, "pipfile.lock": pipfile_lock}
    toml_readers = {"pyproject.toml": pyproject, "pipfile": pipfile, "poetry.lock": toml_lock,
                    "uv.lock": toml_lock, "pdm.lock": toml_lock}
    if lower in toml_readers:
        return toml_readers[lower] if tomllib is not None else None
    return readers.get(lower)


# ---------------------------------------------------------------------------------------------
# Small helpers: TOML tables and line numbers
# ---------------------------------------------------------------------------------------------

def _toml(text: str) -> dict:
    return tomllib.loads(text)


def _table(data: object, key: str) -> dict:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _name_pattern(name: str) -> str:
    # Names compare with -, _ and . alike and in any case (PEP 503).
    return r"(?<![\w.-])" + r"[-_.]+".join(map(re.escape, name.split("-"))) + r"(?![\w-])"


def _line_containing(lines: list[str], needle: str) -> int | None:
    return next((number for number, line in enumerate(lines, start=1) if needle in line), None)


def _key_line(lines: list[str], name: str, header: str) -> int | None:
    """The line of the TOML key `transformers = ...` (quoted or not) in the table `[header]`,
    or anywhere when that table has no header line of its own."""
    key = re.compile(r"^\s*[\"']?" + _name_pattern(name) + r"[\"']?\s*=", re.IGNORECASE)
    table = re.compile(r"^\s*\[\s*" + re.escape(header) + r"\s*\]")
    start = next((number for number, line in enumerate(lines) if table.match(line)), None)
    for number, line in enumerate(lines[start + 1:] if start is not None else lines,
                                  start=1 if start is None else start + 2):
        if start is not None and line.lstrip().startswith("["):
            break  # the next table
        if key.match(line):
            return number
    return None


def _lock_line(lines: list[str], name: str, version: str) -> int | None:
    """The `version = "..."` line of the lock file's `name = "<package>"` table."""
    name_line = re.compile(r"^name\s*=\s*[\"']" + _name_pattern(name) + r"[\"']", re.IGNORECASE)
    version_line = re.compile(r"^version\s*=\s*[\"']" + re.escape(version) + r"[\"']")
    for number, line in enumerate(lines, start=1):
        if name_line.match(line):  # uv.lock may hold several versions, one table each
            following = lines[number:number + 20]
            found = next((number + 1 + offset for offset, candidate in enumerate(following)
                          if version_line.match(candidate)), None)
            if found is not None:
                return found
    return None
