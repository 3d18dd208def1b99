"""usage: rlx-hub push <run folder> [...] [repo=<user/name>]
       rlx-hub pull <pattern> [repo=<user/name>] [dest=runs] [force=true]
       rlx-hub list [repo=<user/name>]

Mirrors run folders to a HuggingFace Hub repo and fetches them back. One repo holds many runs, each
under its folder name; a pulled run is an ordinary run folder (replay it with rlx-enjoy, finish it
with ``rlx-train resume=<folder>``).

  push                  upload run folders (remote files the folder no longer has are deleted)
  pull <pattern>        download every run whose name contains the pattern (or matches it as a glob)
  list                  the runs in the repo

  repo=<user/name>      default: $RLX_HUB_REPO
  repo_type=model       model | dataset
  dest=runs             pull: the folder the runs land in
  force=false           pull: replace local run folders of the same name

The endpoint is huggingface_hub's (``HF_ENDPOINT``); the token comes from ``HF_TOKEN`` or
``hf auth login`` through huggingface_hub alone. Needs the ``hub`` extra (``pip install 'rlx[hub]'``).
Also ``python -m rlx.hub``. Exit status: 0 done, 2 bad argument / failed Hub operation, 130 Ctrl-C.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Sequence

from rlx.cli.common import UsageError, argv_of, parse, print_help, run, wants_help

COMMON = {"repo": str, "repo_type": str}
OPTIONS = {"push": COMMON, "list": COMMON, "pull": {**COMMON, "dest": str, "force": bool}}
DEFAULTS = {"repo": None, "repo_type": "model", "dest": "runs", "force": False}
USAGE = "rlx-hub push|pull|list ... (rlx-hub --help)"


def _hub(argv: Sequence[str], backend) -> None:
    if not argv or argv[0] not in OPTIONS:
        got = f"unknown command {argv[0]!r}; " if argv else ""
        raise UsageError(f"{got}usage: {USAGE}")
    cmd = argv[0]
    options = OPTIONS[cmd]
    positionals, opts = parse(argv[1:], options, {k: v for k, v in DEFAULTS.items() if k in options})
    if opts["repo_type"] not in ("model", "dataset"):
        raise UsageError(f"repo_type: model or dataset, got {opts['repo_type']!r}")
    if cmd == "push" and not positionals:
        raise UsageError("push: give the run folders to upload")
    if cmd == "pull" and len(positionals) != 1:
        raise UsageError("pull: give one pattern (the runs whose name contains it)")
    if cmd == "list" and positionals:
        raise UsageError(f"list: takes no {positionals[0]!r}, only repo= and repo_type=")

    from rlx.experiment import hub

    try:
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # its retry warnings; a failure still ends in our one line
    except ImportError:
        pass
    repo, repo_type = opts["repo"], opts["repo_type"]
    if cmd == "push":
        for folder in positionals:
            url = hub.push(pathlib.Path(folder), repo, repo_type=repo_type, backend=backend)
            print(f"pushed {folder} -> {url}")
    elif cmd == "list":
        for name in hub.list_runs(repo, repo_type=repo_type, backend=backend):
            print(name)
    else:
        pulled = hub.pull(
            positionals[0],
            repo,
            dest=pathlib.Path(opts["dest"]),
            repo_type=repo_type,
            backend=backend,
            force=opts["force"],
        )
        for path in pulled:
            print(f"pulled {path}")


def main(argv: Sequence[str] | None = None, backend=None) -> int:
    """``backend``: a ``rlx.experiment.hub.Backend`` to use instead of the Hub (tests)."""
    argv = argv_of(argv)
    if wants_help(argv):
        return print_help(__doc__)
    return run("hub", lambda: _hub(argv, backend), known=("rlx.experiment.hub:HubError",))


if __name__ == "__main__":
    sys.exit(main())
