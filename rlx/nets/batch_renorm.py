"""Batch renormalisation (Ioffe 2017), as CrossQ uses it in its critics (Bhatt et al., ICLR 2024).

Training mode normalises with the batch's moments, corrected towards the running moments by
``r = clip(sigma_B / sigma, 1/r_max, r_max)`` and ``d = clip((mu_B - mu) / sigma, -d_max, d_max)``
(both under stop_gradient), and updates the running moments; for the first ``warmup_steps``
training calls ``r = 1, d = 0`` (plain batch norm), as in the CrossQ reference code (sbx).
Evaluation mode (``train=False``) uses the running moments only and changes no state.
The running statistics live in flax's ``batch_stats`` collection: train-state, not parameters.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class BatchRenorm(nn.Module):
    momentum: float = 0.99  # flax convention: running = momentum * running + (1 - momentum) * batch
    epsilon: float = 1e-3
    r_max: float = 3.0
    d_max: float = 5.0
    warmup_steps: int = 100_000

    @nn.compact
    def __call__(self, x, train: bool = False):
        features = x.shape[-1]
        ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros(features, jnp.float32))
        ra_var = self.variable("batch_stats", "var", lambda: jnp.ones(features, jnp.float32))
        steps = self.variable("batch_stats", "steps", lambda: jnp.zeros((), jnp.int32))
        scale = self.param("scale", nn.initializers.ones, (features,))
        bias = self.param("bias", nn.initializers.zeros, (features,))
        if not train:
            return (x - ra_mean.value) / jnp.sqrt(ra_var.value + self.epsilon) * scale + bias

        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axes)
        var = x.var(axes)
        std = jnp.sqrt(var + self.epsilon)
        ra_std = jnp.sqrt(ra_var.value + self.epsilon)
        r = jax.lax.stop_gradient(jnp.clip(std / ra_std, 1.0 / self.r_max, self.r_max))
        d = jax.lax.stop_gradient(jnp.clip((mean - ra_mean.value) / ra_std, -self.d_max, self.d_max))
        warm = steps.value < self.warmup_steps
        r = jnp.where(warm, 1.0, r)
        d = jnp.where(warm, 0.0, d)
        y = (x - mean) / std * r + d
        if not self.is_initializing():
            ra_mean.value = self.momentum * ra_mean.value + (1.0 - self.momentum) * jax.lax.stop_gradient(mean)
            ra_var.value = self.momentum * ra_var.value + (1.0 - self.momentum) * jax.lax.stop_gradient(var)
            steps.value = steps.value + 1
        return y * scale + bias
