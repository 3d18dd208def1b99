"""Training frames/s of each algorithm on an Atari bench (Pong by default), one seed, the bench's num_envs.

Each algorithm runs its bench section (``tuned.<algo>``) unchanged except ``num_seeds=1`` and, for the
replay methods, ``algo.warmup_frames=0`` (the timed updates learn) and ``algo.buffer_size`` (default 1e4:
a 2e5 replay of 56 KB items would not fit a small machine; the rate hardly depends on it). The first
update is timed apart (compile + run); frames/s is ``--updates`` further updates' frames over their time.
An algorithm that does not build on frames (no CNN option) gets its error's first line. Prints Markdown rows.

    python benchmarks/atari_speed.py [--bench atari/pong] [--algos ppo a2c sac crossq] [--updates 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import jax

from rlx.algos import algo_module
from rlx.config import load


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:160]


def measure(bench: str, algo: str, updates: int, buffer_size: int) -> dict:
    extra = ["num_seeds=1"]
    if algo in ("sac", "crossq", "dqn", "ddqn_per"):
        extra += ["algo.warmup_frames=0", f"algo.buffer_size={buffer_size}"]
    cfg = load(f"+bench={bench}", f"algo={algo}", *extra)
    row = {"algo": algo, "num_envs": cfg.num_envs, "overrides": " ".join(extra)}
    try:
        a = algo_module(algo).make_algo(cfg)
        t0 = time.perf_counter()
        state = jax.block_until_ready(jax.jit(a.init)(jax.random.key(0)))
        update = jax.jit(a.update)
        state, _ = jax.block_until_ready(update(state))
        row["first_s"] = time.perf_counter() - t0
        frames_per_update = cfg.algo.num_steps * cfg.num_envs * getattr(cfg.algo, "num_unrolls", 1)
        t0 = time.perf_counter()
        for _ in range(updates):
            state, _ = jax.block_until_ready(update(state))
        dt = time.perf_counter() - t0
        row.update(frames=updates * frames_per_update, seconds=dt, fps=updates * frames_per_update / dt)
    except Exception as err:  # noqa: BLE001 -- reported in the row
        row["error"] = first_line(err)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="atari/pong")
    parser.add_argument("--algos", nargs="+", default=["ppo", "a2c", "sac", "crossq"])
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--buffer-size", type=int, default=10_000)
    args = parser.parse_args(argv)
    print("| algo | num_envs | timed frames | frames/s | first update s (compile + run) | overrides | note |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for algo in args.algos:
        r = measure(args.bench, algo, args.updates, args.buffer_size)
        if "error" in r:
            print(f"| {algo} | {r['num_envs']} | - | - | - | `{r['overrides']}` | does not build: {r['error']} |")
        else:
            print(
                f"| {algo} | {r['num_envs']} | {r['frames']:,} | {r['fps']:,.0f} | {r['first_s']:.1f} | "
                f"`{r['overrides']}` | {r['seconds']:.1f} s timed |"
            )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
