"""Fail closed: every DSPy path is constrained and checked, or refused before anything is sent.

Each test drives a real DSPy module through GuidanceLM against FakeVLLM (an httpx.MockTransport
fake of vLLM's chat endpoint) and looks at what reached the "server".
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import dspy
import httpx
import pydantic
import pytest
from answers import render_answer
from fakes import FakeVLLM, forget_detected

import lift_dspy
from lift_dspy.backends import detect_backend, remembered


class Count(dspy.Signature):
    """Count the words."""

    text: str = dspy.InputField()
    count: int = dspy.OutputField()


class Label(dspy.Signature):
    """Label the text."""

    text: str = dspy.InputField()
    label: Literal["spam", "ham"] = dspy.OutputField()


COUNT = "[[ ## count ## ]]\n{n}\n\n[[ ## completed ## ]]"
LABEL = "[[ ## label ## ]]\nham\n\n[[ ## completed ## ]]"


def grammar(payload: dict[str, Any]) -> str:
    return str(payload["structured_outputs"]["grammar"])


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Iterator[Any]:
    old = dspy.cache
    dspy.configure_cache(enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(tmp_path))
    yield dspy.cache
    dspy.cache = old


class Bulleted(dspy.ChatAdapter):
    """A ChatAdapter subclass that writes another layout: no grammar matches it."""

    def format_field_structure(self, signature: Any) -> str:
        return "Answer with one bullet per output field."


# -- 1. strict by default ------------------------------------------------------------------------
def test_an_adapter_with_another_layout_is_refused_before_anything_is_sent() -> None:
    fake = FakeVLLM([COUNT.format(n=2)] * 3)
    dspy.configure(lm=fake.lm(), adapter=Bulleted())
    with pytest.raises(lift_dspy.UnconstrainedCallError, match="Bulleted") as caught:
        dspy.Predict(Count)(text="a b")
    assert fake.payloads == []  # nothing sent, and not retried through DSPy's JSONAdapter fallback
    assert caught.value.adapter == "Bulleted"
    assert "on_unconstrained" in str(caught.value)
    assert isinstance(caught.value, dspy.utils.exceptions.LMConfigurationError)
    assert not isinstance(caught.value, dspy.utils.exceptions.AdapterParseError)


def test_an_adapter_that_is_no_chat_adapter_is_refused() -> None:
    class Plain(dspy.Adapter):
        def format(self, signature: Any, demos: Any, inputs: Any) -> list[dict[str, Any]]:
            return [{"role": "system", "content": "Answer."}, {"role": "user", "content": str(inputs)}]

        def parse(self, signature: Any, completion: str) -> dict[str, Any]:
            return {"count": 1}

    fake = FakeVLLM(["1"])
    dspy.configure(lm=fake.lm(), adapter=Plain())
    with pytest.raises(lift_dspy.UnconstrainedCallError, match="Plain"):
        dspy.Predict(Count)(text="a b")
    assert fake.payloads == []


def test_async_refusal_is_the_same() -> None:
    fake = FakeVLLM([COUNT.format(n=2)])
    dspy.configure(lm=fake.lm(), adapter=Bulleted())
    with pytest.raises(lift_dspy.UnconstrainedCallError):
        asyncio.run(dspy.Predict(Count).acall(text="a b"))
    assert fake.payloads == []


@pytest.mark.parametrize("policy", ["warn", "allow"])
def test_warn_and_allow_send_the_call_unconstrained(policy: str, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeVLLM(["- count: 2"])

    class Bulleted2(Bulleted):  # a class of its own: "warn" logs once per adapter and signature
        def parse(self, signature: Any, completion: str) -> dict[str, Any]:
            return {"count": int(completion.rsplit(" ", 1)[-1])}

    dspy.configure(lm=fake.lm(on_unconstrained=policy), adapter=Bulleted2())
    with caplog.at_level(logging.WARNING, logger="lift_dspy"):
        assert dspy.Predict(Count)(text="a b").count == 2
    assert "structured_outputs" not in fake.payloads[0]
    warned = "NOT constrained" in caplog.text
    assert warned is (policy == "warn")


def test_on_unconstrained_is_checked_and_saved() -> None:
    with pytest.raises(ValueError, match="on_unconstrained"):
        lift_dspy.GuidanceLM("m", api_base="http://x.test/v1", on_unconstrained="ignore")  # type: ignore[arg-type]
    lm = lift_dspy.GuidanceLM("m", api_base="http://x.test/v1", on_unconstrained="warn")
    assert lm.dump_state()["on_unconstrained"] == "warn"
    assert lift_dspy.GuidanceLM.load_state(lm.dump_state()).config.on_unconstrained == "warn"


def test_a_plain_call_outside_any_module_stays_plain_text() -> None:
    fake = FakeVLLM(["hello"])
    lm = fake.lm()
    assert lm("say hello") == ["hello"]
    assert "structured_outputs" not in fake.payloads[0]


# -- 2. adapters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("adapter", "kind", "reply"),
    [
        (type("MyChat", (dspy.ChatAdapter,), {})(), "grammar", COUNT.format(n=4)),
        (type("MyJSON", (dspy.JSONAdapter,), {})(), "json", '{"count": 4}'),
    ],
)
def test_subclasses_that_keep_the_layout_are_constrained(adapter: Any, kind: str, reply: str) -> None:
    fake = FakeVLLM([reply])
    dspy.configure(lm=fake.lm(), adapter=adapter)
    assert dspy.Predict(Count)(text="a b c d").count == 4
    assert kind in fake.payloads[0]["structured_outputs"]


def test_subclass_with_its_own_prompt_wording_but_the_parents_layout_is_constrained() -> None:
    class Polite(dspy.ChatAdapter):
        def format_task_description(self, signature: Any) -> str:
            return "Please: " + super().format_task_description(signature)

    fake = FakeVLLM([COUNT.format(n=1)])
    dspy.configure(lm=fake.lm(), adapter=Polite())
    assert dspy.Predict(Count)(text="a").count == 1
    assert "[[ ## count ## ]]" in grammar(fake.payloads[0])


class Report(dspy.Signature):
    """Report on the text."""

    text: str = dspy.InputField()
    summary: str = dspy.OutputField()
    words: list[int] = dspy.OutputField()
    label: Literal["a<b", "ok"] = dspy.OutputField()


XML_ANSWER = (
    "<summary>\nfish &amp; chips\n</summary>\n\n<words>\n[1, 2]\n</words>\n\n<label>\na&lt;b\n</label>"
)


def test_xml_adapter_gets_its_own_grammar_and_validation() -> None:
    fake = FakeVLLM([XML_ANSWER])
    dspy.configure(lm=fake.lm(), adapter=dspy.XMLAdapter())
    result = dspy.Predict(Report)(text="t")
    assert (result.summary, result.words, result.label) == ("fish & chips", [1, 2], "a<b")
    lark = grammar(fake.payloads[0])
    assert '"<summary>\\n"' in lark
    assert "XML_TEXT" in lark
    assert '"a&lt;b"' in lark


@pytest.mark.parametrize(
    "bad",
    [
        '<summary>\nx\n</summary>\n\n<words>\n[1, "two"]\n</words>\n\n<label>\nok\n</label>',
        "<summary>\nx\n</summary>\n\n<label>\nok\n</label>",
        "<summary>\nx < y\n</summary>\n\n<words>\n[]\n</words>\n\n<label>\nok\n</label>",
    ],
)
def test_xml_answers_that_do_not_conform_are_rejected(bad: str) -> None:
    fake = FakeVLLM([bad])
    dspy.configure(lm=fake.lm(), adapter=dspy.XMLAdapter())
    with pytest.raises(lift_dspy.ConstraintViolationError):
        dspy.Predict(Report)(text="t")
    assert len(fake.payloads) == 1  # not retried through another, unconstrained, layout


def test_two_step_adapter_extraction_call_is_constrained() -> None:
    main = FakeVLLM(["There are three words."])
    extractor = FakeVLLM([COUNT.format(n=3)])
    dspy.configure(lm=main.lm(), adapter=dspy.TwoStepAdapter(extractor.lm()))
    assert dspy.Predict(Count)(text="a b c").count == 3
    assert "structured_outputs" not in main.payloads[0]  # the first step is free text by design
    assert "[[ ## count ## ]]" in grammar(extractor.payloads[0])


def test_two_step_adapter_async() -> None:
    main = FakeVLLM(["There are three words."])
    extractor = FakeVLLM([COUNT.format(n=3)])
    dspy.configure(lm=main.lm(), adapter=dspy.TwoStepAdapter(extractor.lm()))
    assert asyncio.run(dspy.Predict(Count).acall(text="a b c")).count == 3
    assert "[[ ## count ## ]]" in grammar(extractor.payloads[0])


FEEDBACK = '[[ ## discussion ## ]]\nno\n\n[[ ## advice ## ]]\n{"predict": "N/A"}\n\n[[ ## completed ## ]]'


def _refine_server(answer: str) -> FakeVLLM:
    """Answers every Refine call by its grammar: the module's, or OfferFeedback's."""

    def reply(payload: dict[str, Any]) -> str:
        lark = grammar(payload)  # KeyError -> HTTP 500: an unconstrained call fails the test
        if "advice" in lark:
            return FEEDBACK
        return answer

    return FakeVLLM([reply] * 10)


def test_refine_retries_through_its_wrapper_adapter_are_constrained() -> None:
    fake = _refine_server(COUNT.format(n=2))
    dspy.configure(lm=fake.lm())
    refine = dspy.Refine(module=dspy.Predict(Count), N=2, reward_fn=lambda args, pred: 0.0, threshold=1.0)
    assert refine(text="a b").count == 2
    hinted = [p for p in fake.payloads if "hint_" in p["messages"][0]["content"]]
    assert hinted
    assert all("[[ ## count ## ]]" in grammar(p) for p in hinted)
    assert all("structured_outputs" in p for p in fake.payloads)


def test_refine_under_the_xml_adapter_is_constrained_too() -> None:
    def reply(payload: dict[str, Any]) -> str:
        if "advice" in grammar(payload):
            return '<discussion>\nno\n</discussion>\n\n<advice>\n{"predict": "N/A"}\n</advice>'
        return "<count>\n2\n</count>"

    fake = FakeVLLM([reply] * 10)
    dspy.configure(lm=fake.lm(), adapter=dspy.XMLAdapter())
    refine = dspy.Refine(module=dspy.Predict(Count), N=2, reward_fn=lambda args, pred: 0.0, threshold=1.0)
    assert refine(text="a b").count == 2
    assert len(fake.payloads) == 3
    assert all("<" in grammar(p) for p in fake.payloads)


def test_refine_does_not_turn_violations_into_a_success() -> None:
    fake = _refine_server("junk")
    dspy.configure(lm=fake.lm())
    refine = dspy.Refine(module=dspy.Predict(Count), N=3, reward_fn=lambda args, pred: 0.0, threshold=1.0)
    with pytest.raises(lift_dspy.ConstraintViolationError):
        refine(text="a b")
    assert all("structured_outputs" in p for p in fake.payloads)


def test_refine_over_an_unconstrainable_adapter_sends_nothing() -> None:
    fake = _refine_server(COUNT.format(n=2))
    dspy.configure(lm=fake.lm(), adapter=Bulleted())
    refine = dspy.Refine(module=dspy.Predict(Count), N=3, reward_fn=lambda args, pred: 0.0, threshold=1.0)
    with pytest.raises(lift_dspy.UnconstrainedCallError):
        refine(text="a b")
    assert fake.payloads == []


# -- 3. per-call signature overrides -------------------------------------------------------------
def test_predict_override_is_constrained_by_the_rendered_signature() -> None:
    fake = FakeVLLM([LABEL])
    dspy.configure(lm=fake.lm())
    assert dspy.Predict(Count)(signature=Label, text="buy now").label == "ham"
    lark = grammar(fake.payloads[0])
    assert "[[ ## label ## ]]" in lark
    assert "count" not in lark


def test_chain_of_thought_override_is_constrained() -> None:
    fake = FakeVLLM([LABEL])
    dspy.configure(lm=fake.lm())
    assert dspy.ChainOfThought(Count)(signature=Label, text="x").label == "ham"
    lark = grammar(fake.payloads[0])
    assert "[[ ## label ## ]]" in lark
    assert "reasoning" not in lark


def test_react_step_and_extract_are_constrained_by_their_rendered_signatures() -> None:
    step = (
        "[[ ## next_thought ## ]]\ndone\n\n[[ ## next_tool_name ## ]]\nfinish\n\n"
        "[[ ## next_tool_args ## ]]\n{}"
    )
    fake = FakeVLLM(
        [
            step + "\n\n[[ ## completed ## ]]",
            LABEL.replace("[[ ## label", "[[ ## reasoning ## ]]\nok\n\n[[ ## label"),
        ]
    )
    dspy.configure(lm=fake.lm())
    react = dspy.ReAct(Label, tools=[])
    result = react(text="x")  # sanity: ReAct runs constrained
    assert result.label == "ham"
    assert "[[ ## next_tool_name ## ]]" in grammar(fake.payloads[0])
    assert "[[ ## label ## ]]" in grammar(fake.payloads[1])


def test_override_async_threads_and_parallel() -> None:
    fake = FakeVLLM([LABEL] * 8)
    dspy.configure(lm=fake.lm())
    predict = dspy.Predict(Count)
    assert asyncio.run(predict.acall(signature=Label, text="x")).label == "ham"
    results: list[str] = []
    workers = [threading.Thread(target=lambda: results.append(predict(signature=Label, text="y").label))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    parallel = dspy.Parallel(num_threads=3)
    outputs = parallel(
        [
            (predict, dspy.Example(text=str(i), signature=Label).with_inputs("text", "signature"))
            for i in range(3)
        ]
    )
    assert results == ["ham"]
    assert [o.label for o in outputs] == ["ham"] * 3
    assert len(fake.payloads) == 5
    assert all("[[ ## label ## ]]" in grammar(p) for p in fake.payloads)


def test_override_mixed_with_the_original_in_parallel_never_crosses() -> None:
    def reply(payload: dict[str, Any]) -> str:
        return LABEL if "label" in grammar(payload) else COUNT.format(n=7)

    fake = FakeVLLM([reply] * 6)
    dspy.configure(lm=fake.lm())
    predict = dspy.Predict(Count)
    jobs = []
    for i in range(6):
        inputs = {"text": str(i), **({"signature": Label} if i % 2 else {})}
        jobs.append((predict, dspy.Example(**inputs).with_inputs(*inputs)))
    outputs = dspy.Parallel(num_threads=3)(jobs)
    assert [getattr(o, "label", None) or o.count for o in outputs] == [7, "ham"] * 3


# -- 5. backend detection ------------------------------------------------------------------------
def _probe_server(status: int, message: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/version":
            return httpx.Response(200, json={"version": "0.32.0"})
        return httpx.Response(status, json={"error": {"message": message}})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (401, "Unauthorized", lift_dspy.BackendAuthError),
        (403, "Forbidden", lift_dspy.BackendAuthError),
        (429, "Too many requests", lift_dspy.BackendRateLimitError),
        (503, "Service unavailable", lift_dspy.BackendServerError),
        (500, "xgrammar cannot compile", lift_dspy.BackendServerError),
        (400, "This model's maximum context length is 8 tokens", lift_dspy.BackendError),
    ],
)
def test_detection_raises_typed_errors_and_remembers_nothing(
    status: int, message: str, error: type[Exception]
) -> None:
    forget_detected()
    with httpx.Client(transport=_probe_server(status, message)) as client, pytest.raises(error):
        detect_backend(client, "http://probe.test/v1", "m")
    assert remembered("http://probe.test/v1", "m") is None


@pytest.mark.parametrize(
    "message", ["Invalid grammar specification.", "Failed to convert the grammar from Lark to EBNF"]
)
def test_detection_downgrades_only_on_a_grammar_rejection(message: str) -> None:
    forget_detected()
    with httpx.Client(transport=_probe_server(400, message)) as client:
        assert detect_backend(client, "http://probe.test/v1", "m") == "xgrammar"
    assert remembered("http://probe.test/v1", "m") == "xgrammar"


def _xgrammar_like_server(probe_statuses: list[int]) -> tuple[httpx.MockTransport, list[str]]:
    """vLLM 0.32 with xgrammar: a bare HTTP 500 to llguidance-only Lark, JSON Schemas answered."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/version":
            return httpx.Response(200, json={"version": "0.32.0"})
        constraint = json.loads(request.content)["structured_outputs"]
        if "json" in constraint:
            seen.append("control")
            return httpx.Response(200, json={"choices": [{"message": {"content": '{"ok":true}'}}]})
        seen.append("probe")
        status = probe_statuses.pop(0)
        return httpx.Response(status, json={"error": {"message": "Internal server error"}})

    return httpx.MockTransport(handle), seen


def test_detection_downgrades_on_a_5xx_only_the_grammar_gets() -> None:
    forget_detected()
    transport, seen = _xgrammar_like_server([500, 500])
    with httpx.Client(transport=transport) as client:
        assert detect_backend(client, "http://probe.test/v1", "m") == "xgrammar"
    assert seen == ["probe", "control", "probe"]
    assert remembered("http://probe.test/v1", "m") == "xgrammar"


def test_detection_a_passing_5xx_is_a_server_error_not_a_downgrade() -> None:
    forget_detected()
    transport, _ = _xgrammar_like_server([503, 200])
    with httpx.Client(transport=transport) as client, pytest.raises(lift_dspy.BackendServerError):
        detect_backend(client, "http://probe.test/v1", "m")
    assert remembered("http://probe.test/v1", "m") is None


def test_auto_lm_with_a_refused_key_raises_and_asks_again_next_time() -> None:
    forget_detected()
    lm = lift_dspy.GuidanceLM(
        "m",
        api_base="http://probe.test/v1",
        backend="auto",
        transport=_probe_server(401, "bad key"),
        cache=False,
    )
    dspy.configure(lm=lm)
    for _ in range(2):
        with pytest.raises(lift_dspy.BackendAuthError):
            dspy.Predict(Count)(text="a")
    assert remembered("http://probe.test/v1", "m") is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, lift_dspy.BackendAuthError),
        (403, lift_dspy.BackendAuthError),
        (429, lift_dspy.BackendRateLimitError),
    ],
)
def test_call_errors_are_typed(status: int, error: type[Exception]) -> None:
    fake = FakeVLLM([httpx.Response(status, json={"error": {"message": "no"}})])
    dspy.configure(lm=fake.lm())
    with pytest.raises(error):
        dspy.Predict(Count)(text="a")


# -- 6. cache ------------------------------------------------------------------------------------
def _even(value: int) -> int:
    if value % 2:
        raise ValueError("must be even")
    return value


def test_cached_answers_are_validated_again_on_every_hit(fresh_cache: Any) -> None:
    fake = FakeVLLM([COUNT.format(n=3)])
    dspy.configure(lm=fake.lm(cache=True))
    assert dspy.Predict(Count)(text="a b c").count == 3

    class EvenCount(dspy.Signature):  # the same prompt and grammar; a stricter validator
        """Count the words."""

        text: str = dspy.InputField()
        count: Annotated[int, pydantic.AfterValidator(_even)] = dspy.OutputField()

    with pytest.raises(lift_dspy.ConstraintViolationError, match="cache"):
        dspy.Predict(EvenCount)(text="a b c")
    assert len(fake.payloads) == 1  # it was a cache hit


def test_cached_answers_are_validated_again_async(fresh_cache: Any) -> None:
    fake = FakeVLLM([COUNT.format(n=3)])
    dspy.configure(lm=fake.lm(cache=True))
    assert asyncio.run(dspy.Predict(Count).acall(text="a b c")).count == 3
    assert asyncio.run(dspy.Predict(Count).acall(text="a b c")).count == 3  # a valid hit passes
    assert len(fake.payloads) == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_fallback_answers_are_not_cached_under_the_primary(fresh_cache: Any, asynchronous: bool) -> None:
    down = {"value": True}
    primary = FakeVLLM([COUNT.format(n=3)])

    def handle(request: httpx.Request) -> httpx.Response:
        if down["value"]:
            raise httpx.ConnectError("refused")
        return primary.handle(request)

    backup = FakeVLLM([COUNT.format(n=6)])
    lm = lift_dspy.GuidanceLM(
        "m",
        api_base="http://primary.test/v1",
        transport=httpx.MockTransport(handle),
        async_transport=httpx.MockTransport(handle),
        fallback=backup.lm(cache=True),
        cache=True,
        num_retries=0,
    )
    dspy.configure(lm=lm)

    def run() -> int:
        if asynchronous:
            return int(asyncio.run(dspy.Predict(Count).acall(text="a b c")).count)
        return int(dspy.Predict(Count)(text="a b c").count)

    assert run() == 6  # the fallback answered
    down["value"] = False
    assert run() == 3  # the primary answers itself once it is back
    assert len(primary.payloads) == 1
    assert len(backup.payloads) == 1


# -- 8. CI honesty -------------------------------------------------------------------------------
def test_reliability_conftest_fails_instead_of_skipping_when_vllm_is_required(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "probe.py"
    script.write_text(
        "import importlib.util, sys\n"
        f"sys.path[:0] = [{str(root / 'tests/reliability')!r}, {str(root / 'tests')!r}]\n"
        "import _pytest.outcomes as outcomes\n"
        "import conftest\n"
        "assert set(conftest._EXTERNAL.values()) == {None}, conftest._EXTERNAL\n"
        "importlib.util.find_spec = lambda name, *a: None\n"
        "try:\n"
        "    conftest._server(None, 'tiny_server')\n"
        "except outcomes.Skipped:\n"
        "    sys.exit('skipped')\n"
        "except outcomes.Failed:\n"
        "    sys.exit(0)\n"
        "sys.exit('neither')\n",
        encoding="utf-8",
    )
    env = {
        **__import__("os").environ,
        "LIFT_DSPY_REQUIRE_VLLM": "1",
        "LIFT_DSPY_TINY_API_BASE": "http://127.0.0.1:1/v1",
    }
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_xml_free_text_is_exactly_what_dspy_reads_back_as_text() -> None:
    """XML_TEXT accepts a string iff ElementTree reads it back as the element's text (no child)."""
    import itertools
    import re
    import xml.etree.ElementTree as ET

    from lift_dspy.constraints.xml import XML_TEXT_REGEX

    pattern = re.compile(XML_TEXT_REGEX)
    pieces = ["a", "<", "&", "]", ">", "&amp;", "&lt;", "&#60;", "\x01", "\n", "</t>", "]]>"]
    for size in range(4):
        for parts in itertools.product(pieces, repeat=size):
            text = "".join(parts)
            try:
                root = ET.fromstring(f"<t>{text}</t>")
                readable = len(root) == 0
            except ET.ParseError:
                readable = False
            # Numeric character references are XML but not in the grammar (they could encode
            # characters XML forbids): the grammar is a subset there, and equal everywhere else.
            if "&#" not in text:
                assert (pattern.fullmatch(text) is not None) == readable, repr(text)
            elif pattern.fullmatch(text) is not None:
                assert readable, repr(text)


def test_xml_text_cannot_close_its_element_early() -> None:
    from lift_dspy.constraints import compile_constraint

    constraint = compile_constraint(Report, "xml")
    good = render_answer(constraint, {"summary": "x < y & z", "words": [1], "label": "a<b"})
    assert constraint.validate(good)["summary"] == "x < y & z"
    injected = good.replace("x &lt; y &amp; z", "x</summary><summary>y")
    with pytest.raises(lift_dspy.ConstraintViolationError):
        constraint.validate(injected)
    parsed = dspy.XMLAdapter().parse(Report, good)  # DSPy's own parser reads the canonical text
    assert (parsed["summary"], parsed["words"], parsed["label"]) == ("x < y & z", [1], "a<b")
