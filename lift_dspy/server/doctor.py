"""``lift-dspy doctor``: check that a server really enforces lift-dspy's constraints.

A server can answer HTTP 200 and still ignore a constraint (legacy ``guided_*`` fields, an old vLLM,
a proxy that drops ``structured_outputs``). The doctor therefore samples real answers at
temperature 1.0 and validates every one, then probes a Lark grammar that only llguidance accepts
(``%json{...}`` plus a ``[lazy]`` lexeme) to tell the guidance backend from xgrammar.

Behind vLLM's router (``vllm-router``) a probe reaches one worker only, so when the server answers
the router's ``GET /workers`` the doctor also checks each worker it lists, one row per worker: a
mixed fleet (one worker on xgrammar) fails even if the probes above happened to hit a good worker.

Example:
    >>> from lift_dspy.server.doctor import doctor
    >>> report = doctor("http://127.0.0.1:8000/v1")  # doctest: +SKIP
    >>> print(report.render()); report.exit_code  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from lift_dspy.backends import PROBE_COLORS, PROBE_LARK, PROBE_PROMPT, PROBE_SCHEMA, probe_accepts
from lift_dspy.completion import parse_completion
from lift_dspy.constraints.guidance import GrammarMatcher, grammar_from_json_schema

__all__ = ["MIN_VLLM_VERSION", "PROBE_LARK", "PROBE_SCHEMA", "Check", "DoctorReport", "doctor"]

logger = logging.getLogger(__name__)

Status = Literal["OK", "FAIL", "SKIP"]
MIN_VLLM_VERSION = (0, 12)
GUIDANCE_FIX = 'start vLLM with --structured-outputs-config \'{"backend":"guidance"}\''

_JSON_PROMPT = "Reply with a JSON object: a color (red, green or blue) and a count from 0 to 99."


@dataclass(frozen=True)
class Check:
    """One row of the report."""

    name: str
    status: Status
    detail: str


@dataclass
class DoctorReport:
    """What `doctor` found.

    Attributes:
        api_base: The server checked.
        checks: One row per check, in order.
        version: The vLLM version, if the server reported one.
        models: Served model ids and their ``max_model_len`` (None if not reported).
        backend: ``"guidance"``, ``"xgrammar-or-other"``, ``"none"`` (constraints ignored) or
            ``"unknown"`` (not determined).
        workers: Behind a router: each worker's root URL and the backend found on it
            (``"unreachable"`` if this host cannot reach it). Empty for a plain server.
    """

    api_base: str
    checks: list[Check] = field(default_factory=list)
    version: str | None = None
    models: dict[str, int | None] = field(default_factory=dict)
    backend: str = "unknown"
    workers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True if no check failed."""
        return all(check.status != "FAIL" for check in self.checks)

    @property
    def exit_code(self) -> int:
        """Process exit code for the CLI: 0 if all checks passed, 1 otherwise."""
        return 0 if self.ok else 1

    def add(self, name: str, status: Status, detail: str) -> None:
        """Append a row."""
        self.checks.append(Check(name, status, detail))

    def render(self) -> str:
        """Return the report as a small text table."""
        rows = [("check", "status", "detail"), *((c.name, c.status, c.detail) for c in self.checks)]
        width = [max(len(row[i]) for row in rows) for i in range(2)]
        lines = [f"lift-dspy doctor: {self.api_base}"]
        for name, status, detail in rows:
            lines.append(f"{name:<{width[0]}}  {status:<{width[1]}}  {detail}".rstrip())
        lines.append("result: " + ("OK" if self.ok else "FAIL"))
        return "\n".join(lines)


def doctor(
    api_base: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    samples: int = 4,
    timeout: float = 120.0,
    transport: httpx.BaseTransport | None = None,
    follow_workers: bool = True,
) -> DoctorReport:
    """Check a server at ``api_base`` and return a `DoctorReport` (never raises for server faults).

    Args:
        api_base: Base URL, e.g. ``http://127.0.0.1:8000/v1`` (``/v1`` is added if missing).
        model: Model to probe; the first served model by default.
        api_key: Sent as a bearer token; never logged.
        samples: Answers sampled per probe (one request with ``n=samples``, temperature 1.0).
        timeout: Seconds allowed per HTTP request.
        transport: An httpx transport (tests).
        follow_workers: Behind a router, also check every worker it lists.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    base = _normalize(api_base)
    report = DoctorReport(api_base=base)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(timeout=timeout, headers=headers, transport=transport) as client:
        listing = _check_reachable(client, base, report)
        if listing is None:
            for name in ("vLLM version", "model", "JSON constraint", "backend"):
                report.add(name, "SKIP", "server not reachable")
            return report
        _check_version(client, base, report)
        chosen = _check_model(listing, model, report)
        if chosen is None:
            report.add("JSON constraint", "SKIP", "no model to probe")
            report.add("backend", "SKIP", "no model to probe")
            return report
        json_ok = _check_json(client, base, chosen, samples, report)
        _check_backend(client, base, chosen, samples, json_ok, report)
        workers = _router_workers(client, base) if follow_workers else []
    for url, healthy in workers:
        sub = doctor(
            url, model=chosen, api_key=api_key, samples=samples, timeout=timeout, transport=transport,
            follow_workers=False,
        )  # fmt: skip
        _add_worker_row(report, url, healthy, sub)
    return report


def _router_workers(client: httpx.Client, base: str) -> list[tuple[str, bool | None]]:
    """The workers a vllm-router lists at ``GET /workers`` as (root URL, healthy); [] if not a router."""
    try:
        resp = client.get(f"{base.removesuffix('/v1')}/workers")
        items = resp.json().get("workers") if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return []
    out: list[tuple[str, bool | None]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            healthy = item.get("is_healthy")
            out.append((item["url"].rstrip("/"), healthy if isinstance(healthy, bool) else None))
    return out


def _add_worker_row(report: DoctorReport, url: str, healthy: bool | None, sub: DoctorReport) -> None:
    said = {True: "router: healthy", False: "router: UNHEALTHY", None: "router: health unknown"}[healthy]
    reachable = sub.checks[0].status == "OK" if sub.checks else False
    if not reachable:
        report.workers[url] = "unreachable"
        report.add(f"worker {url}", "SKIP", f"not reachable from this host ({said}); run doctor there")
        return
    report.workers[url] = sub.backend
    failed = [c for c in sub.checks if c.status == "FAIL"]
    if failed:
        report.add(f"worker {url}", "FAIL", f"{said}; {failed[0].name}: {_short(failed[0].detail, 160)}")
    else:
        report.add(f"worker {url}", "OK", f"{said}; backend {sub.backend}, constraints enforced")


def _normalize(api_base: str) -> str:
    base = api_base.strip().rstrip("/")
    if not re.match(r"^https?://", base):
        raise ValueError(f"api_base must start with http:// or https://, got {api_base!r}")
    return base if base.endswith("/v1") else base + "/v1"


def _check_reachable(client: httpx.Client, base: str, report: DoctorReport) -> dict[str, Any] | None:
    started = time.monotonic()
    try:
        resp = client.get(f"{base}/models")
    except httpx.HTTPError as exc:
        report.add("server reachable", "FAIL", f"GET {base}/models: {type(exc).__name__}: {exc}")
        return None
    if resp.status_code in (401, 403):
        report.add("server reachable", "FAIL", f"HTTP {resp.status_code}: pass the server's key (--api-key)")
        return None
    try:
        resp.raise_for_status()
        listing = resp.json()
        if not isinstance(listing, dict):
            raise TypeError("not a JSON object")
    except (httpx.HTTPStatusError, ValueError, TypeError) as exc:
        report.add("server reachable", "FAIL", f"GET {base}/models: {_short(str(exc))}")
        return None
    report.add("server reachable", "OK", f"{base} ({(time.monotonic() - started) * 1000:.0f} ms)")
    return listing


def _check_version(client: httpx.Client, base: str, report: DoctorReport) -> None:
    root = base.removesuffix("/v1")
    try:
        resp = client.get(f"{root}/version")
        version = str(resp.json()["version"]) if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        version = None
    if version is None:
        report.add("vLLM version", "FAIL", f"no version at {root}/version: not vLLM, or behind a proxy")
        return
    report.version = version
    match = re.match(r"(\d+)\.(\d+)", version)
    if match and (int(match[1]), int(match[2])) >= MIN_VLLM_VERSION:
        report.add("vLLM version", "OK", version)
    else:
        need = ".".join(map(str, MIN_VLLM_VERSION))
        report.add("vLLM version", "FAIL", f"{version}: structured_outputs needs vLLM >= {need}; upgrade")


def _check_model(listing: dict[str, Any], model: str | None, report: DoctorReport) -> str | None:
    for item in listing.get("data") or []:
        if isinstance(item, dict) and "id" in item:
            limit = item.get("max_model_len")
            report.models[str(item["id"])] = int(limit) if isinstance(limit, int) else None
    if not report.models:
        report.add("model", "FAIL", "the server lists no models")
        return None
    if model is not None and model not in report.models:
        report.add("model", "FAIL", f"{model!r} not served; available: {', '.join(report.models)}")
        return None
    chosen = model or next(iter(report.models))
    others = [m for m in report.models if m != chosen]
    limit = report.models[chosen]
    detail = f"{chosen} (max_model_len {limit if limit is not None else 'unknown'})"
    report.add("model", "OK", detail + (f"; also serves {', '.join(others)}" if others else ""))
    return chosen


def _chat(
    client: httpx.Client, base: str, model: str, prompt: str, constraint: dict[str, Any], samples: int
) -> tuple[list[tuple[str, str | None]] | None, str]:
    """POST one sampled chat request; return ([(text, finish_reason)], "") or (None, error)."""
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "n": samples,
        "temperature": 1.0,
        "max_tokens": 96,
        "structured_outputs": constraint,
    }
    try:
        resp = client.post(f"{base}/chat/completions", json=payload)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if resp.status_code != 200:
        return None, f"HTTP {resp.status_code}: {_short(resp.text)}"
    try:
        answers = [(choice.text, choice.finish_reason) for choice in parse_completion(resp.content).choices]
    except ValueError as exc:
        return None, f"malformed chat completion ({type(exc.__cause__ or exc).__name__}): {_short(resp.text)}"
    if not answers:
        return None, "the server returned no choices"
    return answers, ""


def _check_json(client: httpx.Client, base: str, model: str, samples: int, report: DoctorReport) -> bool:
    answers, error = _chat(client, base, model, _JSON_PROMPT, {"json": PROBE_SCHEMA}, samples)
    if answers is None:
        report.add("JSON constraint", "FAIL", f"structured_outputs json request failed: {error}")
        return False
    problems = [(text, why) for text, finish in answers if (why := _json_problem(text, finish))]
    if problems:
        text, why = problems[0]
        report.add(
            "JSON constraint",
            "FAIL",
            f"constraints NOT enforced: {len(problems)}/{len(answers)} answers invalid, "
            f"e.g. {_short(text, 60)!r} ({why})",
        )
        report.backend = "none"
        return False
    detail = f"{len(answers)}/{len(answers)} sampled answers conform"
    cut = sum(finish == "length" for _, finish in answers)
    if cut:
        # Valid prefixes padded with whitespace: the backend ignored the schema's x-guidance setting.
        detail += (
            f"; {cut} cut off at max_tokens inside valid JSON: this backend ignores compact whitespace "
            '(x-guidance), set "disable_any_whitespace": true in --structured-outputs-config'
        )
    report.add("JSON constraint", "OK", detail)
    return True


def _json_problem(text: str, finish_reason: str | None) -> str | None:
    """Return why ``text`` does not satisfy `PROBE_SCHEMA`, or None if it does."""
    if finish_reason == "length":
        return None if _FLEXIBLE_JSON.accepts(text, complete=False) else "cut off, not a valid prefix"
    try:
        value = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(value, dict) or set(value) != {"color", "count"}:
        return "wrong keys"
    if value["color"] not in PROBE_COLORS:
        return "color outside the enum"
    count = value["count"]
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 99:
        return "count not an integer in 0..99"
    return None


def _check_backend(
    client: httpx.Client, base: str, model: str, samples: int, json_ok: bool, report: DoctorReport
) -> None:
    answers, error = _chat(client, base, model, PROBE_PROMPT, {"grammar": PROBE_LARK}, samples)
    if answers is None:
        if error.startswith("HTTP ") and json_ok:
            # The grammar is valid for llguidance (checked locally), so an error status means another
            # backend: vLLM's xgrammar answers 400 or, when compilation fails in the engine, 500.
            report.backend = "xgrammar-or-other"
            report.add(
                "backend",
                "FAIL",
                f"xgrammar or other, not guidance: llguidance-only Lark refused ({_short(error, 60)}); "
                f"lift-dspy's chat grammars need llguidance: {GUIDANCE_FIX}",
            )
        else:
            report.add("backend", "FAIL", f"Lark grammar request failed: {error}")
        return
    bad = [text for text, finish in answers if finish == "length" or not _lark_accepts(text)]
    if bad:
        report.backend = "none"
        report.add(
            "backend",
            "FAIL",
            f"grammar NOT enforced: {len(bad)}/{len(answers)} answers do not match, "
            f"e.g. {_short(bad[0], 60)!r}",
        )
        return
    if json_ok:
        report.backend = "guidance"
    report.add("backend", "OK", f"guidance (llguidance Lark with %json and [lazy]: {len(answers)} conform)")


def _lark_accepts(text: str) -> bool:
    """True if llguidance's own matcher accepts ``text`` as a complete `PROBE_LARK` sentence."""
    return probe_accepts(text)


# The probe schema with any whitespace allowed: what a backend that ignores x-guidance enforces.
_FLEXIBLE_JSON = GrammarMatcher(
    grammar_from_json_schema({**PROBE_SCHEMA, "x-guidance": {"whitespace_flexible": True}})
)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
