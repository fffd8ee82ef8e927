"""DSPy optimizers compile an agent program end to end on a real vLLM server, constrained throughout.

BootstrapFewShot, BootstrapFewShotWithRandomSearch, MIPROv2(auto="light") and GEPA each compile
:class:`optimizing.AnalysisAgent` against the random-weight tiny model (guidance backend). The
metric values are arbitrary with random weights; what is checked is the machinery:

* the compile finishes and every call it made was constrained and valid (no violations);
* every program the optimizer produced (the result and its scored candidates) still runs, every
  answer validates, and in every request each few-shot demo DSPy rendered as an assistant turn is
  a sentence of the constraint that request carried (``optimizing.check_agreement``);
* the optimized instructions are in the system prompt of requests that carry that constraint.

``examples/optimize_ir_to_code.py`` runs once on SmolLM2 with the smallest budget: its request -> IR
prompt does not fit the tiny model's 2048-token context (a 2048-token vocabulary spends about twice
SmolLM2's tokens on the same text).

The tiny server's context is 2048 tokens: MIPROv2 runs without the program-aware proposer (whose
prompt quotes the program's source) so its proposer prompts fit.
"""

from __future__ import annotations

from typing import Any

import dspy
import pytest
from gepa.core.state import GEPAState
from gepa.proposer.base import CandidateProposal
from optimizing import (
    EXAMPLES,
    MAX_TEXT_CHARS,
    AnalysisAgent,
    PickTool,
    RecordingTransport,
    Route,
    check_agreement,
    feedback_metric,
    instructions_shown,
    load_example,
    metric,
)

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm

TRAIN, VAL = list(EXAMPLES[:4]), list(EXAMPLES[4:])
ORIGINAL = {name: p.signature.instructions for name, p in AnalysisAgent().named_predictors()}


def _lm(server: Server, transport: RecordingTransport | None = None) -> lift_dspy.GuidanceLM:
    return lift_dspy.GuidanceLM(
        server.model,
        api_base=server.api_base,
        temperature=1.0,
        max_tokens=1200,
        max_text_chars=MAX_TEXT_CHARS,
        cache=False,
        num_retries=0,
        transport=transport,
    )


def _assert_all_valid(lm: lift_dspy.GuidanceLM) -> None:
    total = lm.stats()["total"]
    assert total["calls"] > 0
    assert total["ok"] == total["calls"], total
    assert total["violations"] == 0, total


def _assert_valid_prediction(prediction: dspy.Prediction) -> None:
    lift_dspy.output_model(Route).model_validate(
        {"intent": prediction.intent, "columns": prediction.columns, "rows": prediction.rows}
    )
    lift_dspy.output_model(PickTool).model_validate({"tool": prediction.tool, "args": prediction.args})


def _distinct(programs: list[dspy.Module]) -> list[dspy.Module]:
    """One program per (instructions, demo counts) combination."""
    seen: dict[tuple[Any, ...], dspy.Module] = {}
    for program in programs:
        key = tuple((p.signature.instructions, len(p.demos)) for p in program.predictors())
        seen.setdefault(key, program)
    return list(seen.values())


def _run_and_check(server: Server, program: dspy.Module) -> int:
    """Run ``program`` on the validation set; check prompt/constraint agreement. Returns demos seen."""
    transport = RecordingTransport()
    lm = _lm(server, transport)
    with dspy.context(lm=lm):
        for example in VAL:
            _assert_valid_prediction(program(**example.inputs()))
    _assert_all_valid(lm)
    assert len(transport.payloads) == 2 * len(VAL)
    demos = 0
    for payload in transport.payloads:
        agreement = check_agreement(payload, program, max_text_chars=MAX_TEXT_CHARS)
        assert not agreement.rejected, agreement
        demos += agreement.demos
    for predictor in program.predictors():
        expected = lift_dspy.constraint_for(predictor.signature, max_text_chars=MAX_TEXT_CHARS)
        assert any(
            p["structured_outputs"] == expected and instructions_shown(predictor.signature.instructions, p)
            for p in transport.payloads
        ), predictor.signature.instructions
    return demos


def _changed_instructions(program: dspy.Module) -> bool:
    return any(p.signature.instructions != ORIGINAL[name] for name, p in program.named_predictors())


def test_bootstrap_few_shot(tiny_server: Server) -> None:
    lm = _lm(tiny_server)
    dspy.configure(lm=lm)
    optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=2, max_labeled_demos=3)
    compiled = optimizer.compile(AnalysisAgent(), trainset=TRAIN)
    _assert_all_valid(lm)
    for _, predictor in compiled.named_predictors():
        # Bootstrapped traces (the model's own constrained answers) and labeled examples.
        assert any(demo.get("augmented") for demo in predictor.demos), predictor.demos
        assert any(not demo.get("augmented") for demo in predictor.demos), predictor.demos
    assert _run_and_check(tiny_server, compiled) > 0


def test_bootstrap_few_shot_with_random_search(tiny_server: Server) -> None:
    lm = _lm(tiny_server)
    dspy.configure(lm=lm)
    optimizer = dspy.BootstrapFewShotWithRandomSearch(
        metric=metric,
        max_bootstrapped_demos=2,
        max_labeled_demos=2,
        num_candidate_programs=1,
        num_threads=2,
    )
    compiled = optimizer.compile(AnalysisAgent(), trainset=TRAIN, valset=VAL)
    _assert_all_valid(lm)
    # Zero-shot, labeled only, unshuffled bootstrap, one random bootstrap: all scored on VAL.
    candidates = [entry["program"] for entry in compiled.candidate_programs]
    assert len(candidates) == 4
    demos = sum(_run_and_check(tiny_server, program) for program in _distinct([compiled, *candidates]))
    assert demos > 0


def test_mipro_v2_light(tiny_server: Server) -> None:
    lm = _lm(tiny_server)
    dspy.configure(lm=lm)
    optimizer = dspy.MIPROv2(
        metric=metric, auto="light", num_threads=2, max_bootstrapped_demos=2, max_labeled_demos=1
    )
    compiled = optimizer.compile(AnalysisAgent(), trainset=TRAIN, valset=VAL, program_aware_proposer=False)
    # The proposer's calls (dataset summary, instructions) are constrained too: same LM.
    _assert_all_valid(lm)
    candidates = _distinct([compiled, *(entry["program"] for entry in compiled.candidate_programs)])
    # Twenty trials over three instruction and six demo-set candidates per predictor: some trial
    # used a proposed instruction and some used demos.
    assert any(_changed_instructions(program) for program in candidates)
    demos = sum(_run_and_check(tiny_server, program) for program in candidates)
    assert demos > 0


class _AcceptEveryProposal:
    """GEPA acceptance criterion: keep every proposal (random-weight scores would make it a coin toss)."""

    def should_accept(self, proposal: CandidateProposal, state: GEPAState) -> bool:
        return True


def test_gepa_with_a_guidance_reflection_lm(tiny_server: Server) -> None:
    lm = _lm(tiny_server)
    reflection_transport = RecordingTransport()
    reflection_lm = _lm(tiny_server, reflection_transport)
    dspy.configure(lm=lm)
    optimizer = dspy.GEPA(
        metric=feedback_metric,
        reflection_lm=reflection_lm,
        max_metric_calls=16,
        reflection_minibatch_size=2,
        num_threads=2,
        use_merge=False,
        skip_perfect_score=False,
        track_stats=True,
        gepa_kwargs={"acceptance_criterion": _AcceptEveryProposal()},
    )
    compiled = optimizer.compile(AnalysisAgent(), trainset=TRAIN, valset=VAL)
    _assert_all_valid(lm)
    # Reflection goes through GEPA's InstructionProposer (a dspy.Predict under JSONAdapter): constrained.
    _assert_all_valid(reflection_lm)
    assert reflection_transport.payloads
    assert all("json" in p["structured_outputs"] for p in reflection_transport.payloads)
    candidates = compiled.detailed_results.candidates
    assert len(candidates) >= 2, "no reflection proposal became a candidate"
    assert any(_changed_instructions(program) for program in candidates)
    for program in _distinct([compiled, *candidates]):
        _run_and_check(tiny_server, program)


def test_optimize_example_runs_on_smollm2(smollm2_server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("optimize_ir_to_code")
    argv = ["--api-base", smollm2_server.api_base, "--model", smollm2_server.model]
    status = example.main([*argv, "--train", "1", "--dev", "1", "--rounds", "1", "--no-cache"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Dev metric before" in out
    assert "Dev metric after" in out
    assert "violations=0" in out
