"""Per-call cost of the lift-dspy layer: the whole ``dspy.Predict`` call, DSPy's own costs cancelled.

Measured side by side in one run against one server (interleaved, the order alternating per pair):

* ``lift``: ``dspy.Predict(SpecToIR)(...)`` through ``GuidanceLM`` (constraint lookup, payload,
  validation, DSPy's adapter, callbacks and history around it);
* ``forward``: the same ``dspy.Predict`` call through ``dspy.LM(engine=ForwardEngine)``, a minimal
  engine that POSTs the identical payload GuidanceLM sent (captured on the wire) and wraps the
  answer in a Response with no check: everything DSPy does is the same on both sides, so the
  difference is lift-dspy's own cost;
* ``raw``: ``httpx.post`` of that payload (the floor).

Also the micro-costs inside the lift call: warm constraint lookup, GuidanceLM call preparation,
request build, parse + validate. Prints p50/p95 per side, the median of per-pair ratios
lift/forward with a bootstrap 95% interval, and writes a JSON summary with provenance.

Usage:
    python benchmarks/overhead.py [--calls 60] [--summary benchmarks/results/overhead.json]
    python benchmarks/overhead.py --api-base URL --model NAME
Targets: warm lookup p50 <= 100 us; end to end <= 1.05x.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dspy
import httpx
from dspy.lm15 import Config, Message, Request, Response, Usage

import lift_dspy
from lift_dspy.bench.stats import load_average, paired_median_ratio, percentile, provenance
from lift_dspy.engine import EngineConfig, GuidanceEngine, active_constraint
from lift_dspy.request import build_payload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zoo import INPUTS, SpecToIR


class ForwardEngine:
    """A minimal dspy.LM engine: POST a fixed payload, return the answer text unchecked."""

    supports_response_schema = False
    supports_function_calling = False
    supports_reasoning = False
    supported_params = frozenset({"temperature", "max_tokens"})

    def __init__(self, url: str, payload: dict[str, Any]) -> None:
        self.url = url
        self.payload = payload
        self.client = httpx.Client(timeout=600)

    def complete(self, request: Request) -> Response:
        """Send the captured payload (identical to GuidanceLM's); wrap the answer."""
        data = self.client.post(self.url, json=self.payload).json()
        usage = data.get("usage") or {}
        return Response(
            id=data.get("id"),
            model=data.get("model") or self.payload["model"],
            message=Message.assistant(data["choices"][0]["message"]["content"] or ""),
            finish_reason="stop",
            usage=Usage(
                input_tokens=usage.get("prompt_tokens"),
                output_tokens=usage.get("completion_tokens"),
                total_tokens=usage.get("total_tokens"),
            ),
        )


class _Capture(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.payloads: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.payloads.append(json.loads(request.content))
        return self.inner.handle_request(request)


def _p(samples: list[float]) -> dict[str, float]:
    return {
        "p50_us": round((percentile(samples, 50) or 0) * 1e6, 1),
        "p95_us": round((percentile(samples, 95) or 0) * 1e6, 1),
    }


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.api_base:
        yield args.api_base, args.model
        return
    from lift_dspy.server.process import serve

    with serve(args.model or "tiny") as server:
        yield server.api_base, server.model


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api-base")
    parser.add_argument("--model")
    parser.add_argument("--calls", type=int, default=60, help="interleaved end-to-end pairs")
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--summary", default="benchmarks/results/overhead.json")
    args = parser.parse_args()

    signature = SpecToIR
    inputs = INPUTS["SpecToIR"]
    formatted = dspy.ChatAdapter().format(signature, [], inputs)
    before = provenance()
    loads = [load_average()]
    with _server(args) as (api_base, model):
        common: dict[str, Any] = {"temperature": 0.0, "max_tokens": args.max_tokens, "cache": False}
        capture = _Capture()
        lm = lift_dspy.GuidanceLM(model, api_base=api_base, max_text_chars=60, transport=capture, **common)
        predict = dspy.Predict(signature)
        with dspy.context(lm=lm):
            predict(**inputs)  # warm: compiles the constraint once, captures the payload
        payload = capture.payloads[-1]
        url = f"{api_base.rstrip('/')}/chat/completions"
        forward_lm = dspy.LM(model, engine=ForwardEngine(url, payload), **common)

        # micro-costs inside the lift call
        request = Request(
            model=model,
            system=formatted[0]["content"],
            messages=(Message.user(formatted[1]["content"]),),
            config=Config(max_tokens=args.max_tokens, temperature=0.0),
        )
        engine = GuidanceEngine(
            EngineConfig(api_base=api_base, options=lift_dspy.constraints.schema.Options(max_text_chars=60))
        )
        with dspy.context(caller_modules=[predict]):
            options = engine.config.options
            constraint = active_constraint(request, options)
            assert constraint is not None
            lookup = _time(lambda: active_constraint(request, options), 2000)

            def prepare() -> None:
                _, scope = lm._enter(None, formatted, {}, lambda _model: "guidance")
                assert scope is not None
                with scope:
                    pass

            prepare()
            preparing = _time(prepare, 2000)
            build = _time(
                lambda: build_payload(request, model=model, structured_outputs=constraint.structured_outputs),
                2000,
            )
        client = httpx.Client(timeout=600)
        text = client.post(url, json=payload).json()["choices"][0]["message"]["content"]
        validate = _time(lambda: constraint.validate(text), 500)

        def through(which: Any) -> Callable[[], Any]:
            def call() -> Any:
                with dspy.context(lm=which):
                    return predict(**inputs)

            return call

        sides: dict[str, Callable[[], Any]] = {
            "lift": through(lm),
            "forward": through(forward_lm),
            "raw": lambda: client.post(url, json=payload).raise_for_status(),
        }
        for fn in sides.values():
            fn()  # warm connections
        times: dict[str, list[float]] = {name: [] for name in sides}
        order = list(sides)
        for i in range(args.calls):
            for name in order if i % 2 == 0 else reversed(order):
                start = time.perf_counter()
                sides[name]()
                times[name].append(time.perf_counter() - start)
            if i % 10 == 9:
                loads.append(load_average())
    loads.append(load_average())
    pair = paired_median_ratio([a / b for a, b in zip(times["lift"], times["forward"], strict=True)])
    over_raw = paired_median_ratio([a / b for a, b in zip(times["forward"], times["raw"], strict=True)])
    result = {
        "benchmark": "overhead",
        "command": "python benchmarks/overhead.py " + " ".join(sys.argv[1:]),
        "provenance": before,
        "load_average_during": {
            "first": loads[0],
            "last": loads[-1],
            "max_1min": max(x[0] for x in loads if x),
        },
        "settings": {
            "model": model,
            "signature": "SpecToIR",
            "calls": args.calls,
            "max_tokens": args.max_tokens,
        },
        "micro": {
            "warm_constraint_lookup": _p(lookup),
            "guidancelm_call_preparation": _p(preparing),
            "request_build": _p(build),
            "parse_validate": _p(validate),
        },
        "end_to_end_ms": {
            name: {
                "p50": round((percentile(t, 50) or 0) * 1e3, 2),
                "p95": round((percentile(t, 95) or 0) * 1e3, 2),
            }
            for name, t in times.items()
        },
        "lift_over_forward_median_pair_ratio": pair,
        "forward_over_raw_median_pair_ratio": over_raw,
        "lift_minus_forward_p50_ms": round(
            ((percentile(times["lift"], 50) or 0) - (percentile(times["forward"], 50) or 0)) * 1e3, 2
        ),
    }
    Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
    Path(args.summary).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "provenance"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
