"""The Nature CNN torso (Mnih et al. 2015, "Human-level control through deep RL").

conv 32 8x8 stride 4 -> conv 64 4x4 stride 2 -> conv 64 3x3 stride 1 -> dense 512, ReLU, with
orthogonal sqrt(2) initialisation as in baselines / CleanRL's PPO-Atari. Frames arrive as ``uint8``
(the env bridge copies bytes, not floats) and are scaled to [0, 1] here, at the first layer.

Convolutions on CPU run as one matrix product over patches (``conv_impl="auto"``). XLA:CPU's
convolution gradients are very slow inside a loop body (PPO's epoch / minibatch ``lax.scan``): a
Nature-CNN forward+backward over 256-frame minibatches inside ``lax.map`` ran at 11 frames/s on a
2-core CPU against 728 frames/s as patches @ kernel (``benchmarks/cnn_speed.py``; BENCHMARKS.md,
"Atari on CPU"), and ``vmap`` over seeds turns ``lax.conv`` into a grouped convolution (slower
still) where a matrix product just gains a batch axis. The patches come from a space-to-depth
reshape (no gather), and the kernel is the same ``(kh, kw, in, out)`` parameter as
``flax.linen.Conv``'s, so both paths share parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlx.nets.mlp import orthogonal

NATURE_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))  # (features, kernel, stride)
CONV_IMPLS = ("auto", "matmul", "xla")


def conv_patches(x, kernel: int, stride: int):
    """VALID-padding patches of NHWC ``x (..., H, W, C)`` as ``(..., oh, ow, kernel*kernel*C)``.

    Needs ``kernel % stride == 0`` (true of every Nature-CNN layer): the input is cut into
    ``stride x stride`` blocks (space to depth), and a patch is the ``m x m`` neighbouring blocks,
    ``m = kernel // stride``: only reshapes, one transpose and ``m*m`` unit-stride slices, whose
    gradients are cheap pads. The feature order is (block row a, block col b, row p, col q, C) for
    the kernel offset ``(a*stride + p, b*stride + q)``; ``patch_kernel`` orders a kernel to match.
    """
    if kernel % stride:
        raise ValueError(f"conv_patches: kernel {kernel} must be a multiple of stride {stride}")
    m = kernel // stride
    *lead, h, w, c = x.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    hb, wb = oh + m - 1, ow + m - 1
    x = x[..., : hb * stride, : wb * stride, :].reshape((*lead, hb, stride, wb, stride, c))
    x = jnp.swapaxes(x, -4, -3).reshape((*lead, hb, wb, stride * stride * c))
    if m == 1:
        return x
    return jnp.concatenate([x[..., a : a + oh, b : b + ow, :] for a in range(m) for b in range(m)], axis=-1)


def patch_kernel(kernel, stride: int):
    """``(k, k, in, out)`` -> ``(k*k*in, out)`` in ``conv_patches``' feature order."""
    k, _, c, f = kernel.shape
    m = k // stride
    kernel = kernel.reshape(m, stride, m, stride, c, f).transpose(0, 2, 1, 3, 4, 5)
    return kernel.reshape(k * k * c, f)


class Conv(nn.Module):
    """A VALID, square-kernel ``flax.linen.Conv`` (same parameters) that can run as patches @ kernel.

    ``uint8`` inputs are scaled to [0, 1] after patch extraction (patches move as bytes)."""

    features: int
    kernel: int
    stride: int
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros
    impl: str = "auto"

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (self.kernel, self.kernel, c, self.features), jnp.float32)
        bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
        impl = self.impl
        if impl not in CONV_IMPLS:
            raise ValueError(f"conv_impl: must be one of {', '.join(CONV_IMPLS)}, got {impl!r}")
        if impl == "auto":
            impl = "matmul" if jax.default_backend() == "cpu" else "xla"
        if impl == "matmul":
            x = _scaled(conv_patches(x, self.kernel, self.stride))
            y = x @ patch_kernel(kernel, self.stride)
        else:
            x = _scaled(x)
            y = jax.lax.conv_general_dilated(
                x, kernel, (self.stride, self.stride), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
        return y + bias


def _scaled(x):
    return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x.astype(jnp.float32)


class NatureCNN(nn.Module):
    features: int = 512
    channels_first: bool = True  # envpool's Atari frames are (stack, height, width)
    gain: float = 2.0**0.5
    conv_impl: str = "auto"  # "matmul": patches @ kernel (the CPU default), "xla": lax.conv (GPU)

    @nn.compact
    def __call__(self, obs):
        x = jnp.moveaxis(obs, -3, -1) if self.channels_first else obs  # still uint8: bytes move
        for i, (features, kernel, stride) in enumerate(NATURE_CONVS):
            x = Conv(
                features, kernel, stride, kernel_init=orthogonal(self.gain), impl=self.conv_impl, name=f"Conv_{i}"
            )(x)
            x = nn.relu(x)
        x = x.reshape(x.shape[:-3] + (-1,))
        x = nn.Dense(self.features, kernel_init=orthogonal(self.gain), bias_init=nn.initializers.zeros)(x)
        return nn.relu(x)
