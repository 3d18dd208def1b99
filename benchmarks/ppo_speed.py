"""PPO training frames/s on CartPole against the raw gymnax step rate, measured in one run.

The raw rate steps the same batch (num_seeds x num_envs CartPole envs, random actions, the same
wrappers) for the same number of frames under jit + vmap + scan: the ceiling the learner could reach.
Writes the "PPO speed" section of BENCHMARKS.md.

    python benchmarks/ppo_speed.py [--bench classic/cartpole] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time

import jax

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from mdtable import machine, today, write_section  # noqa: E402

from rlx import envs
from rlx.experiment import runner  # noqa: E402
from rlx.config.compose import load  # noqa: E402
from rlx.experiment.seeds import seed_keys  # noqa: E402


def raw_env_fps(env_name: str, num_envs: int, num_seeds: int, frames: int) -> tuple[float, float]:
    env = envs.make(env_name, num_envs)
    steps = frames // num_envs

    def one_seed(key):
        k_reset, k_run = jax.random.split(key)
        state, _ = env.reset(k_reset)

        def body(state, k):
            k_act, k_env = jax.random.split(k)
            action = jax.vmap(env.action_space.sample)(jax.random.split(k_act, num_envs))
            out = env.step(state, action, k_env)
            return out.state, out.reward.sum()

        state, rewards = jax.lax.scan(body, state, jax.random.split(k_run, steps))
        return rewards.sum()

    fn = jax.jit(jax.vmap(one_seed))
    keys = seed_keys(0, num_seeds)
    t0 = time.perf_counter()
    compiled = fn.lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(keys))
    return steps * num_envs * num_seeds / (time.perf_counter() - t0), compile_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="classic/cartpole")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    runner.enable_compilation_cache()
    cfg = load(f"+bench={args.bench}", "algo=ppo", "logger.progress=false")
    with contextlib.redirect_stdout(io.StringIO()):
        res = runner.run(cfg, run_dir=False)
    frames = res.frames_per_seed
    train_fps = frames * cfg.num_seeds / (res.wall_s - res.compile_s)
    raw_fps, _ = raw_env_fps(cfg.env, cfg.num_envs, cfg.num_seeds, frames)
    ratio = train_fps / raw_fps
    line = (
        f"| `python benchmarks/ppo_speed.py --bench {args.bench}` | {cfg.env} | {frames:,} x {cfg.num_seeds} seeds "
        f"x {cfg.num_envs} envs | {res.trial['total_reward_ma']:.2f} | {train_fps:,.0f} | {raw_fps:,.0f} | "
        f"{ratio:.3f} | {res.compile_s:.1f} | {res.wall_s:.1f} | {today()} | {machine()} |"
    )
    print(line)
    if not args.no_write:
        body = (
            "Training frames/s (all seeds, after compile) against the raw env step rate (random actions, same\n"
            "envs and seeds, jit + vmap + scan) in the same process. "
            "SLM-Lab's published PPO CartPole rate: 315 frames/s.\n\n"
            "| command | env | frames | score (trial total_reward_ma) | train fps | raw env fps | ratio "
            "| compile s | wall s | date | machine |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + line
        )
        write_section(f"ppo_speed_{args.bench.replace('/', '_')}", f"PPO speed: {args.bench}", body)


if __name__ == "__main__":
    main()
