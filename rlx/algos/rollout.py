"""The one rollout loop: ``num_steps`` env steps under ``lax.scan`` for every algorithm."""

from __future__ import annotations

from typing import Any, NamedTuple
from collections.abc import Callable

import jax
from flax import struct

from rlx.algos import threefry


@struct.dataclass
class EnvCarry:
    """What a rollout carries between steps (and between updates) for one seed."""

    env_state: Any
    obs: Any


class Transition(NamedTuple):
    obs: Any
    action: jax.Array  # the raw action the policy sampled (pre-squash for tanh policies)
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    next_obs: Any  # the real next observation: the final one when the episode ended here
    extras: dict  # whatever the acting function recorded (log-prob, value, ...)


def rollout(
    env,
    act: Callable[[Any, jax.Array], tuple[jax.Array, jax.Array, dict]],
    carry: EnvCarry,
    key: jax.Array,
    num_steps: int,
) -> tuple[EnvCarry, Transition]:
    """``act(obs, key) -> (raw_action, env_action, extras)``; returns time-major transitions.

    The step's draws (its key split, the policy's sample, the env's resets) are a few numbers each, so
    the keys run on the written-out Threefry hash (``rlx.algos.threefry``): the same bits, without
    the rolled loop's per-draw overhead on CPU."""

    def step(carry: EnvCarry, key):
        key_act, key_env = jax.random.split(key)
        action, env_action, extras = act(carry.obs, key_act)
        out = env.step(carry.env_state, env_action, key_env)
        transition = Transition(
            carry.obs, action, out.reward, out.terminated, out.truncated, out.info["final_obs"], extras
        )
        return EnvCarry(out.state, out.obs), transition

    return jax.lax.scan(step, carry, jax.random.split(threefry.unrolled(key), num_steps))


def reset(env, key) -> EnvCarry:
    state, obs = env.reset(key)
    return EnvCarry(state, obs)
