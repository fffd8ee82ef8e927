#!/usr/bin/env bash
# Install the compilers lift-dspy's IR-to-code checks need: tsc, rustc, go, javac.
#
# Idempotent and quick when everything is present; never prompts. TypeScript goes into a
# user cache (no global npm install); the rest come from Debian packages (run as root) or,
# for Rust, rustup. Usage: bash .ci/install-toolchains.sh [typescript|rust|go|java ...]
set -euo pipefail

CACHE="${LIFT_DSPY_TOOLCHAINS:-${XDG_CACHE_HOME:-$HOME/.cache}/lift-dspy/toolchains}"
TS_VERSION="${LIFT_DSPY_TS_VERSION:-5}"
WANT=("$@")
[ ${#WANT[@]} -eq 0 ] && WANT=(typescript rust go java)

log() { printf '[toolchains] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
    if ! have apt-get; then
        log "apt-get not found: install $* with your system's package manager"
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if have sudo && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            log "need root (or passwordless sudo) to apt-get install $*"
            return 1
        fi
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_typescript() {
    local tsc="$CACHE/npm/node_modules/.bin/tsc"
    if have tsc || [ -x "$tsc" ]; then return 0; fi
    if ! have npm; then apt_install nodejs npm; fi
    log "installing typescript@$TS_VERSION into $CACHE/npm"
    mkdir -p "$CACHE/npm"
    npm install --prefix "$CACHE/npm" --no-audit --no-fund --silent "typescript@$TS_VERSION" >/dev/null
}

# Sources of real functions for the code-grammar corpus test (tests/corpus/code_corpus.py): rxjs's .ts
# files, Rust's std sources, the JDK's src.zip (Go's std sources come with go itself).
install_corpus_sources() {
    case "$1" in
        typescript | ts)
            [ -d "$CACHE/npm/node_modules/rxjs/src" ] && return 0
            have npm || return 0
            log "installing rxjs@7 sources into $CACHE/npm"
            npm install --prefix "$CACHE/npm" --no-audit --no-fund --silent "rxjs@7" >/dev/null ;;
        rust | rs)
            local sysroot=""
            have rustc && sysroot="$(rustc --print sysroot 2>/dev/null || true)"
            [ -n "$sysroot" ] && [ -d "$sysroot/lib/rustlib/src/rust/library/core" ] && return 0
            [ -d /usr/lib/rustlib/src/rust/library/core ] && return 0
            log "installing Rust std sources (Debian rust-src)"
            apt_install rust-src ;;
        java)
            ls /usr/lib/jvm/*/lib/src.zip >/dev/null 2>&1 && return 0
            log "installing the JDK sources (Debian openjdk-17-source)"
            apt_install openjdk-17-source ;;
    esac
}

install_rust() {
    if have rustc || [ -x "$HOME/.cargo/bin/rustc" ]; then return 0; fi
    log "installing rustc (Debian package)"
    apt_install rustc
}

install_go() {
    if have go || [ -x /usr/lib/go/bin/go ]; then return 0; fi
    log "installing go (Debian golang-go)"
    apt_install golang-go
}

install_java() {
    if have javac; then return 0; fi
    log "installing javac (Debian default-jdk-headless)"
    apt_install default-jdk-headless
}

status=0
for lang in "${WANT[@]}"; do
    start=$(date +%s)
    case "$lang" in
        typescript | ts) install_typescript || status=1 ;;
        rust | rs) install_rust || status=1 ;;
        go | golang) install_go || status=1 ;;
        java) install_java || status=1 ;;
        *) log "unknown toolchain: $lang (expected typescript, rust, go, java)"; status=1 ;;
    esac
    install_corpus_sources "$lang" || log "$lang: corpus sources not installed (the corpus test will skip)"
    end=$(date +%s)
    [ $((end - start)) -gt 0 ] && log "$lang: $((end - start)) s"
done

# Print what a check would use (the same lookup order as lift_dspy.programs.toolchains).
PATH="$PATH:$CACHE/npm/node_modules/.bin:$HOME/.cargo/bin:/usr/lib/go/bin"
for pair in "typescript:tsc --version" "rust:rustc --version" "go:go version" "java:javac -version"; do
    name="${pair%%:*}"
    cmd="${pair#*:}"
    if have "${cmd%% *}"; then
        printf '%-10s %s\n' "$name" "$($cmd 2>&1 | head -1)"
    else
        printf '%-10s MISSING\n' "$name"
        status=1
    fi
done
exit "$status"
