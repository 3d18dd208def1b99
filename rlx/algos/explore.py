"""Exploration policies over Q-values and the decay schedules that drive them, written once for
every value-based algorithm (SARSA, DQN) and reused for other annealed coefficients (entropy).

Schedules follow SLM-Lab's ``explore_var_spec`` (``start_val, end_val, start_step, end_step``;
``slm_lab/agent/algorithm/policy_util.py`` / ``math_util.py``): the value is ``start`` until
``start_step``, moves to ``end`` by ``end_step`` and stays there. ``step`` is whatever the caller
counts (rlx counts frames: env steps over all envs of one seed). Every number may be a traced
array, so schedule parameters are sweepable hyperparameters; only ``kind`` is static.

- ``linear``: straight line from start to end (SLM-Lab's ``linear_decay``).
- ``exponential``: geometric interpolation ``start * (end / start) ** frac``, i.e. a constant
  decay rate that reaches ``end`` exactly at ``end_step`` (both values must be > 0).
- ``constant``: ``start`` throughout.

Policies (all take a key and Q-values of shape ``(..., num_actions)``, return int32 actions):

- ``epsilon_greedy``: uniform random action with probability epsilon, else argmax
  (Mnih et al. 2015).
- ``boltzmann``: sample from ``softmax(Q / tau)`` with temperature tau (Sutton & Barto 2018,
  sec. 2.8 / 13.1; SLM-Lab's ``boltzmann`` policy divides the Q-values by tau the same way).
- ``greedy``: argmax (evaluation).

``action_probs(kind, q, value)`` gives each policy's action distribution (for expected targets
and tests).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

SCHEDULES = ("constant", "linear", "exponential")
POLICIES = ("epsilon_greedy", "boltzmann", "greedy")


def _progress(step, start_step, end_step):
    step = jnp.asarray(step, jnp.float32)
    span = jnp.maximum(jnp.asarray(end_step, jnp.float32) - start_step, 1e-8)
    return jnp.clip((step - start_step) / span, 0.0, 1.0)


def linear_schedule(start, end, start_step, end_step, step):
    frac = _progress(step, start_step, end_step)
    return jnp.asarray(start, jnp.float32) + frac * (jnp.asarray(end, jnp.float32) - start)


def exponential_schedule(start, end, start_step, end_step, step):
    frac = _progress(step, start_step, end_step)
    start = jnp.asarray(start, jnp.float32)
    return start * (jnp.asarray(end, jnp.float32) / start) ** frac


def schedule(kind: str, start, end, start_step, end_step, step):
    """The scheduled value at ``step`` (a float32 scalar, traceable in every argument but ``kind``)."""
    if kind == "constant":
        return jnp.asarray(start, jnp.float32) * jnp.ones((), jnp.float32)
    if kind == "linear":
        return linear_schedule(start, end, start_step, end_step, step)
    if kind == "exponential":
        return exponential_schedule(start, end, start_step, end_step, step)
    raise ValueError(f"schedule: unknown {kind!r}; allowed: {', '.join(SCHEDULES)}")


def epsilon_greedy(key, q_values, epsilon):
    k_explore, k_action = jax.random.split(key)
    greedy = jnp.argmax(q_values, axis=-1)
    random = jax.random.randint(k_action, greedy.shape, 0, q_values.shape[-1])
    explore = jax.random.uniform(k_explore, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)


def boltzmann(key, q_values, tau):
    return jax.random.categorical(key, q_values / tau, axis=-1).astype(jnp.int32)


def greedy(key, q_values, value=None):
    return jnp.argmax(q_values, axis=-1).astype(jnp.int32)


def select_action(kind: str, key, q_values, value):
    """``value`` is epsilon for ``epsilon_greedy``, tau for ``boltzmann``, ignored for ``greedy``."""
    if kind == "epsilon_greedy":
        return epsilon_greedy(key, q_values, value)
    if kind == "boltzmann":
        return boltzmann(key, q_values, value)
    if kind == "greedy":
        return greedy(key, q_values)
    raise ValueError(f"explore: unknown {kind!r}; allowed: {', '.join(POLICIES)}")


def action_probs(kind: str, q_values, value):
    """The probability each policy gives every action, shape ``q_values.shape``."""
    n = q_values.shape[-1]
    one_hot = jax.nn.one_hot(jnp.argmax(q_values, axis=-1), n, dtype=jnp.float32)
    if kind == "epsilon_greedy":
        return (1.0 - value) * one_hot + value / n
    if kind == "boltzmann":
        return jax.nn.softmax(q_values / value, axis=-1)
    if kind == "greedy":
        return one_hot
    raise ValueError(f"explore: unknown {kind!r}; allowed: {', '.join(POLICIES)}")
