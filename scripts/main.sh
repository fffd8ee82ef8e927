#!/usr/bin/env bash
# The main job: IR-to-code (NL request -> IR -> TypeScript/Rust/Go/Java -> real compilers) on the
# embedded default (a local vLLM with SmolLM2-135M-Instruct, started and stopped by lift-dspy).
# Extra arguments go to examples/ir_to_code.py (--lang, --spec, --api-base, --model, ...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$LIFT_ROOT/.ci/install-toolchains.sh"
exec python "$LIFT_ROOT/examples/ir_to_code.py" "$@"
