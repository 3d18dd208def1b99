"""The ``rlx`` commands, each ``main(argv) -> int`` in ``rlx.cli.<command>`` and installed as
``rlx-<command>``; ``rlx <command> ...`` (``python -m rlx <command> ...``) runs the same ones.

Without a command name the arguments go to ``train``, so ``python -m rlx +bench=...`` keeps working:
a train argument is always ``key=value``, never a bare command name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = ("train", "enjoy", "plot", "hub", "search")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        name, argv = argv[0], argv[1:]
    else:
        name = "train"
        if argv and argv[0] in ("-h", "--help"):
            print(f"usage: rlx [{'|'.join(COMMANDS)}] [argument ...]  (default: train; rlx <command> --help)\n")
    return importlib.import_module(f"rlx.cli.{name}").main(argv)
