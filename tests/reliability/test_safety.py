"""Secrets and generated code: API keys never leak; compilers run boxed; servers bind to loopback.

* The API key reaches the server (the fault proxy sees the ``Authorization`` header) and nothing else:
  not the logs at DEBUG (lift-dspy, httpx, httpcore, DSPy), ``lm.history``, ``lm.dump_state()``,
  ``repr``, errors, or a saved program (``.json``, ``.pkl``, ``save_program=True``, which works and
  loads back).
* The compile harness (tests/programs/test_toolchains.py covers "never executed", Go without module
  downloads, scrubbed proxies, temp dirs removed, the process-group kill): added here, the timeout
  through the public ``check()`` with a compiler that hangs and forks, and no API key in its env.
* A managed vLLM server listens on 127.0.0.1 only: every listening socket of its process group.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import select
import stat
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import dspy
import pytest
from faultproxy import Fault, FaultProxy, Policy, always
from zoo import Sentiment

import lift_dspy
from lift_dspy.programs import toolchains
from lift_dspy.server.models import ModelSource
from lift_dspy.server.process import Server, build_command

KEY = "sk-lift-reliability-0123456789abcdef"
StartProxy = Callable[[Policy], FaultProxy]


def _no_key(text: str, where: str) -> None:
    assert KEY not in text, f"the API key leaked into {where}"
    assert KEY[8:24] not in text, f"part of the API key leaked into {where}"


@pytest.mark.vllm
def test_api_key_is_sent_but_never_logged_kept_or_saved(
    fault_proxy: StartProxy, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    proxy = fault_proxy(always(Fault.relay()))
    caplog.set_level(logging.DEBUG)  # root: lift_dspy, httpx, httpcore, dspy
    lm = lift_dspy.GuidanceLM(
        "tiny", api_base=proxy.api_base, api_key=KEY, max_text_chars=120, max_tokens=64, cache=False
    )
    program = dspy.Predict(Sentiment)
    program.set_lm(lm)
    assert program(text="fine").sentiment in ("positive", "negative", "neutral")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        dspy.Predict(Sentiment)(text="json too")
    assert proxy.counters.authorization == [f"Bearer {KEY}"] * 2  # it really was sent

    # An error path too: a failed call's message and its logged traceback.
    broken = lift_dspy.GuidanceLM("tiny", api_base="http://127.0.0.1:9/v1", api_key=KEY, num_retries=0)
    with dspy.context(lm=broken), pytest.raises(lift_dspy.BackendUnavailableError) as info:
        dspy.Predict(Sentiment)(text="x")
    _no_key(str(info.value) + repr(info.value), "the error")

    _no_key(caplog.text, "the logs")
    assert "chat/completions" in caplog.text  # the DEBUG request lines were captured
    _no_key(json.dumps(lm.history, default=repr), "lm.history")
    _no_key(json.dumps(lm.dump_state(), default=repr), "lm.dump_state()")
    _no_key(repr(lm) + str(lm.config), "repr(lm)")

    program.save(tmp_path / "program.json")
    program.save(tmp_path / "program.pkl")
    program.save(tmp_path / "whole", save_program=True)  # pickles the LM (Stats drops its lock)
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"program.json", "program.pkl"}
    assert any(path.parent.name == "whole" for path in written), written
    for path in written:
        assert KEY.encode() not in path.read_bytes(), f"the API key was saved in {path.name}"
    # A reloaded program works without the key in the file (it comes from $LIFT_DSPY_API_KEY).
    state = json.loads((tmp_path / "program.json").read_text())
    assert state["lm"]["api_base"] == proxy.api_base
    # The whole program loads back, its LM included, still without the key.
    loaded = dspy.load(str(tmp_path / "whole"), allow_pickle=True)
    loaded_lm = loaded.get_lm()
    assert isinstance(loaded_lm, lift_dspy.GuidanceLM)
    assert (loaded_lm.model, loaded_lm.dump_state()["api_base"]) == ("tiny", proxy.api_base)
    _no_key(json.dumps(loaded_lm.dump_state(), default=repr), "a reloaded program")


def test_a_pickled_engine_carries_no_key() -> None:
    lm = lift_dspy.GuidanceLM("m", api_base="http://127.0.0.1:9/v1", api_key=KEY)
    for engine in (lm._engine_spec, lm._async_engine_spec):
        assert KEY.encode() not in pickle.dumps(engine)


# -- the compile harness ---------------------------------------------------------------------


@pytest.fixture
def hanging_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``rustc`` that forks a grandchild, records both pids, and hangs; and a private tempdir."""
    pids = tmp_path / "pids"
    script = tmp_path / "bin" / "rustc"
    script.parent.mkdir()
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            env > {tmp_path}/env.txt
            sleep 300 &
            echo "$$ $!" > {pids}
            wait
            """
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    fake = toolchains.Toolchain("rust", "rustc", str(script), "rustc 0.0.0 (fake)")
    monkeypatch.setattr(toolchains, "find_toolchain", lambda _language: fake)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(toolchains.tempfile, "tempdir", str(scratch))
    for name in ("LIFT_DSPY_API_KEY", "OPENAI_API_KEY", "HF_TOKEN"):
        monkeypatch.setenv(name, KEY)
    return tmp_path


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for process ``pid`` (not our child) to end: a pidfd turns readable when it exits."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def test_compile_timeout_kills_the_whole_group_and_cleans_up(hanging_compiler: Path) -> None:
    started = time.monotonic()
    result = toolchains.check("rust", "pub fn f() {}\n", timeout=1.5)
    assert result.timed_out
    assert not result.ok
    assert "timeout" in result.diagnostics
    assert time.monotonic() - started < 60  # bounded by the timeout, not by the 300 s sleep
    shell, grandchild = map(int, (hanging_compiler / "pids").read_text().split())
    assert _wait_gone(shell, 10)
    assert _wait_gone(grandchild, 10)  # the compiler's own children die with it
    assert list((hanging_compiler / "scratch").iterdir()) == []  # the throwaway dir is gone
    env = (hanging_compiler / "env.txt").read_text()
    _no_key(env, "the compiler's environment")
    assert "HTTP_PROXY" not in env


# -- the managed server listens on loopback only ---------------------------------------------


def test_server_command_binds_loopback() -> None:
    cmd = build_command(ModelSource("m", "m", local=True), port=8000, backend="guidance", device="cpu")
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    # Arguments appended by callers come last and could override --host: none are added by default.
    assert cmd.count("--host") == 1


def _group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            if int(text[text.rfind(")") + 2 :].split()[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def _socket_inodes(pid: int) -> set[int]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


_LOOPBACK = {"tcp": "0100007F", "tcp6": "00000000000000000000000001000000"}


@pytest.mark.vllm
def test_managed_server_listens_on_loopback_only(live_tiny_server: Server) -> None:
    tiny_server = live_tiny_server
    if tiny_server.pid == 0:
        pytest.skip("external tiny server (LIFT_DSPY_TINY_API_BASE): its process is not ours")
    pids = _group(tiny_server.pid)
    inodes: set[int] = set().union(*(_socket_inodes(pid) for pid in pids))
    listening: list[tuple[str, str, int]] = []
    for family in ("tcp", "tcp6"):
        rows = Path(f"/proc/{tiny_server.pid}/net/{family}").read_text().splitlines()[1:]
        for row in rows:
            parts = row.split()
            address, port = parts[1].split(":")
            if parts[3] == "0A" and int(parts[9]) in inodes:  # 0A: LISTEN
                listening.append((family, address, int(port, 16)))
    assert tiny_server.port in {port for _, _, port in listening}
    exposed = [entry for entry in listening if entry[1] != _LOOPBACK[entry[0]]]
    assert exposed == [], f"listening beyond loopback: {exposed}"
