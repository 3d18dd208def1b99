"""The envpool bridge's cost: PPO training frames/s against envpool's raw step rate, in one run.

For each bench (LunarLander, Hopper, Pong by default), with the bench's own num_envs and seeds:

* raw: envpool stepped directly from a Python loop, ``num_seeds x num_envs`` envs in one pool,
  random actions drawn beforehand: the simulator's ceiling on this machine;
* bridge: the same pool size through ``rlx.envs.envpool`` inside ``jit(vmap(scan))`` over seeds,
  random actions sampled in JAX: what the bridge alone costs;
* train: PPO with the bench's tuned settings, the runner's compiled program (``vmap`` over seeds
  of ``scan`` over updates), timed after compilation.

Writes the "envpool bridge" section of BENCHMARKS.md.

    python benchmarks/envpool_speed.py [--benches box2d/lunar mujoco/hopper atari/pong] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from mdtable import machine, today, write_section  # noqa: E402

from rlx import envs
from rlx.experiment import runner  # noqa: E402
from rlx.algos import algo_module  # noqa: E402
from rlx.config.compose import load  # noqa: E402
from rlx.experiment.seeds import seed_keys  # noqa: E402

# frames per seed timed for each bench: a few PPO updates (their batch sizes differ 30-fold)
UPDATES = {"box2d/lunar": 20, "mujoco/hopper": 2, "atari/pong": 3}


def raw_fps(env_id: str, total_envs: int, steps: int, kwargs: dict) -> float:
    import envpool

    pool = envpool.make(env_id, env_type="gymnasium", num_envs=total_envs, seed=0, **kwargs)
    pool.reset()
    space = pool.action_space
    rng = np.random.default_rng(0)
    if hasattr(space, "n"):
        actions = rng.integers(0, space.n, (64, total_envs)).astype(space.dtype)
    else:
        actions = rng.uniform(space.low, space.high, (64, total_envs) + space.shape).astype(space.dtype)
    for a in actions[:8]:  # warm-up
        pool.step(a)
    t0 = time.perf_counter()
    for t in range(steps):
        pool.step(actions[t % 64])
    fps = steps * total_envs / (time.perf_counter() - t0)
    pool.close()
    return fps


def bridge_fps(env_name: str, num_envs: int, num_seeds: int, steps: int, kwargs: dict) -> float:
    env = envs.make_batched(env_name, num_envs, **kwargs)
    space = env.action_space

    def one_seed(key):
        k_reset, k_run = jax.random.split(key)
        state, _ = env.reset(k_reset)

        def body(state, k):
            action = jax.vmap(space.sample)(jax.random.split(k, num_envs))
            out = env.step(state, action, k)
            return out.state, out.reward.sum()

        return jax.lax.scan(body, state, jax.random.split(k_run, steps))[1].sum()

    fn = jax.jit(jax.vmap(one_seed))
    keys = seed_keys(0, num_seeds)
    compiled = fn.lower(keys).compile()
    jax.block_until_ready(compiled(keys))  # warm: pools built
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(keys))
    return steps * num_envs * num_seeds / (time.perf_counter() - t0)


def train_fps(cfg, updates: int) -> tuple[float, float]:
    algo = algo_module(cfg.algo.name).make_algo(cfg)
    keys = seed_keys(cfg.seed, cfg.num_seeds)
    t0 = time.perf_counter()
    state = jax.jit(jax.vmap(algo.init))(keys)
    chunk = jax.jit(jax.vmap(lambda s: jax.lax.scan(lambda c, _: algo.update(c), s, None, length=updates)))
    compiled = chunk.lower(state).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(state))
    frames = updates * algo.frames_per_update * cfg.num_seeds
    return frames / (time.perf_counter() - t0), compile_s


def measure(bench: str, seeds: int | None = None, updates: int | None = None) -> str:
    extra = [f"num_seeds={seeds}"] if seeds else []
    cfg = load(f"+bench={bench}", "algo=ppo", "logger.progress=false", *extra)
    updates = updates or UPDATES.get(bench, 2)
    tr_fps, compile_s = train_fps(cfg, updates)
    env_id = cfg.env.split(":", 1)[-1]
    steps = max(200, min(2000, int(50_000 / (cfg.num_envs * cfg.num_seeds))))
    b_fps = bridge_fps(cfg.env, cfg.num_envs, cfg.num_seeds, steps, cfg.env_kwargs)
    r_fps = raw_fps(env_id, cfg.num_envs * cfg.num_seeds, steps, cfg.env_kwargs)
    return (
        f"| {bench} | {env_id} | {cfg.num_seeds} x {cfg.num_envs} | {r_fps:,.0f} | {b_fps:,.0f} "
        f"| {b_fps / r_fps:.2f} | {tr_fps:,.0f} | {tr_fps / r_fps:.2f} | {compile_s:.1f} | {today()} | {machine()} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benches", nargs="+", default=["box2d/lunar", "mujoco/hopper", "atari/pong"])
    parser.add_argument("--seeds", type=int, help="override the benches' num_seeds (CPU: Atari's CNN is slow)")
    parser.add_argument("--updates", type=int, help="PPO updates timed (default: per bench)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    runner.enable_compilation_cache()
    lines = []
    for bench in args.benches:
        lines.append(measure(bench, args.seeds, args.updates))
        print(lines[-1], flush=True)
    if not args.no_write:
        body = (
            "Steps per second over all seeds and envs, measured in one run of\n"
            "`python benchmarks/envpool_speed.py`: **raw** = envpool stepped from a Python loop "
            "(one pool of seeds x envs, random actions drawn beforehand); **bridge** = the same pool "
            "through `rlx.envs.envpool` inside `jit(vmap(scan))` with random actions; **train** = PPO "
            "with the bench's tuned settings, the runner's compiled program, after compilation. "
            "Shared 2-core machine: timings are noisy.\n\n"
            "| bench | env | seeds x envs | raw envpool steps/s | bridge steps/s | bridge / raw "
            "| PPO train frames/s | train / raw | compile s | date | machine |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(lines)
        )
        write_section("envpool_speed", "envpool bridge", body)


if __name__ == "__main__":
    main()
