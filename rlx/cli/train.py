"""usage: rlx-train [+bench=<suite>/<env>] [algo=<name>] [key=value ...]
       rlx-train resume=<run folder>

Trains one rlx trial (``num_seeds`` seeds vmapped in one compiled program) and writes its run folder
under ``logger.out_dir``. Every argument is a Hydra override of the run config: ``+bench=`` picks an
env with its tuned settings, ``algo=`` an algorithm, and ``key=value`` sets any field
(``algo.lr=1e-3``, ``max_frame=1e5``, ``num_seeds=8``, ``logger.out_dir=runs``, ...). The config is
composed and validated before anything is built or compiled: a bad override is one line and exit 2.

  sweep.KEY=[a,b,...]   train every combination x seed in one program (a hyperparameter sweep;
                        also KEY__choice / __uniform / __loguniform with sweep.samples=N)
  resume=<run folder>   continue an interrupted run with the config saved in the folder, from its
                        newest checkpoint that restores (damaged ones are skipped with a line);
                        checkpoint=<latest|best|update> picks one (later ones are removed);
                        a folder with no checkpoint yet starts over; a sweep folder
                        continues the sweep: finished programs are skipped

Also ``python -m rlx.train``. Exit status: 0 done, 2 bad config / run folder / checkpoint, 3 training diverged
(non-finite loss: the folder keeps every finite row and checkpoint), 130 Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rlx.cli.common import argv_of, run, wants_help

KNOWN = ("rlx.experiment.checkpoint:CheckpointError", "rlx.experiment.loop:TrainingDiverged")


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
    which = [a.split("=", 1)[1] for a in argv if a.startswith("checkpoint=")]
    if which and not resume:
        raise ConfigError(f"checkpoint={which[0]}: picks the checkpoint to resume; give resume=<run folder> with it")
    if resume:
        others = [a for a in argv if not a.startswith(("resume=", "checkpoint="))]
        if others or len(resume) > 1 or len(which) > 1:
            raise ConfigError(
                f"resume: takes the run folder and at most checkpoint=<latest|best|update> (its config.yaml "
                f"is used), got {' '.join(argv)}"
            )
        from rlx.experiment.checkpoint import parse_which
        from rlx.tune import sweep

        which = [parse_which(w) for w in which]
        if sweep.is_sweep_folder(resume[0]):  # a killed sweep: every unfinished trial continues
            if which:
                raise ConfigError("checkpoint: a sweep resumes from the step its trials share; give resume= alone")
            sweep.resume(resume[0])
            return
        try:
            config = load_run(resume[0])
        except ConfigError as err:
            raise ConfigError(f"resume: {err}") from None
    else:
        config = load(*argv)
    from rlx.algos import algo_module
    from rlx.experiment import runner

    algo_module(config.algo.name)  # import errors surface here, before compiling
    if resume:
        runner.run(config, resume[0], resume=True, checkpoint=which[0] if which else "latest")
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
            interrupted="sweep interrupted; continue it with: rlx-train resume=<sweep folder>",
        )
    interrupted = "interrupted; the run folder keeps every finished log point"
    return run("train", lambda: _train(argv), known=KNOWN, interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
