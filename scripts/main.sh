#!/usr/bin/env bash
# The main job: IR-to-code (NL request -> IR -> TypeScript/Rust/Go/Java -> real compilers) on the
# embedded default (a local vLLM with SmolLM2-135M-Instruct, started and stopped by lift-dspy).
# Each function is written as raw source under its language's grammar with the IR's header forced
# (--code-form grammar-code, the default; --code-form json-parts for the JSON implementation object).
# Steps are printed to stderr as they start, with the elapsed time (--quiet to silence them).
# Extra arguments go to examples/ir_to_code.py (--lang, --spec, --api-base, --model, --code-form, ...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$LIFT_ROOT/.ci/install-toolchains.sh"
exec python "$LIFT_ROOT/examples/ir_to_code.py" "$@"
