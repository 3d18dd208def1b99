"""usage: rlx-train [+bench=<suite>/<env>] [algo=<name>] [key=value ...]
       rlx-train resume=<run folder>

Trains one rlx trial (``num_seeds`` seeds vmapped in one compiled program) and writes its run folder
under ``logger.out_dir``. Every argument is a Hydra override of the run config: ``+bench=`` picks an
env with its tuned settings, ``algo=`` an algorithm, and ``key=value`` sets any field
(``algo.lr=1e-3``, ``max_frame=1e5``, ``num_seeds=8``, ``logger.out_dir=runs``, ...). The config is
composed and validated before anything is built or compiled: a bad override is one line and exit 2.

  sweep.KEY=[a,b,...]   train every combination x seed in one program (a hyperparameter sweep;
                        also KEY__choice / __uniform / __loguniform with sweep.samples=N)
  resume=<run folder>   continue an interrupted run from its latest checkpoint with the config
                        saved in the folder (nothing else on the command line)

Also ``python -m rlx.train``. Exit status: 0 done, 2 bad config / run folder / checkpoint, 130 Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rlx.cli.common import argv_of, run, wants_help

KNOWN = ("rlx.experiment.checkpoint:CheckpointError",)


def _help(argv: list[str]) -> int:
    """The usage, then every key with the value this command line would use (defaults, the bench and
    its tuned section applied) and its help: ``rlx-train +bench=classic/pendulum algo=sac --help``."""
    from rlx.config import ConfigError
    from rlx.config.compose import available, load
    from rlx.config.schema import describe

    print(__doc__.strip())
    print()
    print("benches:", ", ".join(available("bench")))
    print("algos:  ", ", ".join(available("algo")))
    try:
        config = load(*[a for a in argv if a not in ("-h", "--help") and not a.startswith("resume=")])
    except ConfigError as err:
        print(f"\n(keys not shown: {err})")
        return 0
    rows = [r for r in describe(config) if not r[0].startswith("algo.")] + describe(config.algo, "algo.")
    width = min(max(len(k) + len(v) for k, v, _ in rows) + 3, 48)
    print(f"\nkeys for algo={config.algo.name}" + (f" +bench={config.bench}" if config.bench else "") + ":")
    for key, value, text in rows:
        print(f"  {key}={value}".ljust(width + 2) + (f" {text}" if text else ""))
    return 0


def _sweep(argv: list[str]) -> None:
    from rlx.tune import sweep

    sweep.sweep(argv)


def _train(argv: list[str]) -> None:
    from rlx.config import ConfigError
    from rlx.config.compose import load, load_run

    resume = [a.split("=", 1)[1] for a in argv if a.startswith("resume=")]
    if resume:
        others = [a for a in argv if not a.startswith("resume=")]
        if others or len(resume) > 1:
            raise ConfigError(f"resume: takes only the run folder (its config.yaml is used), got {' '.join(argv)}")
        config = load_run(resume[0])
    else:
        config = load(*argv)
    from rlx.algos import algo_module
    from rlx.experiment import runner

    algo_module(config.algo.name)  # import errors surface here, before compiling
    if resume:
        runner.run(config, resume[0], resume=True)
    else:
        runner.run(config)


def main(argv: Sequence[str] | None = None) -> int:
    argv = argv_of(argv)
    if wants_help(argv):
        return _help(argv)
    if any(a.lstrip("+").startswith("sweep.") for a in argv):
        return run(
            "train",
            lambda: _sweep(argv),
            known=KNOWN,
            interrupted="sweep interrupted; trials/*/metrics.csv keep every finished log point",
        )
    interrupted = "interrupted; the run folder keeps every finished log point"
    return run("train", lambda: _train(argv), known=KNOWN, interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
