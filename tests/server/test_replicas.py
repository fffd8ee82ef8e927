"""Replicas behind vllm-router, progress lines and the router-aware doctor, against fake workers.

The workers are ``fake_vllm.py`` processes (vLLM's command line, answers in a few ms); the router
is the real ``vllm-router`` binary from the ``scale`` extra.
"""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fake_vllm import Behaviour, FakeServer
from processes import pid_alive as _alive

from lift_dspy import cli
from lift_dspy.errors import ServerStartError
from lift_dspy.server import replicas as replicas_mod
from lift_dspy.server import serve
from lift_dspy.server.doctor import doctor
from lift_dspy.server.metrics import metric_by_label, parse_metrics, read_metrics_text
from lift_dspy.server.progress import Progress, progress_enabled
from lift_dspy.server.replicas import build_router_command, start_replicas, start_router

pytest.importorskip("vllm_router", reason="pip install 'lift-dspy[scale]'")

FAKE = [sys.executable, str(Path(__file__).with_name("fake_vllm.py"))]


def _wait_dead(pid: int, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mymodel"
    path.mkdir()
    return path


def _chat(api_base: str, text: str) -> httpx.Response:
    messages = [{"role": "user", "content": text}]
    payload = {"model": "mymodel", "messages": messages, "structured_outputs": {"json": {}}}
    return httpx.post(f"{api_base}/chat/completions", json=payload, timeout=30, trust_env=False)


def test_router_command_targets_worker_roots() -> None:
    cmd = build_router_command(
        ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/"], port=9, policy="round_robin", metrics_port=10
    )
    urls = cmd[cmd.index("--worker-urls") + 1 : cmd.index("--policy")]
    assert urls == ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    assert cmd[cmd.index("--policy") + 1] == "round_robin"
    assert cmd[cmd.index("--prometheus-port") + 1] == "10"
    with pytest.raises(ValueError, match="cache_aware"):
        build_router_command(["http://x"], port=1, policy="fastest", metrics_port=2)


def test_serve_replicas_starts_routes_and_stops_everything(model_dir: Path, tmp_path: Path) -> None:
    options = {"replicas": 2, "router_policy": "round_robin", "launcher": FAKE}
    with serve(str(model_dir), log_path=tmp_path, **options) as fleet:
        assert len(fleet.workers) == 2
        assert len({w.port for w in fleet.workers} | {fleet.port}) == 3
        assert fleet.api_base == fleet.router.api_base
        assert fleet.model == "mymodel"
        for index in range(4):
            assert _chat(fleet.api_base, f"hello {index}").status_code == 200
        per_worker = metric_by_label(
            read_metrics_text(fleet.router.metrics_url), "vllm_router_processed_requests_total", "worker"
        )
        assert sorted(per_worker) == sorted(w.api_base.removesuffix("/v1") for w in fleet.workers)
        assert all(count == 2 for count in per_worker.values()), per_worker
        pids = [fleet.router.pid, *(w.pid for w in fleet.workers)]
        assert all(_alive(pid) for pid in pids)
        assert {p.name for p in tmp_path.iterdir() if p.suffix == ".log"} == {
            f"worker-{i}-{w.port}.log" for i, w in enumerate(fleet.workers)
        } | {f"router-{fleet.port}.log"}
    assert all(_wait_dead(pid) for pid in pids)


def test_one_replica_is_a_plain_server(model_dir: Path) -> None:
    with serve(str(model_dir), launcher=FAKE, progress=False) as server:
        assert server.router is None
        assert server.workers == (server,)


def test_failed_worker_start_stops_the_ones_already_running(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    real = replicas_mod.start_server

    def second_fails(*args: object, **kwargs: object) -> object:
        if started:
            kwargs["extra_args"] = ["--fake-exit", "4"]
        managed = real(*args, **kwargs)  # type: ignore[arg-type]
        started.append(managed.server.pid)
        return managed

    monkeypatch.setattr(replicas_mod, "start_server", second_fails)
    with pytest.raises(ServerStartError, match="exited with code 4"):
        start_replicas(str(model_dir), replicas=2, launcher=FAKE, progress=False)
    assert len(started) == 1
    assert _wait_dead(started[0])


def test_router_that_cannot_start_stops_the_workers(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workers: list[int] = []
    real = replicas_mod.start_server

    def remember(*args: object, **kwargs: object) -> object:
        managed = real(*args, **kwargs)  # type: ignore[arg-type]
        workers.append(managed.server.pid)
        return managed

    monkeypatch.setattr(replicas_mod, "start_server", remember)
    with pytest.raises(ServerStartError, match="vllm-router exited"):
        start_replicas(
            str(model_dir), replicas=2, launcher=FAKE, progress=False, router_args=["--no-such-flag"]
        )
    assert len(workers) == 2
    assert all(_wait_dead(pid) for pid in workers)


def test_missing_router_names_the_extra(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replicas_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ServerStartError, match=r"lift-dspy\[scale\]"):
        start_replicas(str(model_dir), replicas=2, launcher=FAKE)
    with pytest.raises(ValueError, match="replicas"):
        start_replicas(str(model_dir), replicas=0, launcher=FAKE)


def test_router_in_front_of_a_dead_worker_routes_around_it(model_dir: Path) -> None:
    options = {"replicas": 2, "router_policy": "round_robin", "launcher": FAKE, "progress": False}
    with serve(str(model_dir), **options) as fleet:
        os.killpg(fleet.workers[0].pid, signal.SIGKILL)
        codes = [_chat(fleet.api_base, f"after {i}").status_code for i in range(6)]
        assert codes == [200] * 6  # the router retries on the live worker
        metrics = parse_metrics(read_metrics_text(fleet.router.metrics_url))
        assert metrics.get("vllm_router_retries_total", 0) >= 1


def test_doctor_through_a_router_checks_every_worker() -> None:
    with (
        FakeServer(Behaviour(model="mymodel", mode="obey")) as good,
        FakeServer(Behaviour(model="mymodel", mode="obey-json-reject-lark")) as xgrammar,
        start_router(
            [good.api_base, xgrammar.api_base], model="mymodel", policy="round_robin", progress=False
        ) as router,
    ):
        report = doctor(router.api_base, samples=1)
    good_root, bad_root = good.api_base.removesuffix("/v1"), xgrammar.api_base.removesuffix("/v1")
    assert report.workers == {good_root: "guidance", bad_root: "xgrammar-or-other"}
    rows = {c.name: c for c in report.checks}
    assert rows[f"worker {good_root}"].status == "OK"
    assert rows[f"worker {bad_root}"].status == "FAIL"
    assert "guidance" in rows[f"worker {bad_root}"].detail
    assert not report.ok


def test_doctor_on_a_plain_server_lists_no_workers() -> None:
    with FakeServer(Behaviour(model="mymodel", mode="obey")) as good:
        report = doctor(good.api_base, samples=1)
    assert report.ok
    assert report.workers == {}


def test_cli_serve_replicas_prints_router_and_workers_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "LIFT_DSPY_VLLM_LAUNCHER": " ".join(FAKE)}
    env["LIFT_DSPY_CACHE"] = str(tmp_path / "cache")
    cmd = [sys.executable, "-m", "lift_dspy", "serve", "--model", str(tmp_path), "--replicas", "2"]
    cmd += ["--router-policy", "round_robin"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        assert "export LIFT_DSPY_API_BASE=http://127.0.0.1:" in lines[1]
        pids = [int(line.split(" pid ")[1].split(",")[0]) for line in lines[2:5]]
        assert lines[2].strip().startswith("router: vllm-router")
        assert all(_alive(pid) for pid in pids)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
        assert "starting vllm-router (round_robin, 2 workers)" in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert all(_wait_dead(pid) for pid in pids)


def test_cli_replicas_flag_parses() -> None:
    args = cli.build_parser().parse_args(["serve", "--replicas", "3", "--router-policy", "round_robin"])
    assert (args.replicas, args.router_policy, args.no_progress) == (3, "round_robin", False)


def test_progress_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress("waiting for vLLM", enabled=True, stream=out, heartbeat=0.5) as step:
        time.sleep(1.5)
        step.update("loading weights")
    text = out.getvalue()
    assert text.startswith("lift-dspy: waiting for vLLM...\n")
    assert "still waiting for vLLM (" in text
    assert "lift-dspy: loading weights (" in text
    assert "loading weights: done after" in text


def test_progress_reports_failure_and_can_be_silenced(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), Progress("starting", enabled=True, stream=out):
        raise RuntimeError("boom")
    assert "starting: failed after" in out.getvalue()
    quiet = io.StringIO()
    with Progress("starting", enabled=False, stream=quiet):
        pass
    assert quiet.getvalue() == ""
    monkeypatch.setenv("LIFT_DSPY_PROGRESS", "0")
    assert not progress_enabled()
    monkeypatch.setenv("LIFT_DSPY_PROGRESS", "1")
    assert progress_enabled()


def test_progress_follows_the_lift_dspy_logger_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFT_DSPY_PROGRESS", raising=False)
    package = logging.getLogger("lift_dspy")
    old = package.level
    try:
        package.setLevel(logging.NOTSET)
        assert progress_enabled()  # the root logger's default WARNING does not silence it
        package.setLevel(logging.WARNING)  # what `lift-dspy -q` does
        assert not progress_enabled()
        package.setLevel(logging.INFO)
        assert progress_enabled()
    finally:
        package.setLevel(old)


def test_starting_a_server_says_what_it_waits_for(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(str(model_dir), launcher=FAKE, progress=True) as server:
        pass
    err = capsys.readouterr().err
    assert f"lift-dspy: starting vLLM mymodel (guidance) at {server.api_base}... (log: " in err
    assert f"starting vLLM mymodel (guidance) at {server.api_base}: done after " in err
    with serve(str(model_dir), launcher=FAKE, progress=False):
        pass
    assert "lift-dspy: starting vLLM" not in capsys.readouterr().err


def test_each_worker_gets_its_own_environment(model_dir: Path, tmp_path: Path) -> None:
    binds = [{"VLLM_CPU_OMP_THREADS_BIND": "0"}, {"VLLM_CPU_OMP_THREADS_BIND": "1"}]
    with start_replicas(
        str(model_dir), replicas=2, launcher=FAKE, log_dir=tmp_path, worker_env=binds, progress=False
    ) as fleet:
        logs = [w.log_path.read_text() for w in fleet.workers]
    assert "VLLM_CPU_OMP_THREADS_BIND=0" in logs[0]
    assert "VLLM_CPU_OMP_THREADS_BIND=1" in logs[1]
    with pytest.raises(ValueError, match="worker_env"):
        start_replicas(str(model_dir), replicas=2, launcher=FAKE, worker_env=binds[:1])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_spins_in_place_on_a_terminal() -> None:
    out = _Terminal()
    with Progress("waiting for vLLM", enabled=True, stream=out):
        time.sleep(0.7)
    text = out.getvalue()
    assert "\r\x1b[K| lift-dspy: waiting for vLLM 0 s" in text  # redrawn in place, with elapsed seconds
    assert re.search(r"\r\x1b\[Klift-dspy: waiting for vLLM: done after \d+\.\d s\n$", text), text
    assert "\n" not in text.rstrip("\n").split("\r\x1b[K")[-2]  # no new line per redraw
