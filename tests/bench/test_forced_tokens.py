"""The forced-token walk of benchmarks/forced_tokens.py on lift-dspy's own byte tokenizer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> Any:
    pytest.importorskip("transformers")
    sys.path.insert(0, str(ROOT / "tests"))
    spec = importlib.util.spec_from_file_location("forced_tokens", ROOT / "benchmarks" / "forced_tokens.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chat_headers_are_forced_free_values_are_not() -> None:
    from lift_dspy.constraints.check import _tokenizer

    forced = _module()
    from zoo import ZOO

    grammar = forced.grammar(ZOO["Sentiment"], "chat", None)
    text = "[[ ## sentiment ## ]]\npositive\n\n[[ ## completed ## ]]"
    n_forced, total, complete = forced.forced_share(_tokenizer(), grammar, text)
    assert complete
    assert total == len(text.encode())  # one byte per token
    assert 0 < n_forced < total  # the header is forced, the choice between three words is not all forced
    grammar = forced.grammar(ZOO["Count"], "json", None)
    assert forced.forced_share(_tokenizer(), grammar, '{"count": 3}')[2]
    assert forced.forced_share(_tokenizer(), grammar, '{"count": "x"}')[2] is False
