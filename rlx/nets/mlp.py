"""MLP torso with orthogonal initialisation.

Orthogonal init with gain sqrt(2) on hidden layers is the standard PPO recipe
(Engstrom et al. 2020, "Implementation Matters"; Andrychowicz et al. 2021).

Observations of any rank (MinAtar's ``(10, 10, C)`` frames, bsuite's ``(10, 5)`` boards) are
flattened to one feature axis first. The observation rank ``obs_ndim`` is a static field set from
the env's observation space, never guessed from the array: the same module sees ``obs_shape``,
``(num_envs, *obs_shape)``, ``(batch, *obs_shape)`` and ``(T, envs, *obs_shape)`` (and runs under
``vmap`` over seeds), so only the trailing ``obs_ndim`` axes are merged.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

ACTIVATIONS = {
    "tanh": nn.tanh,
    "relu": nn.relu,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "silu": nn.silu,
    "swish": nn.swish,
    "leaky_relu": nn.leaky_relu,
}


def orthogonal(gain: float):
    return nn.initializers.orthogonal(gain)


def flatten_obs(x, obs_ndim: int = 1):
    """``(*lead, *obs_shape) -> (*lead, prod(obs_shape))`` for an observation of rank ``obs_ndim``.

    Rank 1 is returned as is (flat-obs networks are unchanged); rank 0 (FrozenLake's scalar state)
    gains a feature axis of size 1."""
    if obs_ndim == 1:
        return x
    if obs_ndim == 0:
        return x[..., None]
    if x.ndim < obs_ndim:
        raise ValueError(f"observation of rank {obs_ndim} expected, got an array of shape {x.shape}")
    return x.reshape(x.shape[: x.ndim - obs_ndim] + (-1,))


def obs_ndim_of(obs_shape) -> int:
    """The rank of one observation; ``None`` (no shape given) means a flat vector."""
    return 1 if obs_shape is None else len(obs_shape)


class MLP(nn.Module):
    hidden: Sequence[int]
    activation: str = "tanh"
    gain: float = float(np.sqrt(2.0))
    layer_norm: bool = False
    obs_ndim: int = 1  # rank of one input (static): the trailing axes flattened before the first layer

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        x = flatten_obs(x, self.obs_ndim)
        for width in self.hidden:
            x = nn.Dense(width, kernel_init=orthogonal(self.gain), bias_init=nn.initializers.zeros)(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
            x = act(x)
        return x


def dense(features: int, gain: float):
    return nn.Dense(features, kernel_init=orthogonal(gain), bias_init=nn.initializers.zeros)


__all__ = ["MLP", "ACTIVATIONS", "orthogonal", "dense", "flatten_obs", "obs_ndim_of", "jnp"]
