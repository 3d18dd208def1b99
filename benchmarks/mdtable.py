"""Writes a benchmark's rows into its own marked section of BENCHMARKS.md (replacing the old rows)."""

from __future__ import annotations

import datetime
import pathlib
import platform

ROOT = pathlib.Path(__file__).resolve().parent.parent


def machine() -> str:
    import os

    import jax

    dev = jax.devices()[0]
    kind = "GPU " + dev.device_kind if dev.platform == "gpu" else f"CPU {os.cpu_count()} cores"
    return f"{platform.node() or 'host'}: {kind}, Python {platform.python_version()}, jax {jax.__version__}"


def today() -> str:
    return datetime.date.today().isoformat()


def write_section(name: str, title: str, body: str, path: pathlib.Path = ROOT / "BENCHMARKS.md"):
    start, end = f"<!-- rlx:{name} -->", f"<!-- /rlx:{name} -->"
    block = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# rlx benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
