"""A stand-in for vLLM's OpenAI server, for the fast test layer.

Run as a script it takes vLLM's command line (``--port``, ``--served-model-name``; the rest is
ignored) plus ``--fake-*`` switches that make it misbehave. `FakeServer` runs the same handler in a
thread for in-process tests. Unknown routes answer 404: never a default success.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    """How the fake answers."""

    model: str = "fake"
    version: str | None = "0.32.0"
    # "ignore": free text that violates any constraint; "obey": answers that conform;
    # "obey-json-reject-lark": conforming JSON, HTTP 400 for Lark grammars (like xgrammar).
    mode: str = "ignore"
    requests: list[dict[str, Any]] = field(default_factory=list)


GOOD_JSON = '{"color":"green","count":7}'
GOOD_LARK = 'color={"color":"red","count":42}\nnote: all good.'


def make_handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to ``behaviour``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write("fake_vllm: " + format % args + "\n")

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": behaviour.model, "max_model_len": 2048}]})
            elif self.path == "/health":
                self._send(200, {})
            elif self.path == "/version" and behaviour.version:
                self._send(200, {"version": behaviour.version})
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": f"no route {self.path}"})
                return
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            payload["_headers"] = dict(self.headers)
            behaviour.requests.append(payload)
            constraint = payload.get("structured_outputs") or {}
            if behaviour.mode == "ignore":
                text = 'Sure! Here it is: {"color": "purple", "count": 1000}'
            elif "grammar" in constraint and behaviour.mode == "obey-json-reject-lark":
                self._send(400, {"error": {"message": "Grammar error: unsupported %json"}})
                return
            else:
                text = GOOD_LARK if "grammar" in constraint else GOOD_JSON
            choice = {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            self._send(200, {"object": "chat.completion", "choices": [choice] * int(payload.get("n", 1))})

    return Handler


class FakeServer:
    """The fake on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(behaviour))
        self.api_base = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def main() -> None:
    """Parse vLLM-style arguments and serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--served-model-name", default="fake")
    parser.add_argument("--fake-mode", default="obey")
    parser.add_argument("--fake-delay", type=float, default=0.0, help="seconds before binding")
    parser.add_argument("--fake-exit", type=int, default=None, help="exit with this code at once")
    parser.add_argument("--fake-exit-after", type=float, default=None, help="exit 3 after N s of serving")
    parser.add_argument("--fake-ignore-sigterm", action="store_true")
    parser.add_argument("--fake-child-pidfile", default=None, help="spawn a child; write its pid here")
    args, rest = parser.parse_known_args()
    print(f"fake_vllm starting: port={args.port} ignored={rest}", flush=True)
    print(f"fake_vllm env: VLLM_TARGET_DEVICE={os.environ.get('VLLM_TARGET_DEVICE')}", flush=True)
    bind = os.environ.get("VLLM_CPU_OMP_THREADS_BIND")
    print(f"fake_vllm env: VLLM_CPU_OMP_THREADS_BIND={bind}", flush=True)
    if args.fake_ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.fake_child_pidfile:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(args.fake_child_pidfile, "w") as fh:
            fh.write(str(child.pid))
    if args.fake_exit is not None:
        print("fake_vllm: fatal: pretending to crash", flush=True)
        sys.exit(args.fake_exit)
    time.sleep(args.fake_delay)
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(Behaviour(model=args.served_model_name, mode=args.fake_mode))
    )
    if args.fake_exit_after is not None:
        threading.Timer(args.fake_exit_after, lambda: os._exit(3)).start()
    print("fake_vllm ready", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
