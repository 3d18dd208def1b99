"""Return and advantage estimators, written once for every algorithm.

All arrays are time-major ``(T, ...)``. ``next_values[t]`` is the value of the state the env
really reached after step t — for a finished episode that is the final observation, not the reset
one. Terminations cut the bootstrap (the episode has no future); truncations keep it (the episode
was cut by a time limit) while still cutting the trace so it does not leak into the next episode.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16) with separate
    termination and truncation. Returns ``(advantages, value_targets)``."""
    not_terminated = 1.0 - terminated.astype(jnp.float32)
    not_done = 1.0 - jnp.logical_or(terminated, truncated).astype(jnp.float32)
    deltas = rewards + gamma * not_terminated * next_values - values

    def backward(carry, x):
        delta, cont = x
        carry = delta + gamma * lam * cont * carry
        return carry, carry

    _, advantages = jax.lax.scan(backward, jnp.zeros_like(deltas[0]), (deltas, not_done), reverse=True)
    return advantages, advantages + values


def lambda_returns(rewards, values, next_values, terminated, truncated, gamma, lam):
    """TD(lambda) returns: the GAE value targets."""
    return gae(rewards, values, next_values, terminated, truncated, gamma, lam)[1]


def nstep_returns(rewards, next_values, terminated, truncated, gamma):
    """Bootstrapped returns to the end of the rollout (A2C's n-step return, n = rollout length):
    G_t = r_t + gamma * (G_{t+1} if the episode goes on, V(s'_t) if truncated or at the rollout's end,
    0 if terminated). Equals the lambda = 1 case of ``lambda_returns`` when ``next_values[t]`` is
    ``values[t + 1]`` inside episodes."""
    return discounted_returns(rewards, terminated, truncated, gamma, bootstrap=next_values)


def discounted_returns(rewards, terminated, truncated, gamma, bootstrap=None):
    """Monte-Carlo discounted return-to-go within each episode.

    ``bootstrap`` (same shape as ``rewards``): value added after a truncation or at the rollout's end;
    ``None`` means 0 there (pure Monte-Carlo, as in REINFORCE over complete episodes).
    """
    not_terminated = 1.0 - terminated.astype(jnp.float32)
    not_done = 1.0 - jnp.logical_or(terminated, truncated).astype(jnp.float32)
    if bootstrap is None:
        bootstrap = jnp.zeros_like(rewards)
    # at a cut (done or last step), the continuation is the bootstrap value unless terminated
    is_last = jnp.zeros_like(not_done).at[-1].set(1.0)
    cut = jnp.maximum(1.0 - not_done, is_last)

    def backward(carry, x):
        r, nt, c, b = x
        future = c * nt * b + (1.0 - c) * carry
        g = r + gamma * future
        return g, g

    _, returns = jax.lax.scan(
        backward, jnp.zeros_like(rewards[0]), (rewards, not_terminated, cut, bootstrap), reverse=True
    )
    return returns


def complete_episode_mask(terminated, truncated):
    """1.0 where the step's episode ends inside the rollout (at this step or a later one), else 0.0.

    Steps after the last episode end of an env column belong to an episode that goes on past the
    rollout; their Monte-Carlo return is not known yet. REINFORCE over complete episodes
    (Williams 1992) weights them 0 rather than treating the rollout's end as the episode's end.
    """
    done = jnp.logical_or(terminated, truncated).astype(jnp.float32)
    return jax.lax.cummax(done, axis=0, reverse=True)
