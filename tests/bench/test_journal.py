"""The benchmark journal: append, flush, resume keys, damaged tails."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lift_dspy.bench.journal import JOURNAL_NAME, Journal, read_records, record_key


def _sample(config: str = "lift-guidance", task: str = "rust/gcd", sample: int = 0, **extra: object) -> dict:
    return {"kind": "sample", "config": config, "task": task, "sample": sample, **extra}


def test_append_writes_one_flushed_json_line_per_record(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "out")
    journal.append(_sample(structural_ok=True))
    journal.append(_sample(sample=1, structural_ok=False))
    # Read back through a fresh file handle: the lines are on disk, not in a buffer.
    lines = (tmp_path / "out" / JOURNAL_NAME).read_text().splitlines()
    assert [json.loads(line)["sample"] for line in lines] == [0, 1]


def test_done_keys_survive_a_new_journal_on_the_same_directory(tmp_path: Path) -> None:
    Journal(tmp_path).append(_sample(task="go/fizzbuzz_word"))
    Journal(tmp_path).append({"kind": "run", "run": "x"})  # not a result: no key
    again = Journal(tmp_path)
    assert again.done() == {("sample", "lift-guidance", "go/fizzbuzz_word", 0)}


def test_missing_keeps_the_requested_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(_sample(config="dspy-chat"))
    keys = [("sample", c, "rust/gcd", 0) for c in ("lift-guidance", "dspy-chat", "hand-rolled")]
    assert journal.missing(keys) == [keys[0], keys[2]]


def test_a_half_written_last_line_is_skipped_and_does_not_swallow_the_next(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    path.write_text(json.dumps(_sample()) + "\n" + '{"kind": "sample", "conf')  # killed mid-write
    journal = Journal(tmp_path)
    journal.append(_sample(sample=1))
    records = read_records(path)
    assert [r["sample"] for r in records] == [0, 1]
    assert journal.done() == {
        ("sample", "lift-guidance", "rust/gcd", 0),
        ("sample", "lift-guidance", "rust/gcd", 1),
    }


def test_non_finite_numbers_are_written_as_null(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(_sample(seconds=math.inf, nested={"x": [math.nan]}))
    (record,) = journal.records()
    assert record["seconds"] is None
    assert record["nested"] == {"x": [None]}


@pytest.mark.parametrize("record", [{"config": "c"}, {"kind": "sample", "config": "c", "task": "t"}])
def test_records_without_kind_or_key_fields_are_refused(tmp_path: Path, record: dict) -> None:
    with pytest.raises(ValueError, match=r"kind|config, task and sample"):
        Journal(tmp_path).append(record)


def test_record_key() -> None:
    assert record_key(
        {"kind": "throughput", "config": "raw-httpx", "task": "concurrency-16", "sample": 2}
    ) == (
        "throughput",
        "raw-httpx",
        "concurrency-16",
        2,
    )
    assert record_key({"kind": "server", "backend": "guidance"}) is None


def test_read_records_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_records(tmp_path / "nope.jsonl") == []
