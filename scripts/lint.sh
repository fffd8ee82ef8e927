#!/usr/bin/env bash
# Every configured check: ruff lint, ruff format, mypy, and the schema-model drift check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$LIFT_ROOT"
ruff check .
ruff format --check .
mypy
lift-dspy schemas check
