"""Data files and their schema, from a bounded sample of the head and one streaming pass.

A file is never loaded whole: the schema and text lengths come from the first
``SAMPLE_BYTES``; row counts and the counts of the columns with few distinct values (the
label candidates, columns.py) come from a pass that reads only those columns (pyarrow streams
CSV, Parquet and Arrow in blocks).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from trainwright.discovery.columns import (
    LABEL_NAMES,
    TEXT_NAMES,
    class_names_from_folder,
    class_names_from_metadata,
    counted_columns,
    profile_columns,
    with_file_counts,
)
from trainwright.discovery.data_shape import SFT_FORMATS, infer_shapes
from trainwright.discovery.models import DataFile, DataProblem, DataShape
from trainwright.discovery.sampling import (
    PIECES,
    arrow_rows,
    csv_rows,
    json_lines_rows,
    parquet_rows,
    read_pieces,
    spread,
    text_rows,
)

SAMPLE_BYTES = 1024 * 1024
HEAD_BYTES = SAMPLE_BYTES // 2  # of a larger file: the rest of the sample is spread across it
MAX_SAMPLE_ROWS = 5000
MAX_JSON_ARRAY_BYTES = 64 * 1024 * 1024
# pyarrow reads several blocks ahead: small blocks keep the peak memory of a 1 GB pass low
# (benchmarks/README.md: 16 MiB blocks peaked near 480 MiB, 2 MiB blocks near 215 MiB).
STREAM_BLOCK_BYTES = 2 * 1024 * 1024

SPLIT_WORDS = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "eval": "validation",
    "test": "test", "testing": "test",
}
MAX_LABEL_CARDINALITY = 100
MAX_TOKENIZED_TEXTS = 1000
# 16,000 characters are over 3,000 tokens of English or code: above the longest max_length
# planned (2,048), so a text cut here is still measured as too long.
MAX_TOKENIZED_CHARS = 16_000
# 4 million characters tokenise in 2 to 3 s on 2 cores: long texts are measured fewer.
MAX_TOKENIZED_TOTAL = 4_000_000


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
    """Rows from the head of the file and, when it is larger than the sample, from places
    spread across it (sampling.py); the columns; and a problem if the file cannot be read."""
    if fmt == "parquet":
        return _sample_parquet(path)
    if fmt == "arrow":
        return _sample_arrow_folder(path)
    text, complete, problem = _read_head(path)
    if problem:
        return [], [], problem
    assert text is not None
    if fmt == "json" and text.lstrip()[:1] == "[":
        return _sample_json_array(path, complete, text)
    if not complete and fmt != "md":  # half of the sample from the head, half across the file
        cut = text.rfind("\n", 0, HEAD_BYTES) + 1
        text = text[:cut] or text
    limit = MAX_SAMPLE_ROWS if complete else MAX_SAMPLE_ROWS // 2
    pieces = [] if complete or fmt == "md" else read_pieces(
        path, len(text.encode("utf-8")), (SAMPLE_BYTES - HEAD_BYTES) // PIECES)
    piece_limit = max(1, limit // PIECES)
    if fmt in {"csv", "tsv"}:
        delimiter = "\t" if fmt == "tsv" else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        try:
            rows = list(reader) if complete else [row for _, row in zip(range(limit), reader)]
        except csv.Error as error:
            return [], [], f"is not valid {fmt.upper()}: {error}"
        columns = [c for c in (reader.fieldnames or []) if c is not None]
        if not complete and rows:
            rows = rows[:-1]  # the last row may be cut off at the sample boundary
        for piece in pieces:
            rows += csv_rows(piece, columns, delimiter, piece_limit)
        return spread(rows, MAX_SAMPLE_ROWS), columns, None
    if fmt == "txt":
        rows = spread([{"text": line} for line in text.splitlines() if line.strip()], limit)
        return rows + [row for piece in pieces for row in text_rows(piece, piece_limit)], \
            ["text"], None
    if fmt == "md":
        return [{"text": text}], ["text"], None
    rows, columns, problem = _sample_json_lines(text, None if complete else limit)
    rows = spread(rows, limit)
    if problem:
        return rows, columns, problem
    return rows + [row for piece in pieces for row in json_lines_rows(piece, piece_limit)], \
        columns, None


def _sample_json_lines(text: str, limit: int | None = MAX_SAMPLE_ROWS
                       ) -> tuple[list[dict], list[str], str | None]:
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
        if limit is not None and len(rows) >= limit:
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
    rows = [row for row in spread(data, MAX_SAMPLE_ROWS) if isinstance(row, dict)]
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
        rows = parquet_rows(parquet, MAX_SAMPLE_ROWS)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        return [], [], f"is not a readable Parquet file ({error})"
    return rows, columns, None


def _arrow_files(folder: Path) -> list[Path]:
    """The .arrow files of a save_to_disk folder, or the file itself."""
    if folder.is_file():
        return [folder]
    return sorted(folder.glob("*.arrow")) or sorted(folder.glob("*/*.arrow"))


def _open_arrow(path: Path):
    import pyarrow as pa

    try:
        return pa.ipc.open_stream(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        return pa.ipc.open_file(pa.memory_map(str(path)))


def _arrow_batches(path: Path):
    """The record batches of an Arrow file in the stream format (`datasets`) or the file
    format."""
    reader = _open_arrow(path)
    if hasattr(reader, "__iter__"):
        yield from reader
    else:
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)


def _sample_arrow_folder(folder: Path) -> tuple[list[dict], list[str], str | None]:
    files = _arrow_files(folder)
    if not files:
        return [], [], "is a save_to_disk folder without .arrow files"
    try:
        reader = _open_arrow(files[0])
        columns = reader.schema.names
        rows = arrow_rows(reader, MAX_SAMPLE_ROWS)
    except Exception as error:  # noqa: BLE001
        return [], [], f"is not a readable Arrow dataset ({error})"
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

def _count_csv(path: Path, fmt: str, label_columns: list[str], first_column: str
               ) -> tuple[int, dict[str, Counter]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    read = label_columns or [first_column]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=STREAM_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",",
                                         newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(include_columns=read,
                                             column_types={c: pa.string() for c in read}),
    )
    rows, counts = 0, {column: Counter() for column in label_columns}
    for batch in reader:
        rows += batch.num_rows
        for column in label_columns:
            _add_value_counts(counts[column], pc.value_counts(batch.column(column)))
    return rows, counts


def _add_value_counts(counts: Counter, value_counts) -> None:
    for item in value_counts.to_pylist():
        counts[_as_text(item["values"])] += item["counts"]


def _count_columnar(batches, label_columns: list[str]) -> tuple[int, dict[str, Counter]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows, counts = 0, {column: Counter() for column in label_columns}
    for batch in batches:
        rows += batch.num_rows
        for column in label_columns:
            values = batch.column(column)
            if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
                # Lists of labels: each item once per row; rows without any under "".
                counts[column][""] += pc.sum(pc.equal(pc.list_value_length(values), 0)
                                             ).as_py() or 0
                counts[column][""] += values.null_count
                values = pc.list_flatten(values)
            _add_value_counts(counts[column], pc.value_counts(values))
    return rows, counts


def _add_row_value(counts: Counter, value: object) -> None:
    if isinstance(value, list):  # lists of labels: each item once per row
        counts.update({_as_text(item): 1 for item in value} or {"": 1})
    else:
        counts[_as_text(value)] += 1


def _count_rows(records, label_columns: list[str]) -> tuple[int, dict[str, Counter]]:
    rows, counts = 0, {column: Counter() for column in label_columns}
    for record in records:
        rows += 1
        for column in label_columns:
            _add_row_value(counts[column], record.get(column) if isinstance(record, dict)
                           else None)
    return rows, counts


def _json_lines(path: Path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield None


def _count_lines(path: Path) -> int:
    """Non-blank lines, as the sample counts them."""
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def count_rows_and_labels(path: Path, fmt: str, columns: list[str], label_columns: list[str],
                          sample: list[dict], sample_is_all: bool
                          ) -> tuple[int, dict[str, Counter]]:
    """Rows of the file, and the values of each of label_columns counted over all of them."""
    if sample_is_all:
        return _count_rows(sample, label_columns)
    if fmt in {"csv", "tsv"}:
        return _count_csv(path, fmt, label_columns, columns[0])
    if fmt == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        if not label_columns:
            return parquet.metadata.num_rows, {}
        return _count_columnar(parquet.iter_batches(columns=label_columns), label_columns)
    if fmt == "arrow":
        rows, counts = 0, {column: Counter() for column in label_columns}
        for file in _arrow_files(path):
            file_rows, file_counts = _count_columnar(_arrow_batches(file), label_columns)
            rows += file_rows
            for column in label_columns:
                counts[column] += file_counts[column]
        return rows, counts
    if fmt == "txt":
        return _count_lines(path), {}
    if fmt == "md":
        return 1, {}
    if fmt == "json" and _starts_with(path, b"["):
        return _count_json_array(path, label_columns)
    return _count_rows(_json_lines(path), label_columns)


def count_split(paths: Sequence[Path], fmt: str, columns: list[str], label_columns: list[str],
                sample: list[dict], sample_is_all: bool) -> tuple[int, dict[str, Counter]]:
    """count_rows_and_labels summed over the files of a split (the sample is the first's)."""
    rows, counts = count_rows_and_labels(paths[0], fmt, columns, label_columns, sample,
                                         sample_is_all)
    for path in paths[1:]:
        more_rows, more_counts = count_rows_and_labels(path, fmt, columns, label_columns, [],
                                                       False)
        rows += more_rows
        for column, counted in more_counts.items():
            counts.setdefault(column, Counter()).update(counted)
    return rows, counts


def _starts_with(path: Path, prefix: bytes) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4096).lstrip().lstrip(b"\xef\xbb\xbf").startswith(prefix)


def _count_json_array(path: Path, label_columns: list[str]) -> tuple[int, dict[str, Counter]]:
    # Only reached for arrays up to MAX_JSON_ARRAY_BYTES: larger ones are refused when sampled.
    data = json.loads(path.read_text(encoding="utf-8-sig", errors="replace"))
    return _count_rows([row for row in data if isinstance(row, dict)], label_columns)


# ---------------------------------------------------------------------------------------------

def inspect_data_file(path: Path, root: Path, text_column: str | None = None,
                      label_column: str | None = None, *, prompt_column: str | None = None,
                      response_column: str | None = None, members: Sequence[Path] = (),
                      display: str | None = None) -> DataFile:
    """Look at one data file; every problem is recorded, none is raised.

    ``members``: all the files of the split whose first file is ``path`` (shards, a folder, a
    glob), named ``display``; the sample comes from ``path``, rows and counts from them all.
    """
    fmt = format_of(path)
    members = list(members) or [path]
    relative = display or _relative(path, root)
    size = sum(_size_of(member) for member in members)
    rows, columns, problem = _sample_rows(path, fmt)
    base = {"path": relative, "format": fmt, "split": split_from_name(path, root),
            "size_bytes": size, "files": tuple(_relative(member, root) for member in members)}
    if problem:
        return DataFile(**base, rows=None, columns=(), text_column=None, label_column=None,
                        label_counts={}, text_length_chars={}, text_length_words={},
                        sampled_rows=0,
                        problems=(DataProblem(DataProblem.UNREADABLE, f"{relative} {problem}"),))
    problems = []
    for name, given in (("text", text_column), ("label", label_column),
                        ("prompt", prompt_column), ("response", response_column)):
        if given and given not in columns:
            problems.append(DataProblem(DataProblem.MISSING_COLUMN,
                                        f"{relative} has no {name} column '{given}' "
                                        f"(columns: {', '.join(columns) or 'none'})"))
    text_column = text_column if text_column in columns else infer_text_column(rows, columns)
    if label_column not in columns:
        label_column = infer_label_column(rows, columns, text_column)
    profiles = profile_columns(rows, columns, _class_names(path, fmt))
    counted = counted_columns(profiles, label_column)
    sample_is_all = (size <= SAMPLE_BYTES and fmt not in {"parquet", "arrow"}
                     and len(rows) < MAX_SAMPLE_ROWS) or fmt == "md"
    try:
        total_rows, by_column = count_split(members, fmt, columns, counted, rows,
                                            sample_is_all)
        profiles = tuple(with_file_counts(p, by_column[p.name], total_rows)
                         if p.name in by_column else p for p in profiles)
    except Exception as error:  # noqa: BLE001 - a malformed row deep in a large file
        total_rows, by_column = len(rows), {}
        problems.append(DataProblem(DataProblem.INCOMPLETE,
                                    f"{relative} could not be read to the end ({error})"))
    label_facts = next((p for p in profiles if p.name == label_column), None)
    counts = Counter(label_facts.items if label_facts and label_facts.value_type == "list"
                     else by_column.get(label_column, {}))
    if label_facts and label_facts.class_names:
        counts = Counter({_class_name(value, label_facts.class_names): n
                          for value, n in counts.items()})
    missing_labels = counts.pop("", 0) if label_column else 0
    if label_facts and (label_facts.value_type == "list" or label_facts.delimiter):
        missing_labels = 0  # a row without any of its labels is a row of negatives
    if missing_labels:
        problems.append(DataProblem(DataProblem.MISSING_LABELS, f"{relative}: {missing_labels} "
                                    f"rows have no value in '{label_column}'"))
    shape, *other_shapes = infer_shapes(rows, columns, text_column, label_column,
                                        prompt_column, response_column)
    if shape.kind in SFT_FORMATS:
        texts = list(shape.sample_texts)  # whole examples, for their lengths
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
        sample_texts=tokenizer_sample(texts),
        shape=_for_tokenizer(shape),
        other_shapes=tuple(_for_tokenizer(other) for other in other_shapes),
        column_facts=profiles,
    )


def _class_names(path: Path, fmt: str) -> dict[str, tuple[str, ...]]:
    """ClassLabel names that `datasets` stored with a Parquet file or a save_to_disk folder."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return class_names_from_metadata(pq.ParquetFile(path).schema_arrow.metadata)
        if fmt == "arrow" and path.is_dir():
            files = _arrow_files(path)
            names = class_names_from_folder(path)
            return names or (class_names_from_metadata(_open_arrow(files[0]).schema.metadata)
                             if files else {})
        if fmt == "arrow":
            return class_names_from_metadata(_open_arrow(path).schema.metadata)
    except Exception:  # noqa: BLE001 - unreadable metadata: the ids stay ids
        return {}
    return {}


def _class_name(value: str, names: tuple[str, ...]) -> str:
    return names[int(value)] if value.isdigit() and int(value) < len(names) else value


def tokenizer_sample(texts: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The texts whose token lengths are measured: MAX_TOKENIZED_TEXTS spread over the sample
    (itself spread over the file), fewer when they are long (MAX_TOKENIZED_TOTAL characters in
    all), each cut at MAX_TOKENIZED_CHARS (more than any planned max_length holds, so a cut
    text still measures above it)."""
    if not texts:
        return ()
    return tuple(text[:MAX_TOKENIZED_CHARS] for text in spread(texts, _tokenized_count(texts)))


def _tokenized_count(texts: list[str] | tuple[str, ...]) -> int:
    mean = sum(min(len(text), MAX_TOKENIZED_CHARS) for text in texts) / len(texts)
    return max(1, min(MAX_TOKENIZED_TEXTS, int(MAX_TOKENIZED_TOTAL / max(1.0, mean))))


def _for_tokenizer(shape: DataShape) -> DataShape:
    """The shape with the examples whose lengths are measured; their (prompt, response) parts
    are the same examples'."""
    texts = shape.sample_texts
    if not texts:
        return shape
    count = _tokenized_count(texts)
    parts = tuple((prompt[:MAX_TOKENIZED_CHARS], response[:MAX_TOKENIZED_CHARS])
                  for prompt, response in spread(shape.sample_parts, count))
    return dataclasses.replace(shape, sample_texts=tokenizer_sample(texts), sample_parts=parts)


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
