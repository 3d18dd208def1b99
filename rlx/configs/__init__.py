"""The bench yaml files (Hydra config module), and the one way a generator script writes them."""

from __future__ import annotations

import pathlib
import sys


def write_or_check(files: dict[pathlib.Path, str], check: bool, regenerate: str) -> int:
    """Writes each generated bench file, or with ``check`` (a CI guard) writes nothing and returns 1,
    naming the stale files and the command that refreshes them, when any differs from its text."""
    stale = [p.name for p, text in files.items() if not p.exists() or p.read_text() != text] if check else []
    for path, text in files.items() if not check else ():
        path.write_text(text)
    if stale:
        print(f"stale benches (run {regenerate}): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0
