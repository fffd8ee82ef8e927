"""``doctor``: fake servers for every verdict, then the real guidance and xgrammar tiny servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import llguidance
import pytest
from fake_vllm import GOOD_JSON, GOOD_LARK, Behaviour, FakeServer

from lift_dspy.cli import main
from lift_dspy.server.doctor import PROBE_LARK, PROBE_SCHEMA, _json_problem, _lark_accepts, doctor
from lift_dspy.server.process import Server

BASE = "http://vllm.test:8000/v1"


def fake_transport(
    *,
    version: str = "0.32.0",
    json_answer: str = GOOD_JSON,
    json_finish: str = "stop",
    lark: Callable[[], httpx.Response] | None = None,
    seen: list[httpx.Request] | None = None,
) -> httpx.MockTransport:
    """An OpenAI-style vLLM that answers the doctor's probes; anything else is a 404."""

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        path = request.url.path
        if request.method == "GET" and path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "m1", "max_model_len": 2048}, {"id": "m2"}]})
        if request.method == "GET" and path == "/version":
            return httpx.Response(200, json={"version": version})
        if request.method == "POST" and path == "/v1/chat/completions":
            body = json.loads(request.content)
            finish = "stop"
            if "grammar" in body["structured_outputs"]:
                if lark is not None:
                    return lark()
                text = GOOD_LARK
            else:
                text, finish = json_answer, json_finish
            choice = {"message": {"content": text}, "finish_reason": finish}
            return httpx.Response(200, json={"choices": [choice] * body["n"]})
        return httpx.Response(404, json={"error": f"unexpected {request.method} {path}"})

    return httpx.MockTransport(handle)


def statuses(report: Any) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def test_probe_constraints_are_valid_llguidance_grammars() -> None:
    for grammar in (
        llguidance.LLMatcher.grammar_from_json_schema(PROBE_SCHEMA),
        llguidance.LLMatcher.grammar_from_lark(PROBE_LARK),
    ):
        is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
        assert not is_error, messages
    assert _lark_accepts(GOOD_LARK)
    assert not _lark_accepts('color={"color": "red", "count": 42}\nnote: spaced json.')
    assert not _lark_accepts(GOOD_LARK + " trailing")
    assert _json_problem(GOOD_JSON, "stop") is None
    assert _json_problem('{ "color" :  "red",', "length") is None  # a valid prefix, cut off
    assert _json_problem('{"colour"', "length") == "cut off, not a valid prefix"
    assert _json_problem('{"color":"red","count":true}', "stop") == "count not an integer in 0..99"
    assert _json_problem('{"color":"red","count":1,"x":1}', "stop") == "wrong keys"


def test_guidance_server_passes() -> None:
    seen: list[httpx.Request] = []
    report = doctor(BASE, api_key="sk-secret", transport=fake_transport(seen=seen))
    assert report.ok, report.render()
    assert report.exit_code == 0
    assert report.backend == "guidance"
    assert report.version == "0.32.0"
    assert report.models == {"m1": 2048, "m2": None}
    assert statuses(report) == dict.fromkeys(
        ["server reachable", "vLLM version", "model", "JSON constraint", "backend"], "OK"
    )
    posts = [json.loads(r.content) for r in seen if r.method == "POST"]
    assert [p["model"] for p in posts] == ["m1", "m1"]
    assert posts[0]["structured_outputs"] == {"json": PROBE_SCHEMA}
    assert posts[1]["structured_outputs"] == {"grammar": PROBE_LARK}
    assert all(p["temperature"] == 1.0 and p["n"] == 4 for p in posts)
    assert not any(key.startswith("guided") for p in posts for key in p)
    assert all(r.headers["authorization"] == "Bearer sk-secret" for r in seen)
    assert "sk-secret" not in report.render()


def test_ignored_constraints_are_reported_not_enforced() -> None:
    report = doctor(BASE, transport=fake_transport(json_answer='Sure! {"color": "purple", "count": 1000}'))
    assert report.exit_code == 1
    assert report.backend == "none"
    row = next(c for c in report.checks if c.name == "JSON constraint")
    assert row.status == "FAIL"
    assert "constraints NOT enforced: 4/4 answers invalid" in row.detail


def test_whitespace_padded_but_valid_prefixes_count_as_enforced() -> None:
    report = doctor(
        BASE, transport=fake_transport(json_answer='{ "color" : "red" ,   ', json_finish="length")
    )
    row = next(c for c in report.checks if c.name == "JSON constraint")
    assert row.status == "OK"
    assert "disable_any_whitespace" in row.detail
    bad = doctor(BASE, transport=fake_transport(json_answer='{"colour": 1', json_finish="length"))
    assert "NOT enforced" in bad.render()


@pytest.mark.parametrize("status", [400, 500])
def test_lark_rejected_means_xgrammar_or_other(status: int) -> None:
    def reject() -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "Grammar error: unknown %json"}})

    report = doctor(BASE, transport=fake_transport(lark=reject))
    assert report.backend == "xgrammar-or-other"
    assert statuses(report)["JSON constraint"] == "OK"
    backend_row = report.checks[-1]
    assert backend_row.status == "FAIL"
    assert "not guidance" in backend_row.detail
    assert '{"backend":"guidance"}' in backend_row.detail
    assert report.exit_code == 1


def test_old_vllm_and_missing_model_fail() -> None:
    report = doctor(BASE, model="nope", transport=fake_transport(version="0.8.5"))
    rows = statuses(report)
    assert rows["vLLM version"] == "FAIL"
    assert rows["model"] == "FAIL"
    assert rows["JSON constraint"] == "SKIP"
    assert "available: m1, m2" in report.render()


def test_unreachable_server_fails_and_skips_the_rest() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    report = doctor("http://127.0.0.1:9", transport=httpx.MockTransport(refuse))
    assert report.api_base == "http://127.0.0.1:9/v1"
    assert statuses(report) == {
        "server reachable": "FAIL",
        "vLLM version": "SKIP",
        "model": "SKIP",
        "JSON constraint": "SKIP",
        "backend": "SKIP",
    }
    assert report.exit_code == 1
    assert "result: FAIL" in report.render()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="http"):
        doctor("localhost:8000")
    with pytest.raises(ValueError, match="samples"):
        doctor(BASE, samples=0)


def test_cli_against_a_real_http_server_that_ignores_constraints(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(Behaviour(mode="ignore")) as fake:
        code = main(["doctor", "--api-base", fake.api_base, "--samples", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert "constraints NOT enforced" in out
    assert "result: FAIL" in out
    assert all(r["n"] == 3 for r in fake.behaviour.requests)


def test_cli_against_a_conforming_http_server(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(Behaviour(mode="obey")) as fake:
        code = main(["doctor", "--api-base", fake.api_base.removesuffix("/v1")])
    assert code == 0, capsys.readouterr().out


@pytest.mark.vllm
def test_real_tiny_guidance_server(tiny_server: Server) -> None:
    report = doctor(tiny_server.api_base)
    print(report.render())
    assert report.ok, report.render()
    assert report.backend == "guidance"
    assert report.models == {"tiny": 2048}


@pytest.mark.vllm
def test_real_tiny_xgrammar_server(xgrammar_tiny_server: Server) -> None:
    report = doctor(xgrammar_tiny_server.api_base, model="tiny")
    print(report.render())
    assert report.backend == "xgrammar-or-other"
    assert statuses(report)["JSON constraint"] == "OK"
    assert report.exit_code == 1
