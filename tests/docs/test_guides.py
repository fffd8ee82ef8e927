"""Every guide under ``docs/guides/`` runs: its ```python blocks are executed, in order, per guide.

A guide's blocks share one namespace, like a notebook. A block whose fence is preceded, on the line
just before, by ``<!-- not-run: reason -->`` is only compiled (it needs a provider the tests do not
have, or is too slow for them). The runs use the random-weight ``tiny`` model: snippets check types
and validity, never content. New guides are picked up by name (``docs/guides/*.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dspy
import pytest

from lift_dspy.server.process import Server

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->$")
FENCE = "```"


@dataclass(frozen=True)
class Block:
    """One ```python block of a guide."""

    guide: str
    number: int  # 1-based, counting every python block of the guide
    line: int  # 1-based line of the opening fence
    source: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        return f"docs/guides/{self.guide} block {self.number} (line {self.line})"


def guide_paths() -> list[Path]:
    """Every guide but the index."""
    return sorted(path for path in GUIDES.glob("*.md") if path.name != "README.md")


def python_blocks(path: Path) -> list[Block]:
    """The ```python blocks of a Markdown file (fences at the start of a line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = lines[index]
        if not opening.startswith(FENCE):
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].startswith(FENCE)), None)
        if end is None:
            raise ValueError(f"{path.name}:{index + 1}: unclosed code fence")
        if opening[len(FENCE) :].strip() == "python":
            marker = NOT_RUN.match(lines[index - 1].strip()) if index else None
            blocks.append(
                Block(
                    guide=path.name,
                    number=len(blocks) + 1,
                    line=index + 1,
                    source="\n".join(lines[index + 1 : end]) + "\n",
                    skip_reason=marker.group("reason") if marker else None,
                )
            )
        index = end + 1
    return blocks


def _guide_id(path: Path) -> str:
    return path.stem


# -- fast: every guide has something to run, and every block is valid Python ----------------------


def test_there_are_guides() -> None:
    assert guide_paths(), f"no guides in {GUIDES}"
    assert (GUIDES / "README.md").is_file()


@pytest.mark.parametrize("path", guide_paths(), ids=_guide_id)
def test_guide_blocks_compile(path: Path) -> None:
    blocks = python_blocks(path)
    assert any(block.skip_reason is None for block in blocks), f"{path.name} has no executable block"
    for block in blocks:
        compile(block.source, block.name, "exec", dont_inherit=True)


@pytest.mark.parametrize("path", guide_paths(), ids=_guide_id)
def test_guide_is_indexed(path: Path) -> None:
    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    assert f"]({path.name})" in index, f"add a line for {path.name} to docs/guides/README.md"


# -- slow: run the guides against a real vLLM server ----------------------------------------------


@pytest.fixture
def guide_env(tiny_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What a user of the guides has: the server in the environment, an empty cache, a scratch cwd."""
    monkeypatch.setenv("LIFT_DSPY_API_BASE", tiny_server.api_base)
    monkeypatch.setenv("LIFT_DSPY_MODEL", tiny_server.model)
    monkeypatch.delenv("LIFT_DSPY_API_KEY", raising=False)  # restored even if a snippet sets it
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    old_cache = dspy.cache
    dspy.configure_cache(
        enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(tmp_path / "dspy-cache")
    )
    dspy.configure(lm=None, adapter=None)
    try:
        yield
    finally:
        dspy.cache = old_cache


@pytest.mark.vllm
@pytest.mark.parametrize("path", guide_paths(), ids=_guide_id)
@pytest.mark.usefixtures("guide_env")
def test_guide_runs(path: Path) -> None:
    namespace: dict[str, Any] = {"__name__": f"guide_{path.stem.replace('-', '_')}"}
    for block in python_blocks(path):
        if block.skip_reason is not None:
            continue
        # dont_inherit: a user's script has no `from __future__ import annotations` (this file does).
        code = compile(block.source, block.name, "exec", dont_inherit=True)
        try:
            exec(code, namespace)
        except Exception as exc:
            pytest.fail(f"{block.name} failed: {type(exc).__name__}: {exc}\n\n{block.source}", pytrace=True)
