"""Evaluation episodes, compiled: a policy on fresh envs with the training normaliser frozen.

One path for every evaluation: during training (``eval.every_frames``, inside the chunk program),
``Agent.evaluate`` on an rlx env and ``rlx.enjoy``. The eval env is the run's source env with raw
episode statistics and no normalisers (``eval_env``); the policy normalises observations with the
statistics the run learned and acts in the training env's action space ([-1, 1] for continuous
actions, which the source's ``RescaleAction`` maps onto the bounds, as in training). Each env plays
exactly one episode and its raw return counts, so an evaluation logged while training and a replay of
the checkpoint afterwards measure the same thing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rlx import envs
from rlx.envs.wrappers import NormalizeObs, RescaleAction, find_state


def _layer(env, kind):
    while env is not None and not isinstance(env, kind):
        env = getattr(env, "env", None)
    return env


def normalizer(env, env_state):
    """``(statistics, clip, eps)`` of the training env's ``NormalizeObs`` layer, or ``(None, 10, 1e-8)``."""
    layer = _layer(env, NormalizeObs)
    if layer is None:
        return None, 10.0, 1e-8
    return find_state(env, env_state, NormalizeObs), layer.clip, layer.eps


def action_bounds(env):
    """The env bounds ``RescaleAction`` maps [-1, 1] onto, or ``(None, None)`` (discrete actions)."""
    layer = _layer(env, RescaleAction)
    if layer is None:
        return None, None
    return np.asarray(layer._low, np.float32), np.asarray(layer._high, np.float32)


def normalize(rms, obs, clip: float, eps: float):
    """``NormalizeObs``'s formula with frozen statistics (dict observations per entry)."""
    if rms is None:
        return obs

    def one(r, o):
        return jnp.clip((o - r.mean) / jnp.sqrt(r.var + eps), -clip, clip)

    return {k: one(rms[k], o) for k, o in obs.items()} if isinstance(obs, dict) else one(rms, obs)


def eval_env(config, num_envs: int):
    """The run's source env with raw episode statistics and no normalisers (the policy normalises)."""
    return envs.EpisodeStats(envs.make_batched(config.env, num_envs, **config.env_kwargs))


def play_episodes(env, policy, max_steps: int, key):
    """One episode per env of ``env`` (an ``EpisodeStats`` stack) with ``policy(obs, key) -> action``:
    ``(returns, lengths, finished)``; an episode still running after ``max_steps`` keeps its partial
    raw return and ``finished=False``."""
    k_reset, k_loop = jax.random.split(key)
    state, obs = env.reset(k_reset)
    zeros = jnp.zeros(env.num_envs, jnp.float32)

    def cond(c):
        return jnp.logical_and(~jnp.all(c["done"]), c["t"] < max_steps)

    def body(c):
        key, k_act, k_env = jax.random.split(c["key"], 3)
        out = env.step(c["state"], policy(c["obs"], k_act), k_env)
        first = jnp.logical_and(out.info["episode_done"], ~c["done"])
        return {
            "state": out.state,
            "obs": out.obs,
            "key": key,
            "t": c["t"] + 1,
            "done": jnp.logical_or(c["done"], out.info["episode_done"]),
            "ret": jnp.where(first, out.info["episode_return"], c["ret"]),
            "len": jnp.where(first, out.info["episode_length"], c["len"]),
            "run_ret": jnp.where(c["done"], c["run_ret"], c["run_ret"] + out.reward),
        }

    c = {"state": state, "obs": obs, "key": k_loop, "t": jnp.zeros((), jnp.int32), "done": zeros.astype(bool)}
    c = jax.lax.while_loop(cond, body, {**c, "ret": zeros, "len": zeros, "run_ret": zeros})
    return jnp.where(c["done"], c["ret"], c["run_ret"]), c["len"], c["done"]


def make_evaluator(config, algo):
    """``(train state, key) -> mean return`` of ``config.eval.episodes`` episodes of one seed's policy
    (NaN if none finished within ``eval.max_steps``), for the chunk program to call at eval points.
    It reads the state and never writes it: training goes on exactly as without evaluation."""
    ev = config.eval
    env = eval_env(config, ev.episodes)

    def evaluate(state, key):
        params = algo.policy_params(state)
        rms, clip, eps = normalizer(algo.env, state.carry.env_state)

        def policy(obs, k):
            return algo.act(params, normalize(rms, obs, clip, eps), k, ev.deterministic)

        returns, _, finished = play_episodes(env, policy, ev.max_steps, key)
        n = finished.sum()
        return jnp.where(n > 0, jnp.where(finished, returns, 0.0).sum() / jnp.maximum(n, 1), jnp.nan)

    return evaluate
