#!/usr/bin/env bash
# Creates .venv with Python >= 3.12 and installs rlx into it (editable), with optional extras.
#   bash scripts/setup.sh            # core
#   bash scripts/setup.sh dev        # core + test tools
#   bash scripts/setup.sh dev,envpool
# Python 3.12 is the floor: jax 0.10.2 (the newest jax for 3.11) hangs on vmapped multi-seed
# training on CPU; jax >= 0.11.2 on 3.12 does not. RLX_PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
ok() { env "$@" -c 'import sys; sys.exit(not (3, 12) <= sys.version_info[:2] < (3, 14))' >/dev/null 2>&1; }
find_python() {
  # 3.12 first (what rlx is measured on), then 3.13; pyenv shims refuse unless a version is selected
  if [ -n "${RLX_PYTHON:-}" ]; then echo "$RLX_PYTHON"; return; fi
  for minor in 12 13; do
    if command -v "python3.$minor" >/dev/null 2>&1 && ok "python3.$minor"; then echo "python3.$minor"; return; fi
    if command -v pyenv >/dev/null 2>&1; then
      for v in $(pyenv versions --bare 2>/dev/null | grep -E "^3\.$minor(\.|$)" | sort -rV); do
        if ok PYENV_VERSION="$v" pyenv exec python; then echo "PYENV_VERSION=$v pyenv exec python"; return; fi
      done
    fi
  done
  for cand in python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && ok "$cand"; then echo "$cand"; return; fi
  done
  echo "rlx: no Python 3.12 or 3.13 found (set RLX_PYTHON)" >&2; exit 1
}
PY=$(find_python)
if [ ! -x .venv/bin/python ]; then
  env $PY -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
spec="."
[ -n "$extras" ] && spec=".[$extras]"
.venv/bin/python -m pip install -q -e "$spec"
echo "rlx: installed into .venv ($(.venv/bin/python --version))"
