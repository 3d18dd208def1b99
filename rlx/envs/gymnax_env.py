"""Adapter from gymnax envs to the rlx protocol.

We call gymnax's ``step_env`` / ``reset_env`` rather than its ``step`` so that gymnax does
not auto-reset: our ``AutoReset`` wrapper does that for every source in the same way.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rlx.envs.core import Env, Step
from rlx.envs.spaces import Box, Discrete


def _convert_space(space):
    import gymnax.environments.spaces as gspaces

    if isinstance(space, gspaces.Discrete):
        return Discrete(int(space.n))
    if isinstance(space, gspaces.Box):
        shape = tuple(space.shape) if space.shape is not None else ()
        return Box(np.asarray(space.low, np.float32), np.asarray(space.high, np.float32), shape)
    raise TypeError(f"unsupported gymnax space {space!r}")


class GymnaxEnv(Env):
    def __init__(self, env_id: str, **kwargs):
        import gymnax

        self.env, self.params = gymnax.make(env_id, **kwargs)
        self.name = env_id
        self.observation_space = _convert_space(self.env.observation_space(self.params))
        self.action_space = _convert_space(self.env.action_space(self.params))

    def reset(self, key):
        obs, state = self.env.reset_env(key, self.params)
        return state, jnp.asarray(obs, jnp.float32)

    def step(self, state, action, key):
        if isinstance(self.action_space, Box) and self.action_space.shape == (1,):
            # gymnax's continuous classic-control envs read a scalar or a (1,) action alike
            action = action.reshape(self.action_space.shape)
        obs, state, reward, terminated, _ = self.env.step_env(key, state, action, self.params)
        truncated = jnp.logical_and(self.env.is_truncated(state, self.params), jnp.logical_not(terminated))
        return Step(
            state,
            jnp.asarray(obs, jnp.float32),
            jnp.asarray(reward, jnp.float32).reshape(()),
            jnp.asarray(terminated, bool).reshape(()),
            jnp.asarray(truncated, bool).reshape(()),
            {},
        )


def gymnax_env_ids() -> list[str]:
    import gymnax

    return list(gymnax.registered_envs)
