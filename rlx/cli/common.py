"""What every ``rlx`` command shares: ``key=value`` arguments and one way to end.

A known error (a bad argument, a bad config, a missing run folder or checkpoint, a failed upload)
is the user's to fix, so it is one line on stderr, ``rlx <cmd>: error: ...``, and status 2, never a
traceback; any other exception is a bug and keeps its traceback. Ctrl-C is one line and status 130,
the shell's code for SIGINT, so scripts can tell an interrupted run from a failed one.

Nothing here imports jax or the command's own machinery: ``--help`` and argument errors answer at
once, before any compile.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from rlx.errors import first_line

HELP = ("-h", "--help")
# known error types: classes, or "module:Class" matched only if the module is already imported, so
# naming CheckpointError does not import orbax and jax for a command that never got that far
# OSError: a full disk, a read-only filesystem, a permission: the machine's state, not a bug to trace
ALWAYS_KNOWN = ("rlx.cli.common:UsageError", "rlx.config.schema:ConfigError", OSError)


class UsageError(ValueError):
    """A bad command line; ``str(err)`` is the one line the user sees."""


def argv_of(argv: Sequence[str] | None) -> list[str]:
    return list(sys.argv[1:] if argv is None else argv)


def wants_help(argv: Sequence[str]) -> bool:
    return any(a in HELP for a in argv)


def print_help(doc: str | None) -> int:
    print((doc or "").strip())
    return 0


def _known(err: BaseException, known: Sequence[str | type]) -> bool:
    for spec in (*ALWAYS_KNOWN, *known):
        if isinstance(spec, type):
            cls = spec
        else:
            module, _, name = spec.partition(":")
            cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(err, cls):
            return True
    return False


def run(
    cmd: str, body: Callable[[], int | None], *, known: Sequence[str | type] = (), interrupted: str = "interrupted"
) -> int:
    """``body()``'s status (None is 0), with known errors and Ctrl-C turned into one stderr line."""
    try:
        return body() or 0
    except KeyboardInterrupt as err:  # the runner's says where the run stopped and how to continue it
        print(f"rlx {cmd}: {first_line(err) if str(err) else interrupted}", file=sys.stderr)
        return 130
    except Exception as err:
        if not _known(err, known):
            raise
        print(f"rlx {cmd}: error: {first_line(err)}", file=sys.stderr)
        return getattr(err, "exit_status", 2)


# ---------------------------------------------------------------- key=value arguments


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _convert(name: str, tp: Any, value: str) -> Any:
    value = _unquote(value)
    if tp is str:
        return value
    if value.lower() in ("null", "none") and tp is not bool:
        return None
    try:
        if tp is bool:
            if value.lower() not in ("true", "false"):
                raise ValueError
            return value.lower() == "true"
        if tp is int:
            try:
                return int(value)
            except ValueError:
                number = float(value)  # 1e5, as Hydra's overrides allow
                if not number.is_integer():
                    raise
                return int(number)
        if tp is list:
            inner = value[1:-1] if value.startswith("[") and value.endswith("]") else value
            return [_unquote(v) for v in inner.split(",")] if inner.strip() else []
        return tp(value)
    except ValueError:
        expected = {bool: "true or false", list: "a list [a,b,...]"}.get(tp, getattr(tp, "__name__", str(tp)))
        raise UsageError(f"{name}: expected {expected}, got {value!r}") from None


def parse(argv: Sequence[str], options: dict[str, Any], defaults: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Positionals and typed options from ``key=value`` arguments (``options`` maps each key to
    ``int``, ``float``, ``bool``, ``str`` or ``list``).

    The old ``--key value``, ``--key=value`` and ``--flag`` (a bool option set to true) spellings
    are read as ``key=value``, so scripts written for the argparse commands keep working."""
    allowed = ", ".join(f"{k}=" for k in options)
    positionals: list[str] = []
    opts = dict(defaults)
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            name = name.replace("-", "_")
            if name not in options:
                raise UsageError(f"{arg}: unknown option; allowed: {allowed}")
            if not sep:
                if options[name] is bool:
                    value = "true"
                elif i < len(args):
                    value, i = args[i], i + 1
                else:
                    raise UsageError(f"{arg}: needs a value ({name}=...)")
        elif arg.startswith("-") and len(arg) > 1:
            raise UsageError(f"{arg}: unknown option; allowed: {allowed}")
        elif "=" in arg:
            name, _, value = arg.partition("=")
            if name not in options:
                raise UsageError(f"{arg}: unknown option; allowed: {allowed}")
        else:
            positionals.append(arg)
            continue
        opts[name] = _convert(name, options[name], value)
    return positionals, opts
