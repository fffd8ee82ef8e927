"""The benchmark suite: which tasks run, and one (config, task, sample) turned into a journal record.

The suite is every IR-to-code task of :mod:`lift_dspy.programs.tasks` (each through
:class:`~lift_dspy.programs.IRToCode`: request -> IR -> implementation -> real compiler -> repairs)
and every agent task (intent, plan, tool call). ``--quick`` keeps the first code task of each
language and the first agent task of each kind.

A sample record says::

    structural_ok   every answer of the sample parsed and validated against its output type
    compile_ok      code only: the last implementation compiled (None: no implementation)
    task_ok         the task's own checker passed (arity, intent, resolved tool call, ...)
    repairs         repair rounds used; seconds (wall, whole pipeline), lm_seconds, compile_seconds
    code_form       code only: grammar-code or json-parts; attempts: each compile's verdict,
                    "ok", "syntax" (the compiler could not parse it), "other" or "timeout"
    temperature     the sampling temperature of this sample (greedy samples: 0)
    output_tokens   completion tokens of every LM call; error / call_errors by exception type
    unexpected      the sample ended on an exception that is not an LM, parse or validation
                    error (a harness or program bug; ``lift-dspy bench`` then exits 1)
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from typing import Any

from dspy.utils.exceptions import AdapterParseError, LMError
from pydantic import ValidationError

from lift_dspy.bench.configs import ConfigName, Endpoint, Session, Settings
from lift_dspy.programs.compile_errors import classify, syntax_errors
from lift_dspy.programs.tasks import AGENT_TASKS, CODE_TASKS, AgentTask, CodeTask

__all__ = ["Task", "all_tasks", "error_type", "family", "run_sample", "select_tasks"]

Task = CodeTask | AgentTask
_MEASURED = (LMError, AdapterParseError, ValidationError)
_FAILED = re.compile(r"failed: ([A-Za-z_][\w.]*):")


def all_tasks() -> tuple[Task, ...]:
    """Every task: the code tasks (stable order), then the agent tasks."""
    return (*CODE_TASKS, *AGENT_TASKS)


def family(task: Task) -> str:
    """The reporting family: the language of a code task, ``"agent"`` for an agent task."""
    return task.language if isinstance(task, CodeTask) else "agent"


def select_tasks(*, quick: bool = False, pattern: str | None = None) -> tuple[Task, ...]:
    """The tasks of a run.

    Args:
        quick: Keep the first code task of each language and the first agent task of each kind.
        pattern: Comma-separated shell patterns on task ids (``"rust/*,intent/*"``).

    Raises:
        ValueError: The pattern matches no task.
    """
    tasks = all_tasks()
    if quick:
        seen: set[str] = set()
        kept: list[Task] = []
        for task in tasks:
            group = task.language if isinstance(task, CodeTask) else task.kind
            if group not in seen:
                seen.add(group)
                kept.append(task)
        tasks = tuple(kept)
    if pattern:
        patterns = [p.strip() for p in pattern.split(",") if p.strip()]
        tasks = tuple(t for t in tasks if any(fnmatch.fnmatchcase(t.id, p) for p in patterns))
        if not tasks:
            ids = ", ".join(t.id for t in all_tasks())
            raise ValueError(f"--tasks {pattern!r} matches no task; task ids are: {ids}")
    return tasks


def error_type(text: str | None) -> str | None:
    """The exception class named in an IRToCode error (``"repair 1 failed: X: ..."`` -> ``"X"``)."""
    if not text:
        return None
    match = _FAILED.search(text)
    return match.group(1) if match else "Error"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_sample(
    config: ConfigName, task: Task, sample: int, endpoint: Endpoint, settings: Settings
) -> dict[str, Any]:
    """Run one task once through one configuration and return its journal record (never raises)."""
    session = Session(config, endpoint, settings)
    record: dict[str, Any] = {
        "kind": "sample",
        "config": config,
        "task": task.id,
        "sample": sample,
        "family": family(task),
        "group": "code" if isinstance(task, CodeTask) else "agent",
        "structural_ok": False,
        "compile_ok": None,
        "task_ok": False,
        "repairs": 0,
        "compile_seconds": 0.0,
        "error": None,
        "error_message": None,
        "detail": "",
        "temperature": settings.temperature,
    }
    if isinstance(task, CodeTask):
        # Set before the run: a sample that fails before any code (e.g. at the IR step) still
        # counts against its code form.
        record["code_form"] = session.code_form
    started = time.perf_counter()
    try:
        if isinstance(task, CodeTask):
            _code(record, session, task)
        else:
            _agent(record, session, task)
    except Exception as exc:  # one sample's failure is a result, not the end of the run
        record["error"] = type(exc).__name__
        record["error_message"] = _short(str(exc))
        record["detail"] = f"{type(exc).__name__} before an answer was produced"
        # An LM, parse or validation failure is what the benchmark measures; anything else is a
        # bug in the harness or the program, which a CI smoke run must not pass over.
        record["unexpected"] = not isinstance(exc, _MEASURED)
    record["seconds"] = time.perf_counter() - started
    session.finish()
    record.update(session.log.totals())
    record["finished"] = time.time()
    # Other work on the machine slows every configuration alike; the report shows how much there was.
    record["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return record


def _code(record: dict[str, Any], session: Session, task: CodeTask) -> None:
    prediction = session.code(task)
    result = prediction.results[task.language]
    record["structural_ok"] = result.error is None and result.implementation is not None
    record["compile_ok"] = result.ok if result.implementation is not None else None
    record["repairs"] = result.repairs
    record["compile_seconds"] = sum(a.seconds for a in result.attempts)
    record["tool"] = result.tool
    record["attempts"] = [classify(task.language, a.diagnostics, ok=a.ok) for a in result.attempts]
    # What reached the compiler unparsable: the evidence behind a non-zero syntax count.
    record["syntax_errors"] = [
        {"diagnostics": syntax_errors(task.language, a.diagnostics)[:3], "source": a.source[:2000]}
        for a in result.attempts
        if not a.ok and syntax_errors(task.language, a.diagnostics)
    ]
    if result.error:
        record["error"] = error_type(result.error)
        record["error_message"] = _short(result.error)
    verdict = task.check(prediction)
    record["task_ok"] = verdict.ok
    record["detail"] = _short(verdict.detail)


def _agent(record: dict[str, Any], session: Session, task: AgentTask) -> None:
    prediction = session.agent(task)
    record["structural_ok"] = True
    try:
        verdict = task.check(prediction)
    except Exception as exc:  # a checker tripping over a parsed-but-odd answer is a task failure
        record["detail"] = _short(f"checker raised {type(exc).__name__}: {exc}")
        return
    record["task_ok"] = verdict.ok
    record["detail"] = _short(verdict.detail)
