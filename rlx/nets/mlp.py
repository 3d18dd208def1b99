"""MLP torso with orthogonal initialisation.

Orthogonal init with gain sqrt(2) on hidden layers is the standard PPO recipe
(Engstrom et al. 2020, "Implementation Matters"; Andrychowicz et al. 2021).
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


class MLP(nn.Module):
    hidden: Sequence[int]
    activation: str = "tanh"
    gain: float = float(np.sqrt(2.0))
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        x = x.reshape(x.shape[: x.ndim - 1] + (-1,)) if x.ndim else x
        for width in self.hidden:
            x = nn.Dense(width, kernel_init=orthogonal(self.gain), bias_init=nn.initializers.zeros)(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
            x = act(x)
        return x


def dense(features: int, gain: float):
    return nn.Dense(features, kernel_init=orthogonal(gain), bias_init=nn.initializers.zeros)


__all__ = ["MLP", "ACTIVATIONS", "orthogonal", "dense", "jnp"]
