"""usage: rlx-plot <run folder, sweep folder or metrics.csv> [...] [key=value ...]

Overlays the learning curves of several runs in one PNG: per run, the mean over its seeds against
frames with a band of one standard deviation (clipped to the seeds' range). Prints the PNG's path.

  title="learning curves"   the graph's title
  column=total_reward       the metrics.csv column to draw (e.g. total_reward_ma)
  out=<path.png>            written as given; default runs/plots/<title>.png, or <title>_2.png ...
                            when that exists (an earlier plot is never replaced)
  target=<number>           draw a horizontal target line
  labels=[a,b,...]          legend labels, one per run (default: "<algo> <env> (<folder>)")

Also ``python -m rlx.plot``. Exit status: 0 written, 2 bad argument / missing metrics.csv, 130 Ctrl-C.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Sequence

from rlx.cli.common import UsageError, argv_of, parse, print_help, run, wants_help
from rlx.errors import first_line

USAGE = __doc__.strip().splitlines()[0].removeprefix("usage: ")
OPTIONS = {"title": str, "column": str, "out": str, "target": float, "labels": list}
DEFAULTS = {"title": "learning curves", "column": "total_reward", "out": None, "target": None, "labels": None}


class PlotError(ValueError):
    """A run without the data to draw; ``str(err)`` is one line."""


def _plot(argv: Sequence[str]) -> None:
    positionals, opts = parse(argv, OPTIONS, DEFAULTS)
    if not positionals:
        raise UsageError(f"usage: {USAGE}")
    from rlx.evaluate.plot import expand_runs, fresh_path, metrics_csv, plot_runs, run_label

    runs = expand_runs(positionals)
    for r in runs:
        if not metrics_csv(r).is_file():
            raise UsageError(f"{r}: no metrics.csv")
    labels = opts["labels"] if opts["labels"] is not None else [run_label(r) for r in runs]
    if len(labels) != len(runs):
        raise UsageError(f"labels: {len(labels)} labels for {len(runs)} runs")
    title = opts["title"]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in title)
    out = pathlib.Path(opts["out"]) if opts["out"] else fresh_path(pathlib.Path("runs") / "plots" / f"{safe}.png")
    try:
        plot_runs(list(zip(labels, runs, strict=True)), out, title, column=opts["column"], target=opts["target"])
    except (ValueError, OSError) as err:  # load_curve: no such column, no rows; an unwritable out
        raise PlotError(first_line(err)) from None
    print(out)


def main(argv: Sequence[str] | None = None) -> int:
    argv = argv_of(argv)
    if wants_help(argv):
        return print_help(__doc__)
    return run("plot", lambda: _plot(argv), known=(PlotError,))


if __name__ == "__main__":
    sys.exit(main())
