"""``python -m rlx.train [+bench=<suite>/<env>] [algo=<name>] [key=value ...]``

Composes and validates the config before anything is built or compiled; a bad override prints one
line naming the key and what is allowed and exits with status 2.
``python -m rlx.train ... sweep.algo.lr=[1e-4,3e-4]`` trains every combination x seed in one program
(``rlx.tune.sweep``). ``python -m rlx.train resume=<run folder>`` continues an interrupted run from its
latest checkpoint with the config saved in the folder, and ``resume=<sweep folder>`` an interrupted
sweep (a missing or unreadable folder or checkpoint: one line, exit 2, and the folder keeps what it had).
"""

from __future__ import annotations

import sys

USAGE = __doc__.strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        from rlx.config.compose import available

        print(USAGE)
        print("benches:", ", ".join(available("bench")))
        print("algos:  ", ", ".join(available("algo")))
        return 0
    if any(a.lstrip("+").startswith("sweep.") for a in argv):  # a vmapped hyperparameter sweep
        from rlx.tune import sweep

        return sweep.main(argv)
    from rlx.experiment.checkpoint import CheckpointError
    from rlx.config.compose import load, load_run
    from rlx.config import ConfigError

    resume = [a.split("=", 1)[1] for a in argv if a.startswith("resume=")]
    try:
        if resume:
            others = [a for a in argv if not a.startswith("resume=")]
            if others or len(resume) > 1:
                raise ConfigError(f"resume: takes only the run folder (its config.yaml is used), got {' '.join(argv)}")
            from rlx.tune import sweep

            if sweep.is_sweep_folder(resume[0]):  # a killed sweep: every trial continues
                sweep.resume(resume[0])
                return 0
            config = load_run(resume[0])
        else:
            config = load(*argv)
        from rlx.experiment import runner
        from rlx.algos import algo_module

        algo_module(config.algo.name).make_algo  # import errors surface here, before compiling
        if resume:
            runner.run(config, resume[0], resume=True)
        else:
            runner.run(config)
    except (ConfigError, CheckpointError) as err:
        print(f"rlx: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlx: interrupted; the run folder keeps every finished log point", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
