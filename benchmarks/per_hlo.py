"""Copies of the PER sum tree in the compiled off-policy update: the HLO check behind BENCHMARKS.md "PER cost".

Compiles one update of a bench's prioritized algorithm, vmapped over the bench's seeds with the train
state donated (as the chunk program runs it), and lists every ``copy`` in the optimized HLO whose
result has the sum tree's shape (seeds x 2 * leaves float32). In-place sum-tree writes need no such
copy; each one is a full tree copied every update. Exits 1 when there is one.

    python benchmarks/per_hlo.py [--bench classic/cartpole] [--algo ddqn_per] [overrides ...]
"""

from __future__ import annotations

import argparse
import re
import sys

import jax

from rlx.config.compose import load
from rlx.experiment.group import make_algo
from rlx.experiment.seeds import seed_keys


def tree_copies(hlo: str, tree_shape: tuple) -> list[str]:
    """The ``copy`` instructions of ``hlo`` (optimized HLO text) whose result is an f32 array of ``tree_shape``."""
    result = re.compile(r"=\s*f32\[" + ",".join(map(str, tree_shape)) + r"\]\S*\s+copy\(")
    return [line.strip() for line in hlo.splitlines() if result.search(line)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="classic/cartpole")
    parser.add_argument("--algo", default="ddqn_per")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    args = parser.parse_args(argv)
    cfg = load(f"+bench={args.bench}", f"algo={args.algo}", "logger.progress=false", *args.overrides)
    algo = make_algo(cfg)
    state = jax.eval_shape(jax.vmap(algo.init), seed_keys(cfg.seed, cfg.num_seeds))
    tree_shape = state.replay.tree.shape
    if tree_shape[-1] <= 1:
        print(f"algo={args.algo}: replay is not prioritized (no sum tree)")
        return 2
    hlo = jax.jit(jax.vmap(algo.update), donate_argnums=0).lower(state).compile().as_text()
    copies = tree_copies(hlo, tree_shape)
    print(f"{args.algo} on {args.bench}, {cfg.num_seeds} seeds: sum tree f32{list(tree_shape)}, {len(copies)} copies")
    for line in copies:
        print("  " + line[:200])
    return 1 if copies else 0


if __name__ == "__main__":
    sys.exit(main())
