"""The ``lift-dspy`` command line (also ``python -m lift_dspy``).

Subcommands::

    lift-dspy serve --model smollm2 [--backend guidance|xgrammar] [--port N] [--replicas N
                    [--router-policy cache_aware|round_robin|...]] [--no-progress] [-- VLLM_ARGS...]
    lift-dspy models prepare NAME [--force] | models list
    lift-dspy doctor [--api-base URL] [--model NAME] [--api-key KEY]

Adding a subcommand is a one-function change: write ``add_parser(subparsers)`` that creates its
parser and sets ``handler`` (``(argparse.Namespace) -> int`` exit code) with ``set_defaults``, then
list it in `SUBCOMMANDS`. Keep heavy imports inside the handler so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

Subparsers = Any  # argparse._SubParsersAction[argparse.ArgumentParser] (a private type)

logger = logging.getLogger(__name__)


def add_serve_parser(subparsers: Subparsers) -> None:
    """Register ``lift-dspy serve``."""
    p = subparsers.add_parser(
        "serve",
        help="run a local vLLM server until Ctrl-C",
        description="Start vLLM on 127.0.0.1 with a structured-output backend and print its api_base. "
        "Arguments after `--` go to vLLM unchanged.",
    )
    p.add_argument("--model", default="smollm2", help="smollm2, tiny, a model directory or a hub id")
    p.add_argument("--backend", default="guidance", choices=("guidance", "xgrammar"))
    p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--max-model-len", type=int, default=2048)
    p.add_argument("--log", default=None, help="server log file (default: in the lift-dspy cache)")
    p.add_argument("--startup-timeout", type=float, default=600.0, help="seconds (default: 600)")
    p.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="run N vLLM workers behind vllm-router on one port (needs lift-dspy[scale]; default: 1)",
    )
    p.add_argument(
        "--router-policy",
        default="cache_aware",
        choices=("cache_aware", "round_robin", "power_of_two", "consistent_hash", "random"),
        help="how the router picks a worker (default: cache_aware: same prompt prefix, same worker)",
    )
    p.add_argument("--no-progress", action="store_true", help="no start-up progress on stderr")
    p.add_argument("vllm_args", nargs=argparse.REMAINDER, help="-- then extra vLLM arguments")
    p.set_defaults(handler=_run_serve)


def add_models_parser(subparsers: Subparsers) -> None:
    """Register ``lift-dspy models``."""
    p = subparsers.add_parser("models", help="prepare or list the built-in models")
    sub = p.add_subparsers(dest="models_command", metavar="{prepare,list}", required=True)
    prep = sub.add_parser("prepare", help="build a built-in model into the cache (smollm2, tiny)")
    prep.add_argument("name", help="smollm2 or tiny")
    prep.add_argument("--force", action="store_true", help="rebuild even if cached")
    prep.set_defaults(handler=_run_models_prepare)
    sub.add_parser("list", help="show the built-in models and whether they are cached").set_defaults(
        handler=_run_models_list
    )


def add_doctor_parser(subparsers: Subparsers) -> None:
    """Register ``lift-dspy doctor``."""
    p = subparsers.add_parser(
        "doctor",
        help="check that a server enforces constraints with llguidance",
        description="Probe a server: reachable, vLLM version, model, JSON constraints enforced, "
        "guidance backend in force. Exits non-zero if any check fails.",
    )
    p.add_argument("--api-base", default=None, help="server URL (default: $LIFT_DSPY_API_BASE)")
    p.add_argument("--model", default=None, help="model to probe (default: the first served)")
    p.add_argument("--api-key", default=None, help="bearer token (default: $LIFT_DSPY_API_KEY)")
    p.add_argument("--samples", type=int, default=4, help="answers sampled per probe (default: 4)")
    p.set_defaults(handler=_run_doctor)


# The subcommands, in --help order, as "module:function" (imported when the parser is built).
SUBCOMMANDS: tuple[str, ...] = (
    "lift_dspy.cli:add_serve_parser",
    "lift_dspy.cli:add_models_parser",
    "lift_dspy.cli:add_doctor_parser",
    "lift_dspy.bench.cli:add_parser",
    "lift_dspy.cli:add_schemas_parser",
)


def add_schemas_parser(subparsers: Subparsers) -> None:
    """Register ``lift-dspy schemas check|regenerate``."""
    p = subparsers.add_parser(
        "schemas",
        help="regenerate the Pydantic models of schemas/, or check them for drift",
        description="The committed Pydantic models under schemas/models are generated from schemas/json "
        "with datamodel-code-generator; `check` exits 1 and lists the files that drifted.",
    )
    p.add_argument("action", choices=("check", "regenerate"))
    p.set_defaults(handler=_run_schemas)


def _run_schemas(args: argparse.Namespace) -> int:
    from lift_dspy.schemas.regenerate import main as regenerate

    return regenerate(["--check"] if args.action == "check" else [])


def build_parser() -> argparse.ArgumentParser:
    """Return the ``lift-dspy`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="lift-dspy", description="Grammar-constrained DSPy programs on vLLM's llguidance backend."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ref in SUBCOMMANDS:
        module, _, func = ref.partition(":")
        adder: Callable[[Subparsers], None] = getattr(importlib.import_module(module), func)
        adder(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    _configure_logging(args)
    from lift_dspy.errors import LiftDSPyError

    try:
        return int(handler(args))
    except LiftDSPyError as exc:
        print(f"lift-dspy: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"lift-dspy: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger("lift_dspy")
    package.addHandler(handler)
    package.setLevel(level)


def _run_serve(args: argparse.Namespace) -> int:
    from lift_dspy.server.process import start_server
    from lift_dspy.server.replicas import start_replicas

    extra = list(args.vllm_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    if args.replicas < 1:
        raise ValueError(f"--replicas must be >= 1, got {args.replicas}")
    previous = _sigterm_as_interrupt()
    options: dict[str, Any] = dict(
        backend=args.backend,
        port=args.port,
        startup_timeout=args.startup_timeout,
        extra_args=extra,
        max_model_len=args.max_model_len,
        progress=False if args.no_progress else None,
    )
    managed: Any
    try:
        if args.replicas > 1:
            options.update(replicas=args.replicas, router_policy=args.router_policy, log_dir=args.log)
            managed = start_replicas(args.model, **options)
        else:
            managed = start_server(args.model, log_path=args.log, **options)
    except KeyboardInterrupt:
        _restore_sigterm(previous)
        print("Interrupted during start-up; everything started was stopped.", file=sys.stderr)
        return 130
    try:
        server = managed.server
        print(f"vLLM serves {server.model!r} at {server.api_base} (backend {server.backend})", flush=True)
        print(f"  export LIFT_DSPY_API_BASE={server.api_base} LIFT_DSPY_MODEL={server.model}", flush=True)
        if server.router is not None:
            router = server.router
            print(f"  router: vllm-router pid {router.pid}, policy {router.policy}, log {router.log_path}")
            for index, worker in enumerate(server.workers):
                print(f"  worker {index}: {worker.api_base} pid {worker.pid}, log {worker.log_path}")
        else:
            print(f"  log: {server.log_path}")
        print("Press Ctrl-C to stop.", flush=True)
        reported: set[int] = set()
        while managed.running:
            for dead in getattr(managed, "dead_workers", list)():
                if dead.pid not in reported:
                    reported.add(dead.pid)
                    print(
                        f"lift-dspy: warning: worker {dead.api_base} (pid {dead.pid}) exited; the router "
                        f"routes around it. Log: {dead.log_path}",
                        file=sys.stderr,
                        flush=True,
                    )
            time.sleep(0.5)
        print(
            f"lift-dspy: error: {'vllm-router or every worker' if server.router else 'vLLM'} exited "
            f"with code {managed.returncode}. Log ends with:\n"
            f"{managed.log_tail()}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("Stopping vLLM...", file=sys.stderr, flush=True)
        return 0
    finally:
        managed.stop()
        _restore_sigterm(previous)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _sigterm_as_interrupt() -> Any:
    """Make SIGTERM stop `serve` like Ctrl-C does, so the server is always cleaned up."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        # A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored:
        # restore Ctrl-C explicitly so `serve` always stops (and stops vLLM) on SIGINT too.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread (e.g. main() called from a test thread)
        return None


def _run_models_prepare(args: argparse.Namespace) -> int:
    from lift_dspy.server.models import BUILTIN_MODELS, prepare_model

    if args.name not in BUILTIN_MODELS:
        print(
            f"lift-dspy: error: {args.name!r} is not a built-in model ({', '.join(BUILTIN_MODELS)}). "
            "Hub models are downloaded by vLLM itself at `lift-dspy serve --model ID`.",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    path = prepare_model(args.name, force=args.force)
    size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    print(f"{args.name}: {path} ({size / 1e6:.1f} MB, {time.monotonic() - started:.1f} s)")
    return 0


def _run_models_list(args: argparse.Namespace) -> int:
    from lift_dspy.server.models import BUILTIN_MODELS, is_prepared, model_dir

    for name in BUILTIN_MODELS:
        state = "ready" if is_prepared(name) else "not built (built on first use)"
        print(f"{name:<8} {state:<32} {model_dir(name)}")
    return 0


def _run_doctor(args: argparse.Namespace) -> int:
    from lift_dspy.server.doctor import doctor

    api_base = args.api_base or os.environ.get("LIFT_DSPY_API_BASE")
    if not api_base:
        print(
            "lift-dspy: error: no server to check. Pass --api-base URL or set LIFT_DSPY_API_BASE "
            "(start a local one with `lift-dspy serve --model smollm2`).",
            file=sys.stderr,
        )
        return 2
    api_key = args.api_key or os.environ.get("LIFT_DSPY_API_KEY")
    report = doctor(api_base, model=args.model, api_key=api_key, samples=args.samples)
    print(report.render())
    return report.exit_code
