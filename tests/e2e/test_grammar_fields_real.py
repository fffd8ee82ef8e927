"""Grammar-typed fields against a real vLLM server (guidance backend), random-weight tiny model.

With random weights the model samples freely among what the grammar allows, so what comes back is
a conformance test of the nested grammars, the server and lift-dspy's checks together:

- a Regex field, a Lark grammar field and a free-text ``dspy.Code["python"]`` field: every answer
  finishes and each field is a sentence of its own grammar;
- a ``dspy.Code["go"]`` field: a random walk through Go's grammar rarely closes the function within
  a small token budget, so each answer is either a complete Go function under the grammar, or a
  ``TruncatedOutputError`` whose text is still a valid prefix of the grammar that was sent (the
  server enforced it token by token; nothing invalid was ever written).
"""

from __future__ import annotations

import re
from typing import Annotated

import dspy
import pytest

import lift_dspy
from lift_dspy.constraints import compile_constraint
from lift_dspy.constraints.code import code_grammar
from lift_dspy.constraints.fields import Grammar, Regex
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm

# Arithmetic over small numbers, bounded so a random model always closes it.
ARITHMETIC = """
start: term (OP term){0,3}
term: NUM | "(" NUM OP NUM ")"
OP: "+" | "-" | "*"
NUM: /[0-9]{1,3}/
"""
VERSION = r"v[0-9]{1,2}\.[0-9]{1,2}"
GoCode = dspy.Code["go"]
PythonCode = dspy.Code["python"]


class Release(dspy.Signature):
    """Write a release: its version, a checksum formula and a build script."""

    notes: str = dspy.InputField()
    version: Annotated[str, Regex(VERSION)] = dspy.OutputField()
    checksum: Annotated[str, Grammar(ARITHMETIC)] = dspy.OutputField()
    script: PythonCode = dspy.OutputField()


class WriteGo(dspy.Signature):
    """Write one Go function for the task."""

    task: str = dspy.InputField()
    code: GoCode = dspy.OutputField()


def _lm(server: Server, max_tokens: int) -> lift_dspy.GuidanceLM:
    return lift_dspy.GuidanceLM(
        server.model,
        api_base=server.api_base,
        temperature=1.0,
        max_tokens=max_tokens,
        max_text_chars=80,
        cache=False,
        num_retries=0,
    )


def test_regex_and_grammar_fields_are_always_sentences(tiny_server: Server) -> None:
    lm = _lm(tiny_server, max_tokens=600)
    dspy.configure(lm=lm)
    predict = dspy.Predict(Release)
    for i in range(4):
        prediction = predict(notes=f"release {i}", config={"rollout_id": i})
        assert re.fullmatch(VERSION, prediction.version), prediction.version
        assert Grammar(ARITHMETIC).mismatch(prediction.checksum) is None, prediction.checksum
        assert isinstance(prediction.script, dspy.Code)
        sent = lm.history[-1]["lift_dspy"]["structured_outputs"]
        assert sent == lift_dspy.constraint_for(Release, max_text_chars=80)


def test_go_code_is_a_sentence_or_a_valid_prefix(tiny_server: Server) -> None:
    lm = _lm(tiny_server, max_tokens=300)
    dspy.configure(lm=lm)
    predict = dspy.Predict(WriteGo)
    go = Grammar(code_grammar("go"))
    matcher = compile_constraint(WriteGo, "chat").matcher
    for i in range(3):
        try:
            prediction = predict(task=f"task {i}", config={"rollout_id": i})
        except lift_dspy.TruncatedOutputError as exc:
            truncated = exc.raw_text
        else:
            truncated = None
        if truncated is not None:
            # Out of tokens mid-function: every byte written so far is a prefix of the grammar.
            offset, reason = matcher.mismatch(truncated) or (None, "complete")
            assert offset == len(truncated.encode("utf-8")), reason
            assert truncated.startswith("[[ ## code ## ]]\n")
            continue
        assert isinstance(prediction.code, dspy.Code)
        assert go.mismatch(prediction.code.code) is None, prediction.code.code
