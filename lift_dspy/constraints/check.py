"""llguidance, locally: compile every grammar before it is sent, and check every answer after.

The names here are those of :mod:`lift_dspy.constraints.guidance`, the one module that talks to
llguidance; this module keeps them importable where they always were.
"""

from __future__ import annotations

from lift_dspy.constraints.guidance import (
    GrammarMatcher,
    byte_tokenizer,
    compile_grammar,
    grammar_from_json_schema,
    grammar_from_lark,
)

__all__ = ["GrammarMatcher", "compile_grammar", "grammar_from_json_schema", "grammar_from_lark"]

_tokenizer = byte_tokenizer  # the name tests/bench/test_forced_tokens.py uses
