"""The Nature CNN's forward+backward speed on this machine: lax.conv against patches @ kernel.

PPO's epochs run the CNN's gradient inside loops (``lax.scan`` over minibatches) and ``vmap`` it
over seeds. Each case times ``grad`` of a PPO-like loss over minibatches of 256 Atari frames
(``uint8``, 4 x 84 x 84) through ``rlx.nets.NatureCNN`` (convolutions and the 512-unit layer):

* ``1 seed``: one minibatch, no loop;
* ``1 seed, in a loop``: ``lax.map`` over 2 minibatches (what PPO's minibatch scan does);
* ``4 seeds vmapped, in a loop``: the same under ``vmap`` over 4 parameter sets (the runner's seeds).

``conv_impl="xla"`` is ``lax.conv`` (XLA:CPU's convolution; a grouped convolution under ``vmap``),
``"matmul"`` is ``rlx.nets.cnn``'s space-to-depth patches @ kernel (the CPU default). Prints a
Markdown table (frames/s over all seeds; one timed call after a warm-up call).

    python benchmarks/cnn_speed.py [--impls xla matmul] [--cases 1 1loop 4loop]
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from mdtable import machine, today  # noqa: E402

from rlx.nets import NatureCNN  # noqa: E402

MINIBATCH = 256
CASES = {"1": ("1 seed", 1, 1), "1loop": ("1 seed, in a loop", 1, 2), "4loop": ("4 seeds vmapped, in a loop", 4, 2)}


def fwd_bwd_fps(impl: str, seeds: int, minibatches: int, repeats: int = 1) -> float:
    net = NatureCNN(conv_impl=impl)
    obs = jax.random.randint(jax.random.key(0), (seeds, minibatches, MINIBATCH, 4, 84, 84), 0, 256)
    obs = obs.astype(jnp.uint8)
    params = jax.vmap(lambda k: net.init(k, obs[0, 0, :1]))(jax.random.split(jax.random.key(1), seeds))

    def loss(p, o):
        return (net.apply(p, o) ** 2).mean()

    grad = jax.grad(loss)

    def one_seed(p, o):
        if minibatches == 1:
            return grad(p, o[0])
        return jax.lax.map(lambda mb: grad(p, mb), o)

    fn = jax.jit(jax.vmap(one_seed))
    jax.block_until_ready(fn(params, obs))
    t0 = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(fn(params, obs))
    return repeats * seeds * minibatches * MINIBATCH / (time.perf_counter() - t0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impls", nargs="+", default=["xla", "matmul"])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv)
    print("| conv | case | fwd+bwd frames/s (all seeds) | date | machine |")
    print("| --- | --- | --- | --- | --- |")
    for impl in args.impls:
        for case in args.cases:
            label, seeds, mbs = CASES[case]
            fps = fwd_bwd_fps(impl, seeds, mbs)
            print(f"| {impl} | {label} | {fps:,.0f} | {today()} | {machine()} |", flush=True)


if __name__ == "__main__":
    main()
