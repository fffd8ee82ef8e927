#!/usr/bin/env bash
# The whole test suite: fast layers, real compilers, and end-to-end tests against real vLLM
# servers that the tests start themselves. Extra arguments go to pytest (e.g. -m "not vllm").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$LIFT_ROOT/.ci/install-toolchains.sh"
export LIFT_DSPY_REQUIRE_VLLM=1   # a broken vLLM install fails the suite instead of skipping it
cd "$LIFT_ROOT"
exec python -m pytest "$@"
