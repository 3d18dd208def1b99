"""usage: rlx-enjoy <run folder> [key=value ...]

Replays a trained run: loads one of its checkpoints, plays ``episodes`` evaluation episodes per seed
with the algorithm's ``act`` on a fresh env (its observation normaliser frozen at the checkpoint's
statistics) and prints their returns beside the run's final total_reward.

  checkpoint=latest     latest | best | <update>
  episodes=10           episodes per seed
  seed=<seed>           one seed of the run, as in metrics.csv (default: all)
  deterministic=false   true: act with the distribution's mode
  key=0                 evaluation PRNG seed
  video=false           true | <path.mp4|.gif>: record one episode of the first chosen seed
                        (true: <run>/videos/, mp4 when imageio-ffmpeg is installed, else gif)
  max_steps=100000      cut episodes still running after this many steps

Also ``python -m rlx.enjoy``. Exit status: 0 done, 2 bad argument / run folder / checkpoint, 130 Ctrl-C.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Sequence

from rlx.cli.common import UsageError, argv_of, parse, print_help, run, wants_help

USAGE = __doc__.strip().splitlines()[0].removeprefix("usage: ")
OPTIONS = {
    "episodes": int,
    "seed": int,
    "deterministic": bool,
    "key": int,
    "checkpoint": str,
    "video": str,
    "max_steps": int,
}
DEFAULTS = {
    "episodes": 10,
    "seed": None,
    "deterministic": False,
    "key": 0,
    "checkpoint": "latest",
    "video": "false",
    "max_steps": 100_000,
}
KNOWN = ("rlx.evaluate.enjoy:EnjoyError", "rlx.experiment.checkpoint:CheckpointError")


def _parse(argv: Sequence[str]) -> tuple[pathlib.Path, dict]:
    positionals, opts = parse(argv, OPTIONS, DEFAULTS)
    if len(positionals) != 1:
        raise UsageError(f"usage: {USAGE}")
    if opts["episodes"] is None or opts["episodes"] <= 0 or opts["max_steps"] is None or opts["max_steps"] <= 0:
        raise UsageError("episodes and max_steps must be > 0")
    run_dir = pathlib.Path(positionals[0])
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: no such run folder")
    return run_dir, opts


def _headless_gl() -> None:
    """MuJoCo picks its OpenGL backend once, when it is imported: without a display that must be EGL,
    so it is chosen here, before the replay imports any env, and only when the user has not."""
    if "MUJOCO_GL" not in os.environ and "DISPLAY" not in os.environ:
        os.environ["MUJOCO_GL"] = "egl"


def _enjoy(argv: Sequence[str]) -> None:
    run_dir, opts = _parse(argv)
    _headless_gl()
    from rlx.evaluate.enjoy import enjoy

    enjoy(run_dir, **opts)


def main(argv: Sequence[str] | None = None) -> int:
    argv = argv_of(argv)
    if wants_help(argv):
        return print_help(__doc__)
    return run("enjoy", lambda: _enjoy(argv), known=KNOWN)


if __name__ == "__main__":
    sys.exit(main())
