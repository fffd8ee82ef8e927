"""examples/optimize_ir_to_code.py without a server: arguments, data sets, metric, optimizers."""

from __future__ import annotations

from typing import Any

import dspy
import pytest
from fakes import FakeVLLM
from lift_dspy.schemas import FunctionIR
from optimizing import load_example

from lift_dspy.programs.demos import DEMO_IR
from lift_dspy.programs.tasks import CODE_TASKS

example = load_example("optimize_ir_to_code")


def test_defaults_are_the_small_bootstrap_run() -> None:
    args = example.build_parser().parse_args([])
    assert (args.optimizer, args.train, args.dev, args.demos, args.api_base) == ("bootstrap", 4, 4, 1, None)


def test_unknown_optimizer_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        example.build_parser().parse_args(["--optimizer", "copro"])


@pytest.mark.parametrize("argv", [["--train", "0"], ["--train", "10", "--dev", "10"], ["--demos", "0"]])
def test_bad_sizes_exit_2_before_any_lm_is_built(argv: list[str]) -> None:
    assert example.main(argv) == 2


def test_one_case_per_request_of_the_task_suite_with_its_arity() -> None:
    cases = {case.name: case for case in example.ir_cases()}
    for task in CODE_TASKS:
        case = cases[task.id.split("/", 1)[1]]
        assert case.request == task.spec
        assert len(case.params) == task.params
    assert len(cases) == len({task.spec for task in CODE_TASKS})


def test_train_and_dev_are_disjoint_and_reproducible() -> None:
    train, dev = example.build_datasets(6, 8)
    assert (len(train), len(dev)) == (6, 8)
    assert not {e.request for e in train} & {e.request for e in dev}
    assert [e.request for e in train] == [e.request for e in example.build_datasets(6, 8)[0]]
    assert all(set(e.inputs().keys()) == {"request"} for e in [*train, *dev])


def _ir(**changes: Any) -> FunctionIR:
    clamp = {
        **DEMO_IR,
        "name": "clamp_value",
        "params": [{"name": n, "type": "int", "description": n} for n in ("value", "lo", "hi")],
        "returns": {"type": "int", "description": "the clamped value"},
    }
    return FunctionIR.model_validate({**clamp, **changes})


def test_metric_scores_types_return_and_name() -> None:
    gold = next(
        e for e in example.build_datasets(10, 4)[0] + example.build_datasets(10, 4)[1] if e.name == "clamp"
    )
    assert example.ir_metric(gold, dspy.Prediction(ir=_ir())) == 1.0
    wrong_name = _ir(name="bound")
    assert example.ir_metric(gold, dspy.Prediction(ir=wrong_name)) == pytest.approx(2 / 3)
    feedback = example.ir_feedback(
        gold, dspy.Prediction(ir=_ir(returns={"type": "bool", "description": "x"}))
    )
    assert feedback.score == pytest.approx(2 / 3)
    assert "return type" in feedback.feedback


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("bootstrap", dspy.BootstrapFewShot),
        ("random-search", dspy.BootstrapFewShotWithRandomSearch),
        ("mipro-light", dspy.MIPROv2),
        ("gepa", dspy.GEPA),
    ],
)
def test_each_optimizer_is_built(name: str, kind: type) -> None:
    lm = FakeVLLM().lm()
    dspy.configure(lm=lm)
    args = example.build_parser().parse_args(["--optimizer", name])
    optimizer, compile_args = example.build_optimizer(args, lm)
    assert isinstance(optimizer, kind)
    assert compile_args == ({"program_aware_proposer": False} if name == "mipro-light" else {})
