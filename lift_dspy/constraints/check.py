"""llguidance, locally: compile every grammar before it is sent, and check every answer after.

The byte tokenizer (one token per byte) makes the local check independent of the served model's
vocabulary: a text is accepted here exactly when its bytes are a sentence of the grammar.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

import llguidance

__all__ = ["GrammarMatcher", "compile_grammar", "grammar_from_json_schema", "grammar_from_lark"]


@functools.cache
def _tokenizer() -> llguidance.LLTokenizer:
    return llguidance.LLTokenizer("byte")


def grammar_from_lark(lark: str) -> str:
    """The serialized llguidance grammar of a Lark (llguidance dialect) grammar."""
    return llguidance.LLMatcher.grammar_from_lark(lark)


def grammar_from_json_schema(schema: dict[str, Any]) -> str:
    """The serialized llguidance grammar of a JSON Schema (its ``x-guidance`` options apply)."""
    return llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema))


def compile_grammar(grammar: str) -> str:
    """Compile ``grammar`` with llguidance's default resource limits.

    Returns:
        The empty string when the grammar is valid, else llguidance's error message.
    """
    return llguidance.LLMatcher.validate_grammar(grammar, _tokenizer())


class GrammarMatcher:
    """Checks complete texts against one compiled grammar (thread-safe, reusable)."""

    def __init__(self, grammar: str) -> None:
        self._grammar = grammar
        self._template: llguidance.LLMatcher | None = None
        self._lock = threading.Lock()

    def _fresh(self) -> llguidance.LLMatcher:
        with self._lock:
            if self._template is None:
                self._template = llguidance.LLMatcher(_tokenizer(), self._grammar, log_level=0)
            return self._template.deep_copy()

    def mismatch(self, text: str) -> tuple[int, str] | None:
        """None when ``text`` is a complete sentence of the grammar, else (byte offset, why not)."""
        matcher = self._fresh()
        if matcher.is_error():
            return 0, f"grammar error: {matcher.get_error()}"
        data = text.encode("utf-8")
        tokens = _tokenizer().tokenize_bytes(data)
        consumed = matcher.try_consume_tokens(tokens)
        if consumed < len(tokens):
            context = data[max(0, consumed - 30) : consumed].decode("utf-8", "replace")
            bad = data[consumed : consumed + 20].decode("utf-8", "replace")
            return consumed, f"unexpected {bad!r} at byte {consumed} (after {context!r})"
        if not matcher.is_accepting():
            return len(data), "output ends before the structure is complete"
        return None
