# Sourced by scripts/main.sh, scripts/test.sh and .ci/run: creates (or reuses) the pinned
# virtualenv and puts it first on PATH.
#
# The heavy part (vLLM CPU build, torch 2.13 CPU, DSPy: ~3.4 GB, ~2-4 min) lives OUTSIDE the
# checkout, keyed by the sha256 of .ci/requirements.txt, so a second run or a second checkout reuses
# it; a changed requirements file gets a fresh one. lift-dspy itself is installed editable on top.
# Override the location with LIFT_DSPY_VENV_ROOT.
set -euo pipefail

LIFT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_req="$LIFT_ROOT/.ci/requirements.txt"
_key="$(sha256sum "$_req" | cut -c1-12)"
_root="${LIFT_DSPY_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/lift-dspy-ci}"
LIFT_VENV="$_root/venv-$_key"

_python() {
    for candidate in python3.11 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
            echo "$candidate"
            return 0
        fi
    done
    echo "lift-dspy needs Python >= 3.11 on PATH" >&2
    return 1
}

if [ ! -f "$LIFT_VENV/.complete" ]; then
    echo "[lift-dspy] creating $LIFT_VENV (vLLM CPU + torch + DSPy, a few minutes, once)" >&2
    rm -rf "$LIFT_VENV"
    mkdir -p "$_root"
    "$(_python)" -m venv "$LIFT_VENV"
    "$LIFT_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$LIFT_VENV/bin/python" -m pip install -q -r "$_req"
    # PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `import vllm` on a CPU
    # torch; triton is unused on CPU.
    "$LIFT_VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec triton >/dev/null 2>&1 || true
    touch "$LIFT_VENV/.complete"
fi
_log="$(mktemp)"
if ! { "$LIFT_VENV/bin/python" -m pip install -q -r "$LIFT_ROOT/.ci/requirements-pins.txt" \
        && "$LIFT_VENV/bin/python" -m pip install -q --no-deps -e "$LIFT_ROOT"; } >"$_log" 2>&1; then
    cat "$_log" >&2
    exit 1
fi
rm -f "$_log"
export PATH="$LIFT_VENV/bin:$PATH"
export VIRTUAL_ENV="$LIFT_VENV"
