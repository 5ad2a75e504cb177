"""Data files and their schema, from a bounded sample of the head and one streaming pass.

A file is never loaded whole: the schema and text lengths come from the first
``SAMPLE_BYTES``; row and label counts come from a pass that reads only the label column
(pyarrow streams CSV, Parquet and Arrow in blocks).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

from trainwright.discovery.data_shape import infer_shape, sample_text_of
from trainwright.discovery.models import DataFile, DataProblem

SAMPLE_BYTES = 1024 * 1024
MAX_SAMPLE_ROWS = 5000
MAX_JSON_ARRAY_BYTES = 64 * 1024 * 1024
# pyarrow reads several blocks ahead: small blocks keep the peak memory of a 1 GB pass low
# (benchmarks/README.md: 16 MiB blocks peaked near 480 MiB, 2 MiB blocks near 215 MiB).
STREAM_BLOCK_BYTES = 2 * 1024 * 1024

TEXT_NAMES = ("text", "sentence", "review", "content", "body", "document", "utterance",
              "comment", "message", "tweet", "question", "description", "title", "input", "prompt")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "intent", "y",
               "topic", "tag", "class_label", "gold_label", "rating", "emotion")
SPLIT_WORDS = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "eval": "validation",
    "test": "test", "testing": "test",
}
MAX_LABEL_CARDINALITY = 100
MAX_TOKENIZED_TEXTS = 1000


def split_from_name(path: Path, root: Path | None = None) -> str | None:
    """train / validation / test from the file name, or from its folder inside the project."""
    words = re.split(r"[-_. ]+", path.stem.lower())
    if root is None or path.parent.resolve() != root.resolve():
        words.append(path.parent.name.lower())
    for word in words:
        if word in SPLIT_WORDS:
            return SPLIT_WORDS[word]
    return None


def format_of(path: Path) -> str:
    if path.is_dir():
        return "arrow"
    return path.suffix.lower().lstrip(".")


def _percentiles(values: list[int]) -> dict[str, int]:
    if not values:
        return {}
    ordered = sorted(values)
    last = len(ordered) - 1

    def at(q: float) -> int:
        return ordered[min(last, round(q * last))]

    return {"p50": at(0.5), "p90": at(0.9), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


# ---------------------------------------------------------------------------------------------
# Sampling the head
# ---------------------------------------------------------------------------------------------

def _read_head(path: Path) -> tuple[str | None, bool, str | None]:
    """The first SAMPLE_BYTES as text, whether that is the whole file, and a problem if any."""
    with open(path, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES + 1)
    complete = len(raw) <= SAMPLE_BYTES
    raw = raw[:SAMPLE_BYTES]
    if b"\x00" in raw:
        return None, complete, "is a binary file, not text (it contains NUL bytes)"
    if not complete:
        raw = raw[: raw.rfind(b"\n") + 1] or raw
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if not complete and error.start > len(raw) - 4:
            text = raw[: error.start].decode("utf-8-sig")
        else:
            return None, complete, f"is not UTF-8 text (undecodable byte at offset {error.start})"
    return text, complete, None


def _sample_rows(path: Path, fmt: str) -> tuple[list[dict], list[str], str | None]:
    """Rows from the head of the file, the columns, and a problem if the file cannot be read."""
    if fmt == "parquet":
        return _sample_parquet(path)
    if fmt == "arrow":
        return _sample_arrow_folder(path)
    text, complete, problem = _read_head(path)
    if problem:
        return [], [], problem
    assert text is not None
    if fmt in {"csv", "tsv"}:
        delimiter = "\t" if fmt == "tsv" else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        try:
            rows = [row for _, row in zip(range(MAX_SAMPLE_ROWS), reader)]
        except csv.Error as error:
            return [], [], f"is not valid {fmt.upper()}: {error}"
        columns = [c for c in (reader.fieldnames or []) if c is not None]
        if not complete and rows:
            rows = rows[:-1]  # the last row may be cut off at the sample boundary
        return rows, columns, None
    if fmt == "txt":
        rows = [{"text": line} for line in text.splitlines() if line.strip()][:MAX_SAMPLE_ROWS]
        return rows, ["text"], None
    if fmt == "md":
        return [{"text": text}], ["text"], None
    if fmt == "json" and text.lstrip()[:1] == "[":
        return _sample_json_array(path, complete, text)
    return _sample_json_lines(text)


def _sample_json_lines(text: str) -> tuple[list[dict], list[str], str | None]:
    rows: list[dict] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            return [], [], f"line {number} is not valid JSON ({error.msg})"
        if not isinstance(row, dict):
            return [], [], f"line {number} is a JSON {type(row).__name__}, not an object"
        rows.append(row)
        if len(rows) >= MAX_SAMPLE_ROWS:
            break
    return rows, _columns_of(rows), None


def _sample_json_array(path: Path, complete: bool, text: str) -> tuple[list[dict], list[str],
                                                                       str | None]:
    if not complete:
        if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
            return [], [], ("is a JSON array too large to sample safely; "
                            "convert it to JSON Lines (one object per line)")
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return [], [], f"is not valid JSON ({error.msg} at line {error.lineno})"
    rows = [row for row in data[:MAX_SAMPLE_ROWS] if isinstance(row, dict)]
    if data and not rows:
        return [], [], "is a JSON array whose items are not objects with named fields"
    return rows, _columns_of(rows), None


def _columns_of(rows: list[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows[:100]:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _sample_parquet(path: Path) -> tuple[list[dict], list[str], str | None]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        columns = parquet.schema_arrow.names
        batch = next(parquet.iter_batches(batch_size=MAX_SAMPLE_ROWS), None)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        return [], [], f"is not a readable Parquet file ({error})"
    return (batch.to_pylist() if batch is not None else []), columns, None


def _arrow_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.arrow")) or sorted(folder.glob("*/*.arrow"))


def _open_arrow(path: Path):
    import pyarrow as pa

    try:
        return pa.ipc.open_stream(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        return pa.ipc.open_file(pa.memory_map(str(path)))


def _sample_arrow_folder(folder: Path) -> tuple[list[dict], list[str], str | None]:
    files = _arrow_files(folder)
    if not files:
        return [], [], "is a save_to_disk folder without .arrow files"
    try:
        reader = _open_arrow(files[0])
        batch = next(iter(reader), None) if hasattr(reader, "__iter__") else reader.get_batch(0)
        columns = reader.schema.names
    except Exception as error:  # noqa: BLE001
        return [], [], f"is not a readable Arrow dataset ({error})"
    rows = batch.slice(0, MAX_SAMPLE_ROWS).to_pylist() if batch is not None else []
    return rows, columns, None


# ---------------------------------------------------------------------------------------------
# Inferring roles of columns
# ---------------------------------------------------------------------------------------------

def _as_text(value: object) -> str:
    return "" if value is None else str(value).strip()


def infer_text_column(rows: list[dict], columns: list[str]) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    for name in TEXT_NAMES:
        if name in by_lower:
            return by_lower[name]
    best, best_words = None, 2.0
    for column in columns:
        values = [_as_text(row.get(column)) for row in rows[:500]]
        if not values or any(isinstance(row.get(column), (int, float)) for row in rows[:50]):
            continue
        mean_words = sum(len(v.split()) for v in values) / len(values)
        if mean_words > best_words:
            best, best_words = column, mean_words
    return best


def infer_label_column(rows: list[dict], columns: list[str], text_column: str | None
                       ) -> str | None:
    by_lower = {c.lower(): c for c in columns if c != text_column}
    for name in LABEL_NAMES:
        if name in by_lower:
            return by_lower[name]
    if len(rows) < 4:
        return None
    for column in columns:
        if column == text_column:
            continue
        values = [_as_text(row.get(column)) for row in rows]
        distinct = set(values) - {""}
        limit = min(MAX_LABEL_CARDINALITY, max(2, len(rows) // 5))
        short = all(len(v) <= 40 for v in distinct)
        if 2 <= len(distinct) <= limit and short and column.lower() not in {"id", "idx", "index"}:
            return column
    return None


# ---------------------------------------------------------------------------------------------
# The streaming pass: rows and label counts
# ---------------------------------------------------------------------------------------------

def _count_csv(path: Path, fmt: str, label_column: str | None, first_column: str
               ) -> tuple[int, Counter]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    column = label_column or first_column
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=STREAM_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",",
                                         newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(include_columns=[column],
                                             column_types={column: pa.string()}),
    )
    rows, counts = 0, Counter()
    for batch in reader:
        rows += batch.num_rows
        if label_column:
            _add_value_counts(counts, pc.value_counts(batch.column(0)))
    return rows, counts


def _add_value_counts(counts: Counter, value_counts) -> None:
    for item in value_counts.to_pylist():
        counts[_as_text(item["values"])] += item["counts"]


def _count_columnar(batches, label_column: str | None) -> tuple[int, Counter]:
    import pyarrow.compute as pc

    rows, counts = 0, Counter()
    for batch in batches:
        rows += batch.num_rows
        if label_column:
            _add_value_counts(counts, pc.value_counts(batch.column(label_column)))
    return rows, counts


def _count_json_lines(path: Path, label_column: str | None) -> tuple[int, Counter]:
    rows, counts = 0, Counter()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            rows += 1
            if label_column:
                try:
                    counts[_as_text(json.loads(line).get(label_column))] += 1
                except (json.JSONDecodeError, AttributeError):
                    counts[""] += 1
    return rows, counts


def _count_lines(path: Path) -> int:
    """Non-blank lines, as the sample counts them."""
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def count_rows_and_labels(path: Path, fmt: str, columns: list[str], label_column: str | None,
                          sample: list[dict], sample_is_all: bool) -> tuple[int, Counter]:
    if sample_is_all:
        counts = Counter(_as_text(r.get(label_column)) for r in sample) if label_column else Counter()
        return len(sample), counts
    if fmt in {"csv", "tsv"}:
        return _count_csv(path, fmt, label_column, columns[0])
    if fmt == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        if not label_column:
            return parquet.metadata.num_rows, Counter()
        return _count_columnar(parquet.iter_batches(columns=[label_column]), label_column)
    if fmt == "arrow":
        rows, counts = 0, Counter()
        for file in _arrow_files(path):
            file_rows, file_counts = _count_columnar(_open_arrow(file), label_column)
            rows, counts = rows + file_rows, counts + file_counts
        return rows, counts
    if fmt == "txt":
        return _count_lines(path), Counter()
    if fmt == "md":
        return 1, Counter()
    if fmt == "json" and _starts_with(path, b"["):
        return _count_json_array(path, label_column)
    return _count_json_lines(path, label_column)


def _starts_with(path: Path, prefix: bytes) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4096).lstrip().lstrip(b"\xef\xbb\xbf").startswith(prefix)


def _count_json_array(path: Path, label_column: str | None) -> tuple[int, Counter]:
    # Only reached for arrays up to MAX_JSON_ARRAY_BYTES: larger ones are refused when sampled.
    data = json.loads(path.read_text(encoding="utf-8-sig", errors="replace"))
    rows = [row for row in data if isinstance(row, dict)]
    counts = Counter(_as_text(row.get(label_column)) for row in rows) if label_column else Counter()
    return len(rows), counts


# ---------------------------------------------------------------------------------------------

def inspect_data_file(path: Path, root: Path, text_column: str | None = None,
                      label_column: str | None = None) -> DataFile:
    """Look at one data file; every problem is recorded, none is raised."""
    fmt = format_of(path)
    relative = _relative(path, root)
    size = _size_of(path)
    rows, columns, problem = _sample_rows(path, fmt)
    base = {"path": relative, "format": fmt, "split": split_from_name(path, root),
            "size_bytes": size}
    if problem:
        return DataFile(**base, rows=None, columns=(), text_column=None, label_column=None,
                        label_counts={}, text_length_chars={}, text_length_words={},
                        sampled_rows=0,
                        problems=(DataProblem(DataProblem.UNREADABLE, f"{relative} {problem}"),))
    problems = []
    for name, given in (("text", text_column), ("label", label_column)):
        if given and given not in columns:
            problems.append(DataProblem(DataProblem.MISSING_COLUMN,
                                        f"{relative} has no {name} column '{given}' "
                                        f"(columns: {', '.join(columns) or 'none'})"))
    text_column = text_column if text_column in columns else infer_text_column(rows, columns)
    if label_column not in columns:
        label_column = infer_label_column(rows, columns, text_column)
    sample_is_all = (size <= SAMPLE_BYTES and fmt not in {"parquet", "arrow"}
                     and len(rows) < MAX_SAMPLE_ROWS) or fmt == "md"
    try:
        total_rows, counts = count_rows_and_labels(path, fmt, columns, label_column, rows,
                                                   sample_is_all)
    except Exception as error:  # noqa: BLE001 - a malformed row deep in a large file
        total_rows, counts = len(rows), Counter()
        problems.append(DataProblem(DataProblem.INCOMPLETE,
                                    f"{relative} could not be read to the end ({error})"))
    missing_labels = counts.pop("", 0) if label_column else 0
    if missing_labels:
        problems.append(DataProblem(DataProblem.MISSING_LABELS, f"{relative}: {missing_labels} "
                                    f"rows have no value in '{label_column}'"))
    shape = infer_shape(rows, columns, text_column, label_column)
    if shape.kind in {"chat", "instruction"}:
        texts = [sample_text_of(r, shape) for r in rows]  # whole examples, for their lengths
    else:
        texts = [_as_text(r.get(text_column)) for r in rows] if text_column else []
    return DataFile(
        **base,
        rows=total_rows,
        columns=tuple(columns),
        text_column=text_column,
        label_column=label_column,
        label_counts=dict(counts.most_common()),
        text_length_chars=_percentiles([len(t) for t in texts]),
        text_length_words=_percentiles([len(t.split()) for t in texts]),
        sampled_rows=len(rows),
        problems=tuple(problems),
        sample_texts=tuple(t[:4000] for t in texts[:MAX_TOKENIZED_TEXTS]),
        shape=shape,
    )


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
