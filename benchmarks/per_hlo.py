"""Copies of the PER sum tree in the compiled off-policy programs: the HLO check behind BENCHMARKS.md "PER cost".

Compiles a bench's prioritized algorithm twice, as the runner does and as one step of it: the chunk
program (``rlx.experiment.loop.compile_chunk``: ``jit(vmap(scan(update)))`` over the bench's seeds,
state donated) and one vmapped update with the state donated. In each optimized HLO it lists every
``copy`` whose result has the sum tree's shape (seeds x 2 * leaves float32): in-place sum-tree writes
need none, and each one is a whole tree copied every update. Exits 1 when there is one, 2 on bad input.

    python benchmarks/per_hlo.py [--bench classic/cartpole] [--algo ddqn_per] [key=value ...]
"""

from __future__ import annotations

import argparse
import re
import sys

import jax

from rlx.config import ConfigError
from rlx.config.compose import load
from rlx.experiment.group import make_algo
from rlx.experiment.loop import compile_chunk, eval_keys_for, plan_for
from rlx.experiment.seeds import seed_keys


def tree_copies(hlo: str, tree_shape: tuple) -> list[str]:
    """The ``copy`` instructions of ``hlo`` (optimized HLO text) whose result is an f32 array of ``tree_shape``."""
    result = re.compile(r"=\s*f32\[" + ",".join(map(str, tree_shape)) + r"\]\S*\s+copy\(")
    return [line.strip() for line in hlo.splitlines() if result.search(line)]


def compiled_programs(config) -> tuple[tuple, dict[str, str]]:
    """The sum tree's shape and the optimized HLO of the chunk program and of one update."""
    algo = make_algo(config)
    keys = seed_keys(config.seed, config.num_seeds)
    state = jax.jit(jax.vmap(algo.init))(keys)
    chunk = compile_chunk(algo, state, eval_keys_for(keys), plan_for(config, algo).chunk_len)
    update = jax.jit(jax.vmap(algo.update), donate_argnums=0).lower(state).compile()
    return state.replay.tree.shape, {"chunk": chunk.as_text(), "update": update.as_text()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="classic/cartpole")
    parser.add_argument("--algo", default="ddqn_per")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    args = parser.parse_args(argv)
    try:
        config = load(f"+bench={args.bench}", f"algo={args.algo}", "logger.progress=false", *args.overrides)
    except ConfigError as err:
        print(f"per_hlo: {err}")
        return 2
    if not getattr(config.algo, "prioritized", False):
        print(f"per_hlo: --algo {args.algo} keeps no sum tree; give ddqn_per or algo.prioritized=true")
        return 2
    shape, programs = compiled_programs(config)
    found = 0
    for name, hlo in programs.items():
        copies = tree_copies(hlo, shape)
        found += len(copies)
        print(f"{args.algo} on {args.bench}, {name} program: {len(copies)} copies of the sum tree f32{list(shape)}")
        for line in copies:
            print("  " + line[:200])
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
