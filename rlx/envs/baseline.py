"""The random-policy return ``R_rand`` that SLM-Lab's strength metrics subtract.

Measured by rlx itself: 100 episodes of uniformly random actions, one per env of a vmapped batch,
cached per env (and env kwargs) in ``~/.cache/rlx/random_baseline.json`` (``RLX_CACHE_DIR`` moves it).
"""

from __future__ import annotations

import json
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

NUM_EPISODES = 100


def _cache_file() -> pathlib.Path:
    root = os.environ.get("RLX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rlx")
    return pathlib.Path(root) / "random_baseline.json"


def measure_random_return(
    env_name: str,
    env_kwargs: dict | None = None,
    seed: int = 0,
    num_episodes: int = NUM_EPISODES,
    max_steps: int = 100_000,
) -> float:
    """Mean raw return over the first episode of each of ``num_episodes`` parallel envs."""
    from rlx import envs

    env = envs.make_batched(env_name, num_episodes, **(env_kwargs or {}))
    space = env.action_space
    chunk = 250

    @jax.jit
    def run_chunk(state, totals, live, key):
        def body(carry, k):
            state, totals, live = carry
            k_act, k_env = jax.random.split(k)
            action = jax.vmap(space.sample)(jax.random.split(k_act, num_episodes))
            out = env.step(state, action, k_env)
            totals = totals + jnp.where(live, out.reward, 0.0)
            live = live & ~(out.terminated | out.truncated)
            return (out.state, totals, live), None

        (state, totals, live), _ = jax.lax.scan(body, (state, totals, live), jax.random.split(key, chunk))
        return state, totals, live

    key = jax.random.key(seed)
    key, k_reset = jax.random.split(key)
    state, _ = env.reset(k_reset)
    totals = jnp.zeros(num_episodes, jnp.float32)
    live = jnp.ones(num_episodes, bool)
    for _ in range(0, max_steps, chunk):
        key, k = jax.random.split(key)
        state, totals, live = run_chunk(state, totals, live, k)
        if not bool(live.any()):
            break
    done = ~np.asarray(live)
    if not done.any():
        return float("nan")
    return float(np.asarray(totals)[done].mean())


def random_return(env_name: str, env_kwargs: dict | None = None) -> float:
    """Cached ``measure_random_return``."""
    key = env_name + (json.dumps(env_kwargs, sort_keys=True) if env_kwargs else "")
    path = _cache_file()
    cache = {}
    if path.exists():
        try:
            cache = json.loads(path.read_text())
        except (OSError, ValueError):
            cache = {}
    if key in cache:
        return float(cache[key])
    value = measure_random_return(env_name, env_kwargs)
    cache[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    except OSError:
        pass
    return value
