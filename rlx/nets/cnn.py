"""The Nature CNN torso (Mnih et al. 2015, "Human-level control through deep RL").

conv 32 8x8 stride 4 -> conv 64 4x4 stride 2 -> conv 64 3x3 stride 1 -> dense 512, ReLU, with
orthogonal sqrt(2) initialisation as in baselines / CleanRL's PPO-Atari. Frames arrive as ``uint8``
(the env bridge copies bytes, not floats) and are scaled to [0, 1] here, at the first layer.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from rlx.nets.mlp import orthogonal

NATURE_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))  # (features, kernel, stride)


class NatureCNN(nn.Module):
    features: int = 512
    channels_first: bool = True  # envpool's Atari frames are (stack, height, width)
    gain: float = 2.0**0.5

    @nn.compact
    def __call__(self, obs):
        x = obs.astype(jnp.float32)
        if obs.dtype == jnp.uint8:
            x = x / 255.0
        if self.channels_first:
            x = jnp.moveaxis(x, -3, -1)
        for features, kernel, stride in NATURE_CONVS:
            x = nn.Conv(features, (kernel, kernel), (stride, stride), padding="VALID",
                        kernel_init=orthogonal(self.gain), bias_init=nn.initializers.zeros)(x)
            x = nn.relu(x)
        x = x.reshape(x.shape[:-3] + (-1,))
        x = nn.Dense(self.features, kernel_init=orthogonal(self.gain), bias_init=nn.initializers.zeros)(x)
        return nn.relu(x)
