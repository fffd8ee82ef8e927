"""examples/ir_to_code.py without a server: its options and the step lines it prints."""

from __future__ import annotations

import logging
import time

import pytest
from optimizing import load_example


def test_code_form_option_defaults_to_grammar_code() -> None:
    example = load_example("ir_to_code")
    parser = example.build_parser()
    assert parser.parse_args([]).code_form == "grammar-code"
    assert parser.parse_args(["--code-form", "json-parts"]).code_form == "json-parts"
    with pytest.raises(SystemExit):
        parser.parse_args(["--code-form", "yaml"])


def test_steps_are_printed_to_stderr_with_the_elapsed_time(capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("ir_to_code")
    logger = logging.getLogger("lift_dspy.programs.ir_to_code")
    with example.show_steps(time.monotonic() - 12.0):
        logger.info("%s: repair %d", "rust", 1)
        logger.debug("not a step")
    logger.info("after the run: not printed")
    err = capsys.readouterr().err
    assert err.startswith("[  12.")
    assert err.rstrip().endswith("s] rust: repair 1")
    assert len(err.strip().splitlines()) == 1
    with example.show_steps(time.monotonic(), enabled=False):
        logger.info("quiet")
    assert capsys.readouterr().err == ""
