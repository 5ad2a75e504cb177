"""Samples drawn across a file, not only from its head.

A file larger than the sample is read at its head (the schema) and at PIECES places spread
over the rest, the last ending at the end of the file, so that text lengths and value counts
are not those of its first megabyte (files are often sorted: by date, by label, by length).
Each piece starts and ends on a record boundary: a line for JSON Lines and text; for CSV, the
first line from which every record has the header's number of fields (a newline inside a
quoted field would otherwise start a record in the middle of a value).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

PIECES = 4
CSV_STARTS_TRIED = 20  # line starts tried in a piece before giving it up

Item = TypeVar("Item")


def spread(items: Sequence[Item], count: int) -> list[Item]:
    """At most `count` items, evenly spaced from the first to the last."""
    if len(items) <= count:
        return list(items)
    if count <= 1:
        return [items[0]] if count == 1 else []
    step = (len(items) - 1) / (count - 1)
    return [items[round(index * step)] for index in range(count)]


def read_pieces(path: Path, start: int, piece_bytes: int, pieces: int = PIECES) -> list[str]:
    """`pieces` pieces of text spread from byte `start` to the end of the file, each beginning
    after a newline and ending with one; a piece that is not UTF-8 is left out."""
    size = path.stat().st_size
    if size <= start:
        return []
    room = size - start
    texts = []
    with open(path, "rb") as handle:
        for index in range(pieces):
            # The last piece ends at the end of the file.
            offset = start + (room - piece_bytes) * (index + 1) // pieces if room > piece_bytes \
                else start
            handle.seek(max(start, offset))
            raw = handle.read(piece_bytes)
            first, last = raw.find(b"\n"), raw.rfind(b"\n")
            if first < 0 or last <= first:
                continue
            try:
                texts.append(raw[first + 1: last + 1].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            if room <= piece_bytes:
                break
    return texts


def csv_rows(text: str, columns: list[str], delimiter: str, limit: int) -> list[dict]:
    """Rows of a CSV piece: from the first line start at which every record has
    len(columns) fields; the first and the last record are dropped (the first may be the tail
    of a multi-line value, the last may be cut at the end of the piece)."""
    start = 0
    for _ in range(CSV_STARTS_TRIED):
        try:
            records = list(csv.reader(io.StringIO(text[start:]), delimiter=delimiter))
        except csv.Error:
            records = []
        if len(records) > 2 and all(len(record) == len(columns) for record in records[:-1]):
            return [dict(zip(columns, record)) for record in records[1:-1]][:limit]
        start = text.find("\n", start) + 1
        if start <= 0:
            break
    return []


def json_lines_rows(text: str, limit: int) -> list[dict]:
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
            if len(rows) >= limit:
                break
    return rows


def text_rows(text: str, limit: int) -> list[dict]:
    return [{"text": line} for line in text.splitlines() if line.strip()][:limit]


def parquet_rows(parquet, limit: int) -> list[dict]:
    """Rows from the first row group and from row groups spread over the rest (a file of one
    row group is read at its head: its pages cannot be reached without reading it all)."""
    groups = parquet.num_row_groups
    if groups <= 1:
        batch = next(parquet.iter_batches(batch_size=limit), None)
        return batch.to_pylist() if batch is not None else []
    chosen = spread(range(groups), PIECES + 1)
    share = max(1, limit // len(chosen))
    rows = []
    for group in chosen:
        batch = next(parquet.iter_batches(batch_size=share, row_groups=[group]), None)
        if batch is not None:
            rows += batch.to_pylist()
    return rows


def arrow_rows(reader, limit: int) -> list[dict]:
    """Rows evenly spaced over an Arrow file (memory-mapped: taking rows reads only them)."""
    table = reader.read_all()
    if table.num_rows <= limit:
        return table.to_pylist()
    return table.take(spread(range(table.num_rows), limit)).to_pylist()
