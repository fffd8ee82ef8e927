"""The benchmark journal: one JSON line per finished result, appended and flushed as it completes.

A run never keeps results only in memory: each (config, task, sample) is written the moment it is
done, so an interrupted run loses at most the sample in flight, and a rerun with the same
directory reads the journal and does only what is missing. The report is built from this file
alone.

Record kinds (the ``kind`` field)::

    run          one per invocation: command, model, settings, machine
    server       one per managed server start: backend, seconds to ready
    sample       one (config, task, sample) of the suite
    throughput   one round of the concurrency test (config is "lift-guidance" or "raw-httpx")

``sample`` and ``throughput`` records are keyed by ``(kind, config, task, sample)``; a key that
is already in the journal is not run again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = ["JOURNAL_NAME", "Journal", "Key", "RecordKind", "read_records", "record_key"]

logger = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"
RecordKind = Literal["run", "server", "sample", "throughput"]
Key = tuple[str, str, str, int]
_KEYED = ("sample", "throughput")


def record_key(record: Mapping[str, Any]) -> Key | None:
    """The resume key of a record, or None for records that are not results (run, server)."""
    if record.get("kind") not in _KEYED:
        return None
    return (str(record["kind"]), str(record["config"]), str(record["task"]), int(record["sample"]))


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a journal file, in order.

    A line that is not a JSON object (a run killed mid-write leaves at most one, at the end) is
    skipped with a warning, so a damaged tail never blocks a resume or a report.
    """
    path = Path(path)
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except ValueError:
                logger.warning("%s:%d is not JSON (interrupted write?); skipped", path, number)
                continue
            if isinstance(value, dict) and "kind" in value:
                records.append(value)
            else:
                logger.warning("%s:%d is not a journal record; skipped", path, number)
    return records


def _finite(value: Any) -> Any:
    """The value with NaN and infinities replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class Journal:
    """An append-only JSONL journal in a benchmark directory.

    Args:
        directory: The benchmark's output directory (created if missing).

    Example:
        >>> import tempfile
        >>> j = Journal(tempfile.mkdtemp())
        >>> j.append({"kind": "sample", "config": "c", "task": "t", "sample": 0, "ok": True})
        >>> ("sample", "c", "t", 0) in j.done()
        True
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / JOURNAL_NAME
        self._lock = threading.Lock()
        self._done: set[Key] = {key for r in self.records() if (key := record_key(r)) is not None}
        self._repair_tail()

    def _repair_tail(self) -> None:
        """End the file with a newline, so a half-written last line cannot swallow the next record."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")

    def records(self) -> list[dict[str, Any]]:
        """Every record written so far (see :func:`read_records`)."""
        return read_records(self.path)

    def done(self) -> set[Key]:
        """The keys of the results already in the journal."""
        with self._lock:
            return set(self._done)

    def missing(self, keys: Iterable[Key]) -> list[Key]:
        """The given keys that have no result yet, in the given order."""
        done = self.done()
        return [key for key in keys if key not in done]

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as a JSON line, flushed and fsynced before returning.

        Raises:
            ValueError: The record has no ``kind``, or a result record lacks its key fields.
        """
        if "kind" not in record:
            raise ValueError("a journal record needs a 'kind' field")
        try:
            key = record_key(record)
        except KeyError as exc:
            raise ValueError(f"a {record['kind']} record needs config, task and sample: {exc}") from exc
        line = json.dumps(_finite(record), sort_keys=True, default=str, allow_nan=False)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if key is not None:
                self._done.add(key)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records())
