"""Action and observation spaces.

Spaces are plain, hashable Python objects (never traced): they decide network shapes and
the action head, so they must be static under ``jit``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Discrete:
    n: int
    shape: tuple = ()
    dtype: str = "int32"

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, self.shape, 0, self.n, dtype=jnp.int32)


@dataclasses.dataclass(frozen=True, eq=False)
class Box:
    low: np.ndarray
    high: np.ndarray
    shape: tuple
    dtype: str = "float32"

    def __post_init__(self):
        low = np.broadcast_to(np.asarray(self.low, np.float32), self.shape).copy()
        high = np.broadcast_to(np.asarray(self.high, np.float32), self.shape).copy()
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def bounded(self) -> bool:
        return bool(np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high)))

    def sample(self, key: jax.Array) -> jax.Array:
        low = jnp.where(jnp.isfinite(self.low), self.low, -1.0)
        high = jnp.where(jnp.isfinite(self.high), self.high, 1.0)
        return jax.random.uniform(key, self.shape, jnp.float32, low, high).astype(self.dtype)

    def __eq__(self, other):
        return (
            isinstance(other, Box)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.low.tobytes(), self.high.tobytes()))


Space = Discrete | Box
