"""Pieces every algorithm shares: the Algo contract, traced hyperparameters, optimisers, env building.

The contract (docs/design.md): ``init(key) -> state`` for one seed, ``update(state) -> (state, metrics)``
for one iteration, and ``train(key) = scan(update, init(key))``. Hyperparameters that do not change
shapes live in ``state.hparams`` as float32 arrays, so ``vmap`` over states is also a sweep.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp

from rlx import envs
from rlx.algos import algo_module
from rlx.config import ConfigError, RunConfig
from rlx.config.schema import traced_names


class Algo(NamedTuple):
    init: Callable[..., Any]  # (key, hparams=None) -> state
    update: Callable[[Any], tuple[Any, dict]]  # state -> (state, metrics of scalars)
    frames_per_update: int  # env steps of one seed per update
    num_updates: int
    grad_steps_per_update: int
    env: Any
    act: Callable[..., Any] | None = None  # (policy_params, obs, key, deterministic) -> env action
    policy_params: Callable[[Any], Any] | None = None  # train state -> what ``act`` takes


def num_updates_for(max_frame: int, frames_per_update: int) -> int:
    return max(1, math.ceil(max_frame / frames_per_update))


def default_hparams(config) -> dict:
    """The traced hyperparameters of an algorithm config (its ``traced=True`` fields), as float32 scalars."""
    return {n: jnp.asarray(getattr(config, n), jnp.float32) for n in traced_names(config)}


def build_env(config: RunConfig, gamma: float = 0.99, num_envs: int | None = None):
    w = config.wrappers
    try:
        return envs.make(
            config.env,
            num_envs or config.num_envs,
            normalize_obs=w.normalize_obs,
            normalize_reward=w.normalize_reward,
            gamma=gamma,
            clip_obs=w.clip_obs,
            clip_reward=w.clip_reward,
            episodic_life=w.episodic_life,
            sign_reward=w.sign_reward,
            **config.env_kwargs,
        )
    except ValueError as err:
        raise ConfigError(str(err)) from None


def resolve_dist(kind: str, action_space) -> str:
    if kind == "auto":
        return "categorical" if isinstance(action_space, envs.Discrete) else "normal"
    if (kind == "categorical") != isinstance(action_space, envs.Discrete):
        raise ConfigError(f"algo.dist: {kind!r} does not fit the action space {action_space}")
    return kind


def action_dim(action_space) -> int:
    if isinstance(action_space, envs.Discrete):
        return action_space.n
    return int(math.prod(action_space.shape))


def make_train(config: RunConfig):
    """``train(key, hparams=None) -> (final_state, metrics per update)``: the whole run as one program,
    for the algorithm ``config.algo.name`` names; jit and vmap it freely. Every algorithm module
    exports it as its own ``make_train`` (``ppo.make_train(config)``)."""
    algo = algo_module(config.algo.name).make_algo(config)

    def train(key, hparams=None):
        state = algo.init(key, hparams)
        return jax.lax.scan(lambda s, _: algo.update(s), state, None, length=algo.num_updates)

    return train


def replace(obj, **kw):
    return dataclasses.replace(obj, **kw)
