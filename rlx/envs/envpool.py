"""Bridge from envpool (C++ env pools on host threads) into jitted rlx training loops.

envpool simulates Box2D, the Gymnasium MuJoCo v5 tasks and the ALE on host threads. This adapter
calls it from inside ``jit`` / ``lax.scan`` through ``jax.pure_callback`` and gives it the rlx env
protocol of a *batched, auto-resetting* env of ``num_envs`` copies (what the gymnax factory builds
with ``VecEnv(AutoReset(env))``), so ``EpisodeStats`` and the normalisers go on top unchanged.

Three things the bridge does that envpool alone does not:

* **Same-step auto-reset.** envpool resets an env on the step *after* it finished (Gymnasium's
  ``NEXT_STEP`` mode): that step ignores the action and returns the first observation with reward
  0, a dummy transition that must never reach GAE or a replay buffer. Here, when envs finish, the
  bridge immediately sends those envs alone one more (reset) step, so the caller sees
  ``obs`` = the new episode's first observation and ``info["final_obs"]`` = the real last one, in
  the same step, exactly like ``AutoReset``. No dummy transition exists on the JAX side.
* **Seeds under vmap.** The runner vmaps ``init`` and the training chunk over seeds. The callbacks
  use ``vmap_method="broadcast_all"``, so a vmapped step is *one* host call with the seed axis
  leading: one pool of ``num_seeds x num_envs`` envs, one host step per iteration, seed ``s``
  owning envs ``[s*N, (s+1)*N)``. The pool is built at ``reset`` time with every env's seed drawn
  from that JAX seed's key, so a seed's simulators do not depend on how many seeds run beside it
  (its training then agrees to float rounding across seed counts: rlx.experiment.seeds).
  (envpool's own XLA custom call is faster for very light envs but has no vmap rule and cannot
  step a subset of envs, which the same-step reset needs: docs/design.md.)
* **float32.** MuJoCo tasks return float64 observations; they are cast on the host (no silent
  float64 in the graph). Atari frames stay ``uint8`` until the network.

The env state on the JAX side is only a token (pool id, step count) that threads the callbacks in
order; the simulator state lives on the host, so only the state of the latest ``reset`` of a given
batch shape can be stepped. A state restored from a checkpoint (another process) steps that
process's latest pool: the simulators start fresh episodes there (the first transition after a
resume pairs the saved observation with a new episode; envpool cannot save simulator state).
"""

from __future__ import annotations

import itertools
import math
import os
import threading

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlx.envs.core import Env, Step
from rlx.envs.spaces import Box, Discrete

_POOL_IDS = itertools.count(1)
_POOLS: dict[int, object] = {}  # pool id -> live envpool pool
_CLOSED: set[int] = set()  # ids of pools replaced by a later reset
_LOCK = threading.Lock()
INT32_MAX = 2**31 - 1


@struct.dataclass
class PoolState:
    pool: jax.Array  # int32: id of the host pool this state belongs to
    steps: jax.Array  # int32: host steps so far (threads the callbacks in order)


def _registry():
    from envpool.registration import registry

    return registry


def _is_atari(env_id: str) -> bool:
    entry = _registry().specs.get(env_id)
    return entry is not None and "atari" in entry[0]


def envpool_env_ids() -> list[str]:
    """Every envpool task, plus ``ALE/<Game>-v5`` aliases (SLM-Lab's names) for the Atari games."""
    try:
        import envpool
    except ImportError:
        return []
    ids = list(envpool.list_all_envs())
    return ids + [f"ALE/{i}" for i in ids if i.endswith("-v5") and _is_atari(i)]


def _convert_space(space):
    import gymnasium.spaces as gspaces

    if isinstance(space, gspaces.Discrete):
        return Discrete(int(space.n))
    if isinstance(space, gspaces.Box):
        dtype = "uint8" if space.dtype == np.uint8 else "float32"
        low = np.asarray(space.low, np.float64)
        high = np.asarray(space.high, np.float64)
        if dtype == "float32":  # envpool reports float32 min/max for unbounded float32 spaces
            low = np.where(np.abs(low) >= np.finfo(np.float32).max / 2, -np.inf, low)
            high = np.where(np.abs(high) >= np.finfo(np.float32).max / 2, np.inf, high)
            low = np.where((low > 0) & (low < 1e-30), -np.inf, low)  # float32 tiny = "no bound"
        return Box(low.astype(np.float32), high.astype(np.float32), tuple(space.shape), dtype)
    raise TypeError(f"envpool: unsupported space {space!r} (rlx takes Discrete and Box spaces)")


class EnvpoolEnv(Env):
    """``num_envs`` envpool envs as one batched, auto-resetting rlx env (see the module doc).

    ``kwargs`` go to ``envpool.make`` (e.g. ``repeat_action_probability=0.25`` for Atari);
    ``num_threads=0`` lets envpool pick (one per env, at most the machine's cores).
    """

    def __init__(self, env_id: str, num_envs: int, num_threads: int = 0, **kwargs):
        import envpool

        if env_id.startswith("ALE/"):
            env_id = env_id[len("ALE/") :]
        self.name = env_id
        self._num_envs = int(num_envs)
        self._num_threads = int(num_threads)
        self._kwargs = dict(kwargs)
        probe = envpool.make(env_id, env_type="gymnasium", num_envs=1, **self._kwargs)
        self.observation_space = _convert_space(probe.observation_space)
        self.action_space = _convert_space(probe.action_space)
        self._act_dtype = probe.action_space.dtype
        self.max_episode_steps = int(probe.config["max_episode_steps"])
        self._has_lives = "info:lives" in probe._state_keys
        probe.close()
        self._obs_dtype = np.dtype(self.observation_space.dtype)
        self._pool_by_lead: dict[tuple, int] = {}  # batch shape -> id of the latest pool

    @property
    def num_envs(self) -> int:
        return self._num_envs

    # ---------------------------------------------------------------- host side

    def _make_pool(self, seeds: np.ndarray):
        import envpool

        n = int(seeds.size)
        threads = self._num_threads or min(n, os.cpu_count() or 1)
        return envpool.make(
            self.name,
            env_type="gymnasium",
            num_envs=n,
            env_seed=[int(s) for s in seeds],
            num_threads=threads,
            **self._kwargs,
        )

    def _extras(self, info, lead):
        out = ()
        if self._has_lives:
            out += (np.asarray(info["lives"], np.int32).reshape(lead + (self._num_envs,)),)
        return out

    def _host_reset(self, seeds):
        seeds = np.asarray(seeds)
        lead = seeds.shape[:-1]  # seed (and sweep) axes under vmap; () otherwise
        pool = self._make_pool(seeds.reshape(-1))
        obs, info = pool.reset()
        order = np.asarray(info["env_id"])
        if not np.array_equal(order, np.arange(order.size)):
            obs = obs[np.argsort(order)]
            info = {k: (v[np.argsort(order)] if isinstance(v, np.ndarray) else v) for k, v in info.items()}
        with _LOCK:
            pid = next(_POOL_IDS)
            old = self._pool_by_lead.get(lead)
            if old is not None and old in _POOLS:  # a state can only live on its latest pool
                _POOLS.pop(old).close()
                _CLOSED.add(old)
            _POOLS[pid] = pool
            self._pool_by_lead[lead] = pid
        shape = lead + (self._num_envs,)
        return (
            np.full(lead, pid, np.int32),
            np.zeros(lead, np.int32),
            np.asarray(obs, self._obs_dtype).reshape(shape + self.observation_space.shape),
        )

    def _host_step(self, pool_ids, steps, action):
        pool_ids = np.asarray(pool_ids)
        lead = pool_ids.shape
        pid = int(pool_ids.reshape(-1)[0])
        if pid in _CLOSED or not np.all(pool_ids == pid):
            raise RuntimeError(
                f"envpool: this env state belongs to pool {pid}, which was closed by a later reset of "
                "the same batch shape: envpool keeps the simulator state on the host, so only the "
                "latest reset's state can be stepped"
            )
        pool = _POOLS.get(pid)
        if pool is None:
            # a state from another process (a restored checkpoint): continue on this process's
            # latest pool of the same shape; its simulators start fresh episodes
            pool = _POOLS.get(self._pool_by_lead.get(lead, -1))
            if pool is None:
                raise RuntimeError("envpool: step before reset (no pool of this batch shape)")
        total = math.prod(lead) * self._num_envs
        if pool.num_envs != total:
            raise RuntimeError(
                f"envpool: a step for {total} envs on a pool of {pool.num_envs}: under vmap, reset "
                "must be batched along every vmapped axis (give each sweep point its own reset key)"
            )
        act = np.asarray(action).reshape((total,) + tuple(self.action_space.shape)).astype(self._act_dtype)
        obs, reward, terminated, truncated, info = pool.step(act)
        order = np.asarray(info["env_id"])
        if not np.array_equal(order, np.arange(total)):  # sync mode returns send order; be safe
            inv = np.argsort(order)
            obs, reward, terminated, truncated = obs[inv], reward[inv], terminated[inv], truncated[inv]
            info = {k: (v[inv] if isinstance(v, np.ndarray) else v) for k, v in info.items()}
        final_obs = np.asarray(obs, self._obs_dtype)
        next_obs = final_obs
        done = np.logical_or(terminated, truncated)
        if done.any():
            # envpool resets a finished env on its next step (action ignored): send that step now,
            # to the finished envs only, so the dummy transition never leaves the host
            ids = np.flatnonzero(done).astype(np.int32)
            r_obs, _, _, _, r_info = pool.step(act[ids], env_id=ids)
            r_ids = np.asarray(r_info["env_id"])
            next_obs = final_obs.copy()
            next_obs[r_ids] = r_obs
            if self._has_lives:
                lives = np.array(info["lives"], copy=True)
                lives[r_ids] = r_info["lives"]
                info = {**info, "lives": lives}
        shape = lead + (self._num_envs,)
        obs_shape = shape + self.observation_space.shape
        return (
            np.asarray(steps, np.int32) + 1,
            next_obs.reshape(obs_shape),
            final_obs.reshape(obs_shape),
            np.asarray(reward, np.float32).reshape(shape),
            np.asarray(terminated, bool).reshape(shape),
            np.asarray(truncated, bool).reshape(shape),
            *self._extras(info, lead),
        )

    # ---------------------------------------------------------------- JAX side

    def _obs_struct(self):
        return jax.ShapeDtypeStruct((self._num_envs,) + self.observation_space.shape, self._obs_dtype)

    def _extra_structs(self):
        return (jax.ShapeDtypeStruct((self._num_envs,), jnp.int32),) if self._has_lives else ()

    def reset(self, key):
        # every env's simulator seed comes from this JAX key (envpool wants int32 seeds)
        seeds = jax.random.randint(key, (self._num_envs,), 0, INT32_MAX, dtype=jnp.int32)
        scalar = jax.ShapeDtypeStruct((), jnp.int32)
        pid, steps, obs = jax.pure_callback(
            self._host_reset,
            (scalar, scalar, self._obs_struct()),
            seeds,
            vmap_method="broadcast_all",
        )
        return PoolState(pid, steps), obs

    def step(self, state, action, key):
        del key  # the simulators' randomness was seeded at reset
        n = (self._num_envs,)
        scalar = jax.ShapeDtypeStruct((), jnp.int32)
        structs = (
            scalar,
            self._obs_struct(),
            self._obs_struct(),
            jax.ShapeDtypeStruct(n, jnp.float32),
            jax.ShapeDtypeStruct(n, jnp.bool_),
            jax.ShapeDtypeStruct(n, jnp.bool_),
            *self._extra_structs(),
        )
        action = jnp.asarray(action, jnp.int32 if isinstance(self.action_space, Discrete) else jnp.float32)
        steps, obs, final_obs, reward, terminated, truncated, *extra = jax.pure_callback(
            self._host_step,
            structs,
            state.pool,
            state.steps,
            action,
            vmap_method="broadcast_all",
        )
        info = {"final_obs": final_obs}
        if self._has_lives:
            info["lives"] = extra[0]
        return Step(PoolState(state.pool, steps), obs, reward, terminated, truncated, info)


def close_all():
    """Closes every live pool (tests; a long notebook session)."""
    with _LOCK:
        for pid in list(_POOLS):
            _POOLS.pop(pid).close()
            _CLOSED.add(pid)
