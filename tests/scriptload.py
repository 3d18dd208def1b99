"""The repository's scripts (benchmarks/, scripts/) are files, not a package: tests load them by path."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_script(rel: str):
    """The module of the script at ``ROOT/rel``, registered under its file name (dataclasses in it look
    their module up in ``sys.modules``)."""
    name = pathlib.Path(rel).stem
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
