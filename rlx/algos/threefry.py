"""JAX's Threefry-2x32 PRNG with its 20 rounds written out, for the rollout's many tiny per-step draws.

On CPU, JAX lowers every Threefry hash to a ``while`` loop of 5 trips (4 rounds each) to keep compile
times short (``jax/_src/random/threefry2x32.py``, ``use_rolled_loops=True``). That is the right call
for large draws, but a rollout step makes several draws of a few numbers each (the key split, the
policy's sample, the env's reset noise), and for those the loop's per-trip overhead is the cost. A
CartPole step's draws for 4 envs took 5.50 us with the rolled loop and 0.53 us written out
(``benchmarks/threefry_speed.py``), and the rollout part of PPO on PureJaxRL's CartPole config went
from behind PureJaxRL's to 1.6-1.8x ahead of it (``benchmarks/purejaxrl_compare.py --split``;
BENCHMARKS.md, "PPO against PureJaxRL").

``unrolled(key)`` re-labels a typed Threefry key so every ``jax.random`` call on it and its
descendants uses the written-out hash. The bits are JAX's own, bit for bit (split, fold_in, bits and
everything built on them: tests/algos/test_threefry.py), so results do not change. It is applied
where the draws are small and many (``rlx.algos.rollout``) and nowhere else: on every key of a
training program (permutations, network init) XLA's compile did not finish in minutes and the
minibatch epochs ran slower; on the minibatch step's key alone it gained nothing measurable. Keys
that leave the rollout (train state, checkpoints) keep JAX's implementation.

Matches JAX's ``jax_threefry_partitionable`` layout (the default since JAX 0.5); with that flag off,
or for keys of another implementation, ``unrolled`` returns the key unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import define_prng_impl

_U32 = np.uint32
# rotation constants of Threefry-2x32 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3")
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = _U32(0x1BD11BDA)


def _hash(k1, k2, x1, x2):
    """Threefry-2x32 of the counter pair ``(x1, x2)`` under the key ``(k1, k2)``: 5 groups of 4 rounds,
    a key injection after each, as JAX's ``_threefry2x32_lowering``."""
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for group in range(5):
        for r in _ROTATIONS[group % 2]:
            x1 = x1 + x2
            x2 = lax.shift_left(x2, _U32(r)) | lax.shift_right_logical(x2, _U32(32 - r))
            x2 = x1 ^ x2
        x1 = x1 + ks[(group + 1) % 3]
        x2 = x2 + ks[(group + 2) % 3] + _U32(group + 1)
    return x1, x2


def _counters(shape):
    """The 64-bit counters ``0 .. prod(shape) - 1`` as (high, low) uint32 words (JAX's ``iota_2x32_shape``)."""
    size = int(np.prod(shape, dtype=np.int64))
    if size >= 2**32:
        raise ValueError(f"threefry: {size} draws at once; at most 2**32 - 1")
    low = lax.iota(_U32, size).reshape(shape) if shape else jnp.zeros((), _U32)
    return jnp.zeros(shape, _U32), low


def _seed(seed):
    """JAX's ``threefry_seed``: a 32-bit seed is the key ``(0, seed)``, a 64-bit one its two words."""
    seed = jnp.asarray(seed)
    if seed.dtype.itemsize == 8:
        high = lax.convert_element_type(lax.shift_right_logical(seed, lax.full_like(seed, 32)), _U32)
        low = lax.convert_element_type(seed & np.array(0xFFFFFFFF, seed.dtype), _U32)
    else:
        high, low = jnp.zeros((), _U32), lax.convert_element_type(seed, _U32)
    return jnp.stack([high, low])


def _split(key, shape):
    high, low = _counters(tuple(shape))
    b1, b2 = _hash(key[0], key[1], high, low)
    return jnp.stack([b1, b2], axis=b1.ndim)


def _fold_in(key, data):
    word = _seed(jnp.asarray(data, _U32))
    b1, b2 = _hash(key[0], key[1], word[:1], word[1:])
    return jnp.concatenate([b1, b2])


def _random_bits(key, bit_width, shape):
    high, low = _counters(tuple(shape))
    b1, b2 = _hash(key[0], key[1], high, low)
    if bit_width == 64:
        return lax.shift_left(b1.astype(np.uint64), np.uint64(32)) | b2.astype(np.uint64)
    bits = b1 ^ b2
    return bits if bit_width == 32 else bits.astype({8: np.uint8, 16: np.uint16}[bit_width])


IMPL = define_prng_impl(
    key_shape=(2,),
    seed=_seed,
    split=_split,
    random_bits=_random_bits,
    fold_in=_fold_in,
    name="threefry2x32_unrolled",
    tag="fry_u",
)


def unrolled(key: jax.Array) -> jax.Array:
    """The same key (same bits, same streams) on the written-out hash; other keys unchanged."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if not typed or not jax.config.jax_threefry_partitionable:
        return key
    if str(jax.random.key_impl(key)) != "threefry2x32":
        return key
    return jax.random.wrap_key_data(jax.random.key_data(key), impl=IMPL)
