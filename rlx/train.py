"""``python -m rlx.train [+bench=<suite>/<env>] [algo=<name>] [key=value ...]``

Composes and validates the config before anything is built or compiled; a bad override prints one
line naming the key and what is allowed and exits with status 2.
"""

from __future__ import annotations

import sys

USAGE = __doc__.strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        from rlx.cli_config import available

        print(USAGE)
        print("benches:", ", ".join(available("bench")))
        print("algos:  ", ", ".join(available("algo")))
        return 0
    from rlx.cli_config import load
    from rlx.config import ConfigError

    try:
        config = load(*argv)
        from rlx import runner
        from rlx.algos import algo_module

        algo_module(config.algo.name).make_algo  # import errors surface here, before compiling
        runner.run(config)
    except ConfigError as err:
        print(f"rlx: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlx: interrupted; the run folder keeps every finished log point", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
