"""The environment protocol every source (gymnax, playground, envpool) is adapted to.

A single, un-vectorised env with pure functions; vectorisation, auto-reset, statistics and
normalisation are wrappers (``rlx.envs.wrappers``), so they are written once for all sources.
``step`` returns termination and truncation separately: truncated episodes must bootstrap
from the final observation, terminated ones must not (trap 1 in docs/style.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from rlx.envs.spaces import Space


class Step(NamedTuple):
    state: Any
    obs: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict


class Env:
    """Base class: subclasses implement ``reset`` and ``step`` as pure, jittable functions."""

    observation_space: Space
    action_space: Space
    name: str = "env"

    def reset(self, key: jax.Array) -> tuple[Any, Any]:
        """Returns ``(state, obs)``."""
        raise NotImplementedError

    def step(self, state: Any, action: jax.Array, key: jax.Array) -> Step:
        raise NotImplementedError


class Wrapper(Env):
    """Delegates to an inner env; wrappers override what they change."""

    def __init__(self, env: Env):
        self.env = env

    @property
    def observation_space(self):
        return self.env.observation_space

    @property
    def action_space(self):
        return self.env.action_space

    @property
    def name(self):
        return self.env.name

    @property
    def num_envs(self) -> int | None:
        return getattr(self.env, "num_envs", None)

    def reset(self, key):
        return self.env.reset(key)

    def step(self, state, action, key):
        return self.env.step(state, action, key)

    def unwrapped(self) -> Env:
        env = self.env
        while isinstance(env, Wrapper):
            env = env.env
        return env
