"""Wrappers shared by every env source.

The usual stack, inner to outer (``rlx.envs.make`` builds it):
``RescaleAction -> AutoReset -> VecEnv -> EpisodeStats -> NormalizeObs -> NormalizeReward``.
Episode statistics sit inside the normalisers so they see the raw reward (SLM-Lab's lesson), and
all running statistics live in the env state, so under ``vmap`` each seed keeps its own.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlx.envs.core import Step, Wrapper
from rlx.envs.spaces import Box


@struct.dataclass
class Wrapped:
    """State of a wrapper: the inner env's state plus this wrapper's own."""

    inner: object
    own: object


class RescaleAction(Wrapper):
    """The agent acts in [-1, 1]; this maps (and clips) to the env's bounds.

    One agent-side range for every continuous env means a Normal policy clipped to [-1, 1] and a
    tanh-squashed policy both work unchanged (the convention of SB3 and Brax).
    """

    def __init__(self, env):
        super().__init__(env)
        space = env.action_space
        assert isinstance(space, Box) and space.bounded, "RescaleAction needs a bounded Box"
        self._low = space.low
        self._high = space.high

    @property
    def action_space(self):
        shape = self.env.action_space.shape
        return Box(-np.ones(shape, np.float32), np.ones(shape, np.float32), shape)

    def step(self, state, action, key):
        action = jnp.clip(action, -1.0, 1.0)
        action = self._low + (action + 1.0) * 0.5 * (self._high - self._low)
        return self.env.step(state, action, key)


class AutoReset(Wrapper):
    """Resets a finished episode in the same step.

    ``info["final_obs"]`` is always the observation the step really produced (before any reset),
    so truncated episodes can bootstrap from it.
    """

    def step(self, state, action, key):
        key_step, key_reset = jax.random.split(key)
        out = self.env.step(state, action, key_step)
        done = jnp.logical_or(out.terminated, out.truncated)
        reset_state, reset_obs = self.env.reset(key_reset)

        def pick(reset_leaf, step_leaf):
            return jnp.where(done, reset_leaf, step_leaf)

        new_state = jax.tree.map(pick, reset_state, out.state)
        new_obs = jax.tree.map(pick, reset_obs, out.obs)
        info = {**out.info, "final_obs": out.obs}
        return Step(new_state, new_obs, out.reward, out.terminated, out.truncated, info)


class VecEnv(Wrapper):
    """``num_envs`` copies, each with its own key split from the caller's."""

    def __init__(self, env, num_envs: int):
        super().__init__(env)
        self._num_envs = int(num_envs)

    @property
    def num_envs(self):
        return self._num_envs

    def reset(self, key):
        return jax.vmap(self.env.reset)(jax.random.split(key, self._num_envs))

    def step(self, state, action, key):
        keys = jax.random.split(key, self._num_envs)
        return jax.vmap(self.env.step)(state, action, keys)


@struct.dataclass
class EpisodeStatsState:
    episode_return: jax.Array  # (num_envs,) running raw return of the current episode
    episode_length: jax.Array  # (num_envs,)
    recent_returns: jax.Array  # (window,) ring buffer of completed-episode returns
    recent_lengths: jax.Array  # (window,)
    completed: jax.Array  # total completed episodes (float32: no int32 overflow)


class EpisodeStats(Wrapper):
    """Returns of completed episodes on the raw reward, over a window of the last 100.

    The window mean is SLM-Lab's ``total_reward`` at a log point: the mean return of the last
    100 completed episodes across all sub-envs. ``info["episode_return"]`` carries each finished
    episode's return at the step it ends (valid where ``info["episode_done"]``).
    """

    stateful = True  # its state is Wrapped(inner, own)

    def __init__(self, env, window: int = 100):
        super().__init__(env)
        self.window = int(window)

    def _init_stats(self):
        n = self.env.num_envs
        return EpisodeStatsState(
            jnp.zeros(n, jnp.float32),
            jnp.zeros(n, jnp.float32),
            jnp.zeros(self.window, jnp.float32),
            jnp.zeros(self.window, jnp.float32),
            jnp.zeros((), jnp.float32),
        )

    def reset(self, key):
        state, obs = self.env.reset(key)
        return Wrapped(state, self._init_stats()), obs

    def step(self, state, action, key):
        out = self.env.step(state.inner, action, key)
        s = state.own
        ret = s.episode_return + out.reward
        length = s.episode_length + 1.0
        done = jnp.logical_or(out.terminated, out.truncated)
        # slot of each finished episode in the ring buffer; unfinished ones are dropped
        order = s.completed.astype(jnp.int32) + jnp.cumsum(done.astype(jnp.int32)) - 1
        slot = jnp.where(done, order % self.window, self.window)
        recent_returns = s.recent_returns.at[slot].set(ret, mode="drop")
        recent_lengths = s.recent_lengths.at[slot].set(length, mode="drop")
        own = EpisodeStatsState(
            jnp.where(done, 0.0, ret),
            jnp.where(done, 0.0, length),
            recent_returns,
            recent_lengths,
            s.completed + done.sum().astype(jnp.float32),
        )
        info = {**out.info, "episode_return": ret, "episode_length": length, "episode_done": done}
        return Step(Wrapped(out.state, own), out.obs, out.reward, out.terminated, out.truncated, info)


def recent_episode_stats(stats: EpisodeStatsState) -> dict:
    """Mean return/length over the window (NaN until an episode has finished)."""
    n = jnp.minimum(stats.completed, stats.recent_returns.shape[0])
    mask = jnp.arange(stats.recent_returns.shape[0]) < n
    denom = jnp.maximum(n, 1.0)
    mean_ret = jnp.where(mask, stats.recent_returns, 0.0).sum() / denom
    mean_len = jnp.where(mask, stats.recent_lengths, 0.0).sum() / denom
    nan = jnp.float32(jnp.nan)
    return {
        "episode_return": jnp.where(n > 0, mean_ret, nan),
        "episode_length": jnp.where(n > 0, mean_len, nan),
        "episodes": stats.completed,
    }


class EpisodicLife(Wrapper):
    """A lost life ends the *training* episode (``terminated``) while the game goes on.

    Mnih et al. 2015 (Nature DQN) and baselines' ``EpisodicLifeEnv``: the value of the state after
    a life loss is not bootstrapped. Needs ``info["lives"]`` (the lives after the step, after any
    auto-reset). Placed outside ``EpisodeStats``, so reported returns stay full-game scores.
    """

    stateful = True  # its state is Wrapped(inner, own): the lives before the step, -1 = unknown

    def reset(self, key):
        state, obs = self.env.reset(key)
        return Wrapped(state, -jnp.ones(self.env.num_envs, jnp.int32)), obs

    def step(self, state, action, key):
        out = self.env.step(state.inner, action, key)
        if "lives" not in out.info:
            raise ValueError(f"episodic_life: env {self.name} reports no lives")
        lives = out.info["lives"]
        done = jnp.logical_or(out.terminated, out.truncated)
        life_lost = (state.own >= 0) & (lives < state.own) & ~done
        info = {**out.info, "life_lost": life_lost}
        terminated = jnp.logical_or(out.terminated, life_lost)
        return Step(Wrapped(out.state, lives), out.obs, out.reward, terminated, out.truncated, info)


class SignReward(Wrapper):
    """Rewards clipped to their sign, {-1, 0, 1}, for training (Mnih et al. 2015)."""

    def step(self, state, action, key):
        out = self.env.step(state, action, key)
        return out._replace(reward=jnp.sign(out.reward))


@struct.dataclass
class RunningMeanStd:
    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls, shape):
        return cls(jnp.zeros(shape, jnp.float32), jnp.ones(shape, jnp.float32), jnp.float32(1e-4))

    def update(self, batch: jax.Array) -> RunningMeanStd:
        """Parallel (Chan et al.) merge of a batch's moments over axis 0."""
        b_mean = batch.mean(0)
        b_var = batch.var(0)
        b_count = jnp.float32(batch.shape[0])
        delta = b_mean - self.mean
        total = self.count + b_count
        mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        return RunningMeanStd(mean, m2 / total, total)


def _per_entry(fn, rms, obs):
    """``fn(rms, obs)`` for an array observation, or per key for a dict observation."""
    if isinstance(obs, dict):
        return {k: fn(rms[k], obs[k]) for k in obs}
    return fn(rms, obs)


class NormalizeObs(Wrapper):
    """Observations standardised by running statistics, then clipped (gym's NormalizeObservation).

    ``frozen=True`` gives an evaluation copy that reads the statistics without updating them.
    Dict observations (MuJoCo Playground's ``state`` / ``privileged_state``) keep statistics per entry.
    """

    stateful = True  # its state is Wrapped(inner, own)

    def __init__(self, env, clip: float = 10.0, eps: float = 1e-8, frozen: bool = False):
        super().__init__(env)
        self.clip, self.eps, self.frozen = float(clip), float(eps), frozen

    def _normalize(self, rms, obs):
        return _per_entry(
            lambda r, o: jnp.clip((o - r.mean) / jnp.sqrt(r.var + self.eps), -self.clip, self.clip), rms, obs
        )

    def reset(self, key):
        state, obs = self.env.reset(key)
        space = self.observation_space
        if isinstance(space, dict):
            rms = {k: RunningMeanStd.create(s.shape) for k, s in space.items()}
        else:
            rms = RunningMeanStd.create(space.shape)
        if not self.frozen:
            rms = _per_entry(lambda r, o: r.update(o), rms, obs)
        return Wrapped(state, rms), self._normalize(rms, obs)

    def step(self, state, action, key):
        out = self.env.step(state.inner, action, key)
        rms = state.own if self.frozen else _per_entry(lambda r, o: r.update(o), state.own, out.obs)
        info = dict(out.info)
        if "final_obs" in info:
            info["final_obs"] = self._normalize(rms, info["final_obs"])
        return Step(
            Wrapped(out.state, rms),
            self._normalize(rms, out.obs),
            out.reward,
            out.terminated,
            out.truncated,
            info,
        )


@struct.dataclass
class RewardNormState:
    discounted_return: jax.Array
    rms: RunningMeanStd


class NormalizeReward(Wrapper):
    """Rewards scaled by the running std of the discounted return (gym's NormalizeReward)."""

    stateful = True  # its state is Wrapped(inner, own)

    def __init__(self, env, gamma: float, clip: float = 10.0, eps: float = 1e-8, frozen=False):
        super().__init__(env)
        self.gamma, self.clip, self.eps, self.frozen = float(gamma), float(clip), float(eps), frozen

    def reset(self, key):
        state, obs = self.env.reset(key)
        n = self.env.num_envs
        return Wrapped(state, RewardNormState(jnp.zeros(n, jnp.float32), RunningMeanStd.create(()))), obs

    def step(self, state, action, key):
        out = self.env.step(state.inner, action, key)
        s = state.own
        done = jnp.logical_or(out.terminated, out.truncated)
        ret = s.discounted_return * self.gamma + out.reward
        rms = s.rms if self.frozen else s.rms.update(ret)
        reward = jnp.clip(out.reward / jnp.sqrt(rms.var + self.eps), -self.clip, self.clip)
        own = RewardNormState(jnp.where(done, 0.0, ret), rms)
        return Step(Wrapped(out.state, own), out.obs, reward, out.terminated, out.truncated, out.info)


def find_state(env, state, wrapper_type):
    """The own-state of the outermost ``wrapper_type`` layer in a wrapped env's state."""
    while isinstance(env, Wrapper):
        if isinstance(env, wrapper_type):
            return state.own
        if getattr(env, "stateful", False):
            state = state.inner
        env = env.env
    raise ValueError(f"{wrapper_type.__name__} not in the wrapper stack")
