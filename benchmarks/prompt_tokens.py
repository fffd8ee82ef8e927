"""Prompt tokens per call by layout, with and without ``GuidanceLM(trim_prompt=True)`` (issue 15).

Offline: renders each zoo signature's first call (no demos) with DSPy's ChatAdapter and
JSONAdapter, applies the model's chat template, and counts tokens with its tokenizer; trimmed is
the same messages through :func:`lift_dspy.trim.trim_messages` (what the engine sends). Inputs are
the zoo's (tests/zoo.py), as in ``benchmarks/fair_arms.py``, so the untrimmed figures equal that
benchmark's ``prompt_tokens_per_call``.

Usage:
    python benchmarks/prompt_tokens.py --summary benchmarks/results/prompt_tokens.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import dspy

from lift_dspy.bench.stats import provenance
from lift_dspy.trim import trim_messages

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zoo import INPUTS, ZOO

LAYOUTS = {"chat": dspy.ChatAdapter, "json": dspy.JSONAdapter}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="smollm2", help="a prepared model name (lift-dspy models) or a path"
    )
    parser.add_argument("--summary", help="write the figures here as JSON")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    path = Path(args.model)
    if not path.exists():
        from lift_dspy.server.models import prepare_model

        path = Path(prepare_model(args.model))
    tokenizer = AutoTokenizer.from_pretrained(str(path))

    def count(messages: list[dict[str, Any]]) -> int:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return len(tokenizer(text).input_ids)

    rows = []
    for name, signature in ZOO.items():
        row: dict[str, Any] = {"signature": name}
        for layout, adapter in LAYOUTS.items():
            messages = adapter().format(signature, [], INPUTS[name])
            row[layout] = count(messages)
            row[f"{layout}_trimmed"] = count(trim_messages(messages, list(signature.output_fields)))
        rows.append(row)
    summary: dict[str, Any] = {"benchmark": "prompt_tokens", "model": args.model, "per_signature": rows}
    print(f"{'signature':<12} {'chat':>6} {'trimmed':>8} {'json':>6} {'trimmed':>8}")
    for row in rows:
        print(
            f"{row['signature']:<12} {row['chat']:>6} {row['chat_trimmed']:>8} "
            f"{row['json']:>6} {row['json_trimmed']:>8}"
        )
    for layout in LAYOUTS:
        full = sum(row[layout] for row in rows) / len(rows)
        trimmed = sum(row[f"{layout}_trimmed"] for row in rows) / len(rows)
        summary[layout] = {"per_call": round(full, 1), "trimmed_per_call": round(trimmed, 1)}
        print(
            f"{layout}: {full:.1f} prompt tokens per call, trimmed {trimmed:.1f} "
            f"({1 - trimmed / full:.1%} fewer)"
        )
    if args.summary:
        summary["provenance"] = provenance()
        Path(args.summary).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
