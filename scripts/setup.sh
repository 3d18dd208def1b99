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
find_python() {
  if [ -n "${RLX_PYTHON:-}" ]; then echo "$RLX_PYTHON"; return; fi
  for cand in python3.13 python3.12 python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$cand"; return
    fi
  done
  # pyenv shims refuse unless a version is selected
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -rV); do
      if PYENV_VERSION="$v" pyenv exec python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
        echo "PYENV_VERSION=$v pyenv exec python"; return
      fi
    done
  fi
  echo "rlx: no Python >= 3.12 found (set RLX_PYTHON)" >&2; exit 1
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
