"""A rollout step's draws on JAX's Threefry keys against ``rlx.algos.threefry``'s written-out hash.

One program per key implementation, the same ``lax.scan`` of ``--steps`` steps: each step splits its
key, samples a categorical action for each of ``--envs`` envs and draws their reset noise (uniform,
4 numbers an env), which is what a CartPole rollout step asks of the PRNG. Both draw the same bits
(the script checks); they differ only in how the hash is lowered (JAX on CPU: a 5-trip ``while``
loop per draw). Alternating runs, medians; prints microseconds a step and the ratio.

    python benchmarks/threefry_speed.py [--envs 4] [--steps 2000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from rlx.algos import threefry


def program(num_envs: int, steps: int):
    logits = jnp.zeros((num_envs, 2))

    def run(key):
        def step(total, key):
            k_act, k_env = jax.random.split(key)
            action = jax.random.categorical(k_act, logits)
            noise = jax.vmap(lambda k: jax.random.uniform(k, (4,), minval=-0.05, maxval=0.05))(
                jax.random.split(k_env, num_envs)
            )
            return total + action.sum() + noise.sum(), None

        return jax.lax.scan(step, jnp.zeros(()), jax.random.split(key, steps))[0]

    return jax.jit(run)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", type=int, default=4)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    fn = program(args.envs, args.steps)
    keys = {"jax threefry2x32": jax.random.key(0), "rlx written out": threefry.unrolled(jax.random.key(0))}
    compiled, compile_s = {}, {}
    for name, key in keys.items():
        t0 = time.perf_counter()
        compiled[name] = fn.lower(key).compile()
        compile_s[name] = time.perf_counter() - t0
    outs = {name: float(compiled[name](key)) for name, key in keys.items()}
    if len(set(outs.values())) != 1 or not np.isfinite(list(outs.values())).all():
        raise SystemExit(f"threefry_speed: the two key implementations drew different numbers: {outs}")
    load = os.getloadavg()[0]
    times = {name: [] for name in keys}
    for _ in range(args.repeats):
        for name, key in keys.items():
            t0 = time.perf_counter()
            jax.block_until_ready(compiled[name](key))
            times[name].append(time.perf_counter() - t0)
    us = {name: 1e6 * statistics.median(t) / args.steps for name, t in times.items()}
    for name in keys:
        print(f"{name}: {us[name]:.2f} us a step (compile {compile_s[name]:.2f} s)")
    jax_us, rlx_us = us.values()
    print(
        f"{args.envs} envs, {args.steps} steps, medians of {args.repeats}: written out {jax_us / rlx_us:.1f}x faster; "
        f"load {load:.2f} / {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
