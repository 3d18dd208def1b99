"""Image torsos: the Nature CNN (Mnih et al. 2015, "Human-level control through deep RL") and the
MinAtar network (Young & Tian 2019, "MinAtar: An Atari-Inspired Testbed", arXiv:1903.03176).

Nature CNN: conv 32 8x8 stride 4 -> conv 64 4x4 stride 2 -> conv 64 3x3 stride 1 -> dense 512, ReLU,
with orthogonal sqrt(2) initialisation as in baselines / CleanRL's PPO-Atari. Frames arrive as
``uint8`` (the env bridge copies bytes, not floats) and are scaled to [0, 1] here, at the first layer.
Its layers need frames of at least 36x36 (``NATURE_MIN_SIZE``).

MinAtar network: conv 16 3x3 stride 1 (VALID) -> dense 128, ReLU, the network of the MinAtar paper's
DQN and actor-critic baselines (and of its ``examples/dqn.py``); ``image_torso`` picks it for frames
smaller than the Nature CNN's minimum (MinAtar's 10x10, gymnax's 30x40 Pong-misc).

Layout: envpool's Atari frames are channels-first ``(stack, 84, 84)``, gymnax's MinAtar frames
channels-last ``(10, 10, C)``. ``image_torso`` reads the layout from the observation space's shape
once, at build time (``channels_last``: the channel axis is the smaller end axis), and sets it as a
static field of the torso.

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
            lead = x.shape[:-3]  # lax.conv takes one batch axis: (T, envs, H, W, C) folds into it
            y = jax.lax.conv_general_dilated(
                x.reshape((-1,) + x.shape[-3:]),
                kernel,
                (self.stride, self.stride),
                "VALID",
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
            )
            y = y.reshape(lead + y.shape[1:])
        return y + bias


def _scaled(x):
    return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x.astype(jnp.float32)


def _flat_dense(x, features: int, gain: float, convs_only: bool):
    """The torsos' common tail: the last convolution's maps flattened, then dense ``features`` + ReLU
    unless ``convs_only`` (a caller that puts its own dense layers after the convolutions)."""
    x = x.reshape(x.shape[:-3] + (-1,))
    if convs_only:
        return x
    return nn.relu(nn.Dense(features, kernel_init=orthogonal(gain), bias_init=nn.initializers.zeros)(x))


class NatureCNN(nn.Module):
    features: int = 512
    channels_first: bool = True  # envpool's Atari frames are (stack, height, width)
    gain: float = 2.0**0.5
    conv_impl: str = "auto"  # "matmul": patches @ kernel (the CPU default), "xla": lax.conv (GPU)
    add_channel: bool = False  # (H, W) frames: one channel
    convs_only: bool = False  # True: the flattened convolution features, without the dense layer

    @nn.compact
    def __call__(self, obs):
        x = obs[..., None] if self.add_channel else obs
        x = jnp.moveaxis(x, -3, -1) if self.channels_first and not self.add_channel else x  # still uint8
        for i, (features, kernel, stride) in enumerate(NATURE_CONVS):
            x = Conv(
                features, kernel, stride, kernel_init=orthogonal(self.gain), impl=self.conv_impl, name=f"Conv_{i}"
            )(x)
            x = nn.relu(x)
        return _flat_dense(x, self.features, self.gain, self.convs_only)


NATURE_MIN_SIZE = 36  # smallest frame side the Nature CNN's three VALID convolutions fit
MINATAR_CONV = (16, 3, 1)  # (features, kernel, stride): Young & Tian 2019


class MinAtarCNN(nn.Module):
    """One conv 16 3x3 stride 1 -> dense 128, ReLU (Young & Tian 2019's MinAtar baselines)."""

    features: int = 128
    channels_last: bool = True  # gymnax's MinAtar frames are (10, 10, C)
    gain: float = 2.0**0.5
    conv_impl: str = "auto"
    add_channel: bool = False  # (H, W) boards (bsuite's Catch, DeepSea): one channel
    convs_only: bool = False  # True: the flattened convolution features, without the dense layer

    @nn.compact
    def __call__(self, obs):
        x = obs[..., None] if self.add_channel else obs
        x = x if self.channels_last else jnp.moveaxis(x, -3, -1)
        features, kernel, stride = MINATAR_CONV
        x = Conv(features, kernel, stride, kernel_init=orthogonal(self.gain), impl=self.conv_impl, name="Conv_0")(x)
        return _flat_dense(nn.relu(x), self.features, self.gain, self.convs_only)


def channels_last(shape) -> bool:
    """The layout of an image observation ``shape``: True for ``(H, W, C)``, False for ``(C, H, W)``.

    The channel axis is the smaller end axis (frame stacks and colour planes are few, frame sides
    many): envpool Atari ``(4, 84, 84)`` is channels-first, MinAtar ``(10, 10, C)`` channels-last;
    a tie (``(4, 4, 4)``) reads as channels-last, flax's convention."""
    return shape[-1] <= shape[0]


def image_torso(obs_shape=None, conv_impl: str = "auto", name=None, convs_only: bool = False):
    """The CNN torso for one observation shape (static): the Nature CNN for frames of at least
    ``NATURE_MIN_SIZE`` a side, the MinAtar network for smaller ones, each in the frame's layout.
    ``None`` keeps the Nature CNN on envpool's channels-first frames (the layout before shapes were
    passed in); a rank-2 ``(H, W)`` board is read as one channel. ``convs_only`` stops after the
    flattened convolutions (SAC and CrossQ put their own, possibly batch-renormalised, dense layers there)."""
    if obs_shape is None:
        return NatureCNN(conv_impl=conv_impl, name=name, convs_only=convs_only)
    shape = tuple(obs_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"network: cnn needs image observations (H, W, C), (C, H, W) or (H, W); got shape {shape}")
    single = len(shape) == 2  # (H, W): one channel, added at the input
    if single:
        shape = shape + (1,)
    last = channels_last(shape)
    h, w = shape[:2] if last else shape[1:]
    if min(h, w) < MINATAR_CONV[1]:
        raise ValueError(
            f"network: cnn needs frames of at least {MINATAR_CONV[1]}x{MINATAR_CONV[1]}, got shape {shape}"
        )
    if min(h, w) < NATURE_MIN_SIZE:
        return MinAtarCNN(channels_last=last, add_channel=single, conv_impl=conv_impl, name=name, convs_only=convs_only)
    return NatureCNN(channels_first=not last, add_channel=single, conv_impl=conv_impl, name=name, convs_only=convs_only)
