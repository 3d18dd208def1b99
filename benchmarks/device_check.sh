#!/usr/bin/env bash
# The GPU device check in one call: installs the wheel bundle, then runs benchmarks/device_check.py.
#
# On the device machine (the repository root, `wheels` carried; build it first with
# `python scripts/device_wheels.py`):
#
#     bash benchmarks/device_check.sh                     # all parts, 450 s budget, $OUT/device_check.json
#     bash benchmarks/device_check.sh --parts cartpole_balance --budget 240
#
# The bundle holds only what the device image lacks and is installed with --no-deps (the image has
# the rest; a resolving install would stop at packages left out on purpose, see scripts/device_wheels.py)
# into its own folder on PYTHONPATH, so the image's packages stay as they are.
# RLX_WHEELS (default wheels), RLX_SITE (default /tmp/rlx-site) and PYTHON (default python3) change them.
set -u
cd "$(dirname "$0")/.." || exit 2
WHEELS=${RLX_WHEELS:-wheels}
SITE=${RLX_SITE:-/tmp/rlx-site}
PY=${PYTHON:-python3}
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  t0=$(date +%s)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --find-links "$WHEELS" --target "$SITE" "$WHEELS"/*.whl || { echo "device_check.sh: wheel install failed" >&2; exit 2; }
  echo "device_check.sh: $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS/ into $SITE in $(($(date +%s) - t0)) s"
else
  echo "device_check.sh: no wheels in $WHEELS/ (python scripts/device_wheels.py builds them); running with what is installed"
fi
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "$PY" benchmarks/device_check.py "$@"
