"""Share of answer tokens the grammar forces, per signature, under the chat and JSON layouts.

For each real answer written by SmolLM2 under lift-dspy's constraint (the ``texts`` that
``benchmarks/fair_arms.py`` journals for ``lift-guidance`` (chat layout) and ``lift-json`` (JSON
layout)), an ``llguidance.LLMatcher`` for the same grammar vLLM builds (SmolLM2's tokenizer via
``llguidance.hf.from_tokenizer``; JSON schemas through ``grammar_from_json_schema`` with vLLM's
``whitespace_flexible`` default) walks the answer's tokens; at every step
``LLMatcher.compute_ff_tokens()`` gives the tokens the grammar forces from there. A token is
forced when it is one of those. The forced share is what a decoder could emit without a forward
pass (fast-forward / jump-ahead); vLLM 0.32 does not do this, so it is an upper bound on the lever.

The answers are re-tokenized canonically (the server's own token ids are not journaled); a
non-canonical sampled tokenization would differ slightly.

Usage:
    python benchmarks/forced_tokens.py bench-out/fair_arms/calls.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import dspy
import llguidance
import llguidance.hf
import transformers

import lift_dspy
from lift_dspy.bench.stats import provenance
from lift_dspy.constraints.guidance import grammar_from_json_schema, grammar_from_lark

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zoo import ZOO

MODEL_DIR = Path.home() / ".cache" / "lift-dspy" / "models" / "smollm2"
LAYOUT = {"lift-guidance": "chat", "lift-json": "json"}


def grammar(signature: Any, layout: str, max_text_chars: int | None) -> str:
    """The llguidance grammar vLLM's guidance backend builds from lift-dspy's payload."""
    adapter = dspy.JSONAdapter() if layout == "json" else dspy.ChatAdapter()
    payload = lift_dspy.constraint_for(signature, adapter, max_text_chars=max_text_chars)
    if "json" in payload:
        return grammar_from_json_schema(payload["json"], defaults={"whitespace_flexible": True})
    return grammar_from_lark(payload["grammar"])


def forced_share(tokenizer: llguidance.LLTokenizer, grammar_text: str, text: str) -> tuple[int, int, bool]:
    """``(forced, total, complete)`` for one answer: tokens the grammar forced, tokens walked."""
    matcher = llguidance.LLMatcher(tokenizer, grammar_text, log_level=0)
    tokens = tokenizer.tokenize_str(text)
    forced = 0
    i = 0
    while i < len(tokens):
        ff = matcher.compute_ff_tokens()
        k = 0
        while k < len(ff) and i + k < len(tokens) and ff[k] == tokens[i + k]:
            k += 1
        if k:
            if not matcher.consume_tokens(tokens[i : i + k]):
                return forced, i, False
            forced += k
            i += k
            continue
        if not matcher.consume_tokens([tokens[i]]):
            return forced, i, False
        i += 1
    return forced, len(tokens), True


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("calls", type=Path, help="calls.jsonl written by benchmarks/fair_arms.py")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--max-text-chars", type=int, default=200, help="as in the fair_arms run")
    parser.add_argument("--summary", default="benchmarks/results/forced_tokens.json")
    args = parser.parse_args()
    hf = transformers.AutoTokenizer.from_pretrained(str(args.model_dir))
    tokenizer = llguidance.hf.from_tokenizer(hf)  # type: ignore[arg-type]
    rows: dict[tuple[str, str], list[tuple[int, int, bool]]] = {}
    grammars: dict[tuple[str, str], str] = {}
    for line in args.calls.read_text().splitlines():
        record = json.loads(line)
        layout = LAYOUT.get(record["arm"])
        if layout is None or not record.get("ok") or not record.get("texts"):
            continue
        key = (record["task"], layout)
        if key not in grammars:
            grammars[key] = grammar(ZOO[record["task"]], layout, args.max_text_chars)
        rows.setdefault(key, []).append(forced_share(tokenizer, grammars[key], record["texts"][-1]))
    table: dict[str, dict[str, Any]] = {}
    totals = {"chat": [0, 0], "json": [0, 0]}
    for (task, layout), results in sorted(rows.items()):
        forced = sum(f for f, _, _ in results)
        total = sum(t for _, t, _ in results)
        totals[layout][0] += forced
        totals[layout][1] += total
        table.setdefault(task, {})[layout] = {
            "answers": len(results),
            "walked_completely": sum(ok for _, _, ok in results),
            "tokens_per_answer": round(total / len(results), 1),
            "forced_share": round(forced / total, 4) if total else None,
            "forced_share_per_answer_median": round(statistics.median(f / t for f, t, _ in results if t), 4),
        }
    result = {
        "benchmark": "forced_tokens",
        "command": "python benchmarks/forced_tokens.py " + " ".join(sys.argv[1:]),
        "provenance": provenance(),
        "tokenizer": str(args.model_dir.name),
        "per_signature": table,
        "overall": {
            layout: {"forced": f, "tokens": t, "share": round(f / t, 4) if t else None}
            for layout, (f, t) in totals.items()
        },
    }
    Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
    Path(args.summary).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'signature':12} {'chat share':>11} {'chat tok':>9} {'json share':>11} {'json tok':>9}")
    for task, layouts in table.items():
        c, j = layouts.get("chat", {}), layouts.get("json", {})
        print(
            f"{task:12} {c.get('forced_share', '-')!s:>11} {c.get('tokens_per_answer', '-')!s:>9} "
            f"{j.get('forced_share', '-')!s:>11} {j.get('tokens_per_answer', '-')!s:>9}"
        )
    print("overall", json.dumps(result["overall"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
