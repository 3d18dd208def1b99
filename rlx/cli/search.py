"""usage: rlx-search [+bench=<suite>/<env>] [algo=<name>] search.KEY=[...] [search.<option>=...] [key=value ...]

Hyperparameter search with early stopping on Ray Tune: every trial is a whole rlx trial (its own
compiled program, so shape-changing keys can be searched) that reports its score (total_reward_ma,
mean over seeds) at every chunk boundary, and ASHA stops the trials that fall behind. Arguments are
the run config's Hydra overrides, as for rlx-train, plus the space and options under ``search.``:

  search.KEY=[a,b,...]               a grid axis (also KEY__grid=[...])
  search.KEY__choice=[a,b,...]       sampled search.samples times, as are
  search.KEY__uniform=[lo,hi]        ... and
  search.KEY__loguniform=[lo,hi]
  search.samples=1                   samples of the sampled keys (crossed with the grid)
  search.grace_frames=max_frame/8    ASHA's first rung
  search.reduction_factor=3
  search.max_concurrent=0            0: as many trials at once as fit
  search.cpus_per_trial=1, search.gpus_per_trial=0 (0.25 packs four trials on a GPU)
  search.address=<ray address>       default: $RAY_ADDRESS, else a local Ray cluster of this machine
  search.num_cpus=<n>                the local cluster's size (default: all cores)

Writes ``<logger.out_dir>/<logger.name>/``: trials/<id>/ (each trial's run folder), ranking.md,
search.json and best.yaml (``rlx-train +bench=<that folder>/best.yaml algo=<name>``).
Needs the ``search`` extra (``pip install 'rlx[search]'``). Also ``python -m rlx.search``.
Exit status: 0 done, 2 bad config or search space, 130 Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rlx.cli.common import argv_of, print_help, run, wants_help


def _search(argv: list[str]) -> None:
    from rlx.tune.search import search

    search(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = argv_of(argv)
    if wants_help(argv):
        return print_help(__doc__)
    interrupted = "search interrupted; finished trials keep their run folders"
    return run("search", lambda: _search(argv), interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
