"""The ``lift-dspy`` command line: registry, models, doctor, and serve (against the fake server)."""

from __future__ import annotations

import argparse
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_vllm import Behaviour, FakeServer

from lift_dspy import cli
from lift_dspy.server import models, process

FAKE = f"{sys.executable} {Path(__file__).with_name('fake_vllm.py')}"


def add_hello_parser(subparsers: Any) -> None:
    """A subcommand defined outside cli.py, as bench/schemas will be."""
    p = subparsers.add_parser("hello", help="say hello")
    p.add_argument("--name", default="world")
    p.set_defaults(handler=lambda args: print(f"hello {args.name}") or 0)


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("serve", "models", "doctor"):
        assert name in out


def test_no_subcommand_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: lift-dspy" in capsys.readouterr().err


def test_adding_a_subcommand_is_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, f"{__name__}:add_hello_parser"))
    assert cli.main(["hello", "--name", "bench"]) == 0
    assert capsys.readouterr().out == "hello bench\n"


def test_python_dash_m_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lift_dspy", "models", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "prepare" in proc.stdout


def test_models_list_and_prepare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path))

    def build(out: Path) -> dict[str, Any]:
        (out / "config.json").write_text("{}")
        return {}

    monkeypatch.setitem(models._RECIPES, "tiny", (1, build))
    assert cli.main(["models", "list"]) == 0
    assert "not built" in capsys.readouterr().out
    assert cli.main(["models", "prepare", "tiny"]) == 0
    assert str(tmp_path / "models" / "tiny") in capsys.readouterr().out
    assert cli.main(["models", "list"]) == 0
    assert "tiny     ready" in capsys.readouterr().out
    assert cli.main(["models", "prepare", "org/some-model"]) == 2
    assert "not a built-in model" in capsys.readouterr().err


def test_doctor_needs_a_server(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LIFT_DSPY_API_BASE", raising=False)
    assert cli.main(["doctor"]) == 2
    assert "--api-base" in capsys.readouterr().err


def test_doctor_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeServer(Behaviour(mode="obey")) as fake:
        monkeypatch.setenv("LIFT_DSPY_API_BASE", fake.api_base)
        monkeypatch.setenv("LIFT_DSPY_API_KEY", "sk-env")
        assert cli.main(["doctor"]) == 0
    assert "result: OK" in capsys.readouterr().out
    assert fake.behaviour.requests[0]["_headers"]["Authorization"] == "Bearer sk-env"


def test_bad_doctor_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor", "--api-base", "localhost:8000"]) == 2
    assert "http://" in capsys.readouterr().err


def test_serve_prints_api_base_and_reports_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path / "cache"))
    launcher = FAKE.split()
    monkeypatch.setattr(process, "start_server", functools.partial(process.start_server, launcher=launcher))
    code = cli.main(["-q", "serve", "--model", str(tmp_path), "--", "--fake-exit-after", "3"])
    captured = capsys.readouterr()
    assert code == 1
    assert "export LIFT_DSPY_API_BASE=http://127.0.0.1:" in captured.out
    assert "vLLM exited with code 3" in captured.err


def test_serve_unknown_backend_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--backend", "outlines"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_ctrl_c_and_sigterm(tmp_path: Path, sig: signal.Signals) -> None:
    env = {**os.environ, "LIFT_DSPY_VLLM_LAUNCHER": FAKE, "LIFT_DSPY_CACHE": str(tmp_path / "cache")}
    pidfile = tmp_path / "child.pid"
    cmd = [sys.executable, "-m", "lift_dspy", "serve", "--model", str(tmp_path)]
    cmd += ["--", "--fake-child-pidfile", str(pidfile)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "at http://127.0.0.1:" in first
        api_base = first.split(" at ")[1].split()[0]
        assert httpx.get(f"{api_base}/models").status_code == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=120) == 0  # generous: CI shares 2 loaded cores
    finally:
        if proc.poll() is None:
            proc.kill()
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{api_base}/models")


def test_parser_is_plain_argparse() -> None:
    parser = cli.build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    args = parser.parse_args(["serve", "--model", "tiny", "--backend", "xgrammar", "--port", "9000"])
    assert (args.model, args.backend, args.port) == ("tiny", "xgrammar", 9000)
