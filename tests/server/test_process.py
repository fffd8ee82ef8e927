"""The managed vLLM process: command line, environment, start-up, and group shutdown.

The fast layer runs ``fake_vllm.py`` through the ``launcher`` hook; one test starts real vLLM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from processes import pid_alive as _alive
from servers import ServerPool

from lift_dspy.errors import ServerStartError
from lift_dspy.server import default
from lift_dspy.server.models import ModelSource
from lift_dspy.server.process import Server, build_command, build_env, detect_device, serve, start_server
from lift_dspy.server.procgroup import group_alive
from lift_dspy.server.procgroup import port_free as _port_free

FAKE = [sys.executable, str(Path(__file__).with_name("fake_vllm.py"))]
SOURCE = ModelSource(model="/models/tiny", served_name="tiny", local=True)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mymodel"
    path.mkdir()
    return path


def test_command_has_backend_port_and_cpu_flags() -> None:
    cmd = build_command(SOURCE, port=8123, backend="guidance", device="cpu", python="/py", extra_args=["--x"])
    assert cmd[:3] == ["/py", "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--model") + 1] == "/models/tiny"
    assert cmd[cmd.index("--served-model-name") + 1] == "tiny"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert json.loads(cmd[cmd.index("--structured-outputs-config") + 1]) == {"backend": "guidance"}
    assert cmd[cmd.index("--max-model-len") + 1] == "2048"
    assert "--enforce-eager" in cmd
    assert cmd[cmd.index("--dtype") + 1] == "bfloat16"
    assert cmd[-1] == "--x"
    assert not any(arg.startswith("--guided") for arg in cmd)


def test_gpu_command_keeps_cuda_graphs() -> None:
    cmd = build_command(SOURCE, port=1, backend="xgrammar", device="gpu", max_model_len=None)
    assert "--enforce-eager" not in cmd
    assert "--max-model-len" not in cmd
    assert json.loads(cmd[cmd.index("--structured-outputs-config") + 1]) == {"backend": "xgrammar"}


@pytest.mark.parametrize("backend", ["outlines", "GUIDANCE", ""])
def test_unknown_backend_lists_choices(backend: str, model_dir: Path) -> None:
    with pytest.raises(ValueError, match="guidance, xgrammar"):
        build_command(SOURCE, port=1, backend=backend, device="cpu")
    with pytest.raises(ValueError, match="guidance, xgrammar"), serve(str(model_dir), backend=backend):
        pass


def test_cpu_env(tmp_path: Path) -> None:
    env = build_env(device="cpu", scratch=tmp_path, local_model=True, base={"VLLM_CPU_KVCACHE_SPACE": "4"})
    assert env["VLLM_TARGET_DEVICE"] == "cpu"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "4"  # the user's setting wins
    assert env["VLLM_NO_USAGE_STATS"] == "1"
    assert env["VLLM_CACHE_ROOT"].startswith(str(tmp_path))
    assert env["TMPDIR"].startswith(str(tmp_path))
    assert env["HF_HUB_OFFLINE"] == "1"
    gpu = build_env(device="gpu", scratch=tmp_path, local_model=False, base={})
    assert "VLLM_TARGET_DEVICE" not in gpu
    assert "HF_HUB_OFFLINE" not in gpu
    assert (
        build_env(device="cpu", scratch=tmp_path, local_model=True, base={})["VLLM_CPU_KVCACHE_SPACE"] == "1"
    )


def test_device_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_DSPY_DEVICE", "GPU")
    assert detect_device() == "gpu"
    monkeypatch.setenv("LIFT_DSPY_DEVICE", "tpu")
    with pytest.raises(ValueError, match="'cpu' or 'gpu'"):
        detect_device()


def test_detects_vllm_cpu_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFT_DSPY_DEVICE", raising=False)
    assert detect_device() == "cpu"  # this environment has vllm-cpu


def test_serve_starts_answers_and_kills_the_whole_group(model_dir: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    log = tmp_path / "logs" / "fake.log"
    with serve(
        str(model_dir), launcher=FAKE, log_path=log, extra_args=["--fake-child-pidfile", str(pidfile)]
    ) as server:
        assert server.model == "mymodel"
        assert server.backend == "guidance"
        assert server.api_base == f"http://127.0.0.1:{server.port}/v1"
        ids = [m["id"] for m in httpx.get(f"{server.api_base}/models").json()["data"]]
        assert ids == ["mymodel"]
        child = int(pidfile.read_text())
        assert os.getpgid(server.pid) == server.pid
        assert os.getpgid(child) == server.pid
        assert _alive(child)
    assert not _alive(server.pid)
    assert not _alive(child)
    assert _port_free(server.port)
    text = log.read_text()
    assert text.startswith("# lift-dspy: ")
    assert "fake_vllm ready" in text
    assert "VLLM_TARGET_DEVICE=cpu" in text


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_exception_or_ctrl_c_in_block_still_stops(model_dir: Path, exc: BaseException) -> None:
    with pytest.raises(type(exc)), serve(str(model_dir), launcher=FAKE) as server:
        raise exc
    assert not _alive(server.pid)


def test_exit_during_startup_raises_with_log_tail(model_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    with (
        pytest.raises(ServerStartError, match="exited with code 7") as info,
        serve(str(model_dir), launcher=FAKE, log_path=log, extra_args=["--fake-exit", "7"]),
    ):
        pass
    assert "pretending to crash" in str(info.value)
    assert info.value.log_path == str(log)


def test_startup_timeout_raises_and_kills(model_dir: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="did not answer"):
        start_server(
            str(model_dir),
            launcher=FAKE,
            startup_timeout=1.0,
            extra_args=["--fake-delay", "3600", "--fake-child-pidfile", str(pidfile)],
        )
    # Functional, not a speed target: it gave up long before the fake server's hour-long start.
    assert time.monotonic() - started < 600
    assert not _alive(int(pidfile.read_text()))


def test_sigterm_ignored_escalates_to_sigkill(model_dir: Path) -> None:
    managed = start_server(str(model_dir), launcher=FAKE, extra_args=["--fake-ignore-sigterm"])
    assert managed.running
    managed.stop(grace=1.0)
    assert not _alive(managed.server.pid)
    assert managed.returncode == -signal.SIGKILL
    managed.stop()  # idempotent


def test_running_turns_false_when_the_server_dies(model_dir: Path) -> None:
    # 3 s of serving: start_server must see it ready first, even on a loaded machine.
    managed = start_server(str(model_dir), launcher=FAKE, extra_args=["--fake-exit-after", "3"])
    try:
        deadline = time.monotonic() + 60
        while managed.running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not managed.running
        assert managed.returncode == 3
    finally:
        managed.stop()


def test_busy_port_is_refused(model_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port}"):
            start_server(str(model_dir), launcher=FAKE, port=port)


def test_missing_vllm_names_the_install_command(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFT_DSPY_VLLM_LAUNCHER", raising=False)
    with pytest.raises(ServerStartError, match=r"lift-dspy\[cpu\]"):
        start_server(str(model_dir), python="/nonexistent/python3")


def test_launcher_from_environment(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_DSPY_VLLM_LAUNCHER", " ".join(FAKE))
    with serve(str(model_dir)) as server:
        assert httpx.get(f"{server.api_base}/models").status_code == 200


def test_default_log_goes_to_the_cache(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path / "cache"))
    with serve(str(model_dir), launcher=FAKE, served_name="custom") as server:
        assert server.model == "custom"
        assert server.log_path == tmp_path / "cache" / "logs" / f"vllm-custom-{server.port}.log"


def test_pool_caps_live_servers_and_restarts_on_the_same_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFT_DSPY_VLLM_LAUNCHER", " ".join(FAKE))
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path / "cache"))
    names = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        names.append(str(tmp_path / name))
    pool = ServerPool(max_live=2)
    try:
        a, b = pool.get(names[0]), pool.get(names[1])
        assert pool.get(names[0]) == a  # reused, and now the most recently used
        c = pool.get(names[2])  # evicts b, the least recently used
        assert _alive(a.pid)
        assert _alive(c.pid)
        assert not _alive(b.pid)
        b2 = pool.get(names[1])  # back on its old port, so earlier api_base values stay valid
        assert b2.api_base == b.api_base
        assert b2.pid != b.pid
        assert not _alive(a.pid)
        pool.stop(names[2])
        assert not _alive(c.pid)
    finally:
        pool.close()
    assert not _alive(b2.pid)


def test_default_server_starts_once_shared_and_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFT_DSPY_VLLM_LAUNCHER", " ".join([*FAKE, "--fake-exit-after", "4"]))
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LIFT_DSPY_DEFAULT_MODEL", str(tmp_path))
    results: list[Server] = []
    threads = [threading.Thread(target=lambda: results.append(default.default_server())) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first = results[0]
        assert results == [first] * 3
        assert first.model == tmp_path.name
        assert first.backend == "guidance"
        deadline = time.monotonic() + 20
        while _alive(first.pid) and time.monotonic() < deadline:  # the fake exits after 4 s
            time.sleep(0.1)
        second = default.default_server()
        assert second.pid != first.pid
        assert httpx.get(f"{second.api_base}/models").status_code == 200
    finally:
        default.stop_default_server()
    assert not _alive(results[0].pid)
    assert not _alive(second.pid)
    default.stop_default_server()  # idempotent


def test_importing_lift_dspy_starts_nothing_heavy() -> None:
    code = (
        "import sys, lift_dspy, lift_dspy.server, lift_dspy.cli\n"
        "heavy = sorted(m for m in ('torch', 'vllm', 'transformers') if m in sys.modules)\n"
        "from lift_dspy.server import default\n"
        "print(heavy, default._managed)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] None"


@pytest.mark.vllm
def test_real_vllm_tiny_serves_and_stops(server_pool: ServerPool) -> None:
    """One real vLLM: the session's shared tiny server (started here if no test did yet)."""
    started = time.monotonic()
    server = server_pool.get("tiny", backend="guidance")
    print(f"tiny vLLM ready after {time.monotonic() - started:.1f} s (0 if already running)")
    models = httpx.get(f"{server.api_base}/models").json()["data"]
    assert [(m["id"], m["max_model_len"]) for m in models] == [("tiny", 2048)]
    version = httpx.get(server.api_base.removesuffix("/v1") + "/version").json()["version"]
    assert tuple(int(x) for x in version.split(".")[:2]) >= (0, 12)
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 9}},
        "required": ["n"],
        "additionalProperties": False,
        "x-guidance": {"whitespace_flexible": False},
    }
    body = {
        "model": server.model,
        "messages": [{"role": "user", "content": "a digit"}],
        "max_tokens": 32,
        "structured_outputs": {"json": schema},
    }
    answer = httpx.post(f"{server.api_base}/chat/completions", json=body, timeout=120).json()
    assert 0 <= json.loads(answer["choices"][0]["message"]["content"])["n"] <= 9
    assert os.getpgid(server.pid) == server.pid
    assert "Application startup complete" in server.log_path.read_text()

    server_pool.stop("tiny", backend="guidance")  # restarted on the same port if a later test needs it
    assert not group_alive(server.pid)
    assert _port_free(server.port)
