"""IR-to-code's default (grammar-code) on SmolLM2 and the real compilers: the main example, end to end.

Lean on purpose (one example run, two languages): what must hold whatever the 135M model writes is
that every function was produced under its grammar with the IR's header, that no compile attempt
failed on a syntax error, and that the example prints its steps as they start.
"""

from __future__ import annotations

import pytest
from optimizing import load_example

from lift_dspy.programs.compile_errors import classify
from lift_dspy.programs.source import function_header
from lift_dspy.programs.toolchains import ToolchainMissingError, find_toolchain
from lift_dspy.server.process import Server

pytestmark = [pytest.mark.vllm, pytest.mark.toolchain]

LANGUAGES = ("rust", "go")


def test_main_example_grammar_code_on_smollm2(
    smollm2_server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for language in LANGUAGES:
        try:
            find_toolchain(language)
        except ToolchainMissingError as exc:
            pytest.skip(str(exc))
    example = load_example("ir_to_code")
    runs: list[object] = []
    original = example.IRToCode.forward

    def spy(self: object, *args: object, **kwargs: object) -> object:
        out = original(self, *args, **kwargs)
        runs.append(out)
        return out

    monkeypatch.setattr(example.IRToCode, "forward", spy)
    argv = [
        "--api-base",
        smollm2_server.api_base,
        "--model",
        smollm2_server.model,
        "--lang",
        ",".join(LANGUAGES),
    ]
    status = example.main([*argv, "--max-repairs", "1"])
    captured = capsys.readouterr()
    assert status in (0, 1), captured.err  # 1: a language did not compile (the model's limit)

    # Each step is printed to stderr as it starts, with the elapsed time.
    assert "s] IR: request -> IR" in captured.err
    for language in LANGUAGES:
        assert f"s] {language}: generating" in captured.err
    assert "languages compile" in captured.out

    (out,) = runs
    for language in LANGUAGES:
        result = out.results[language]
        assert result.error is None, result.error  # every answer parsed under its grammar
        assert isinstance(result.implementation, str)
        assert function_header(language, out.ir) in result.implementation
        assert result.attempts
        verdicts = [classify(language, a.diagnostics, ok=a.ok) for a in result.attempts]
        assert "syntax" not in verdicts, [a.diagnostics for a in result.attempts]
