"""Action distributions with one interface for every algorithm.

An algorithm samples a *raw* action, stores it, and later asks for its log-probability; the env
receives ``to_env(raw)``. For the tanh-squashed Normal the raw action is the pre-tanh sample, so the
log-probability never evaluates ``atanh`` at +-1 (Brax stores pre-squash actions for the same reason).
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp


class _Delegating:
    """What the distrax-backed distributions share: sampling, log-probability and entropy from
    ``self.dist``, and raw actions that go to the env unchanged."""

    def sample(self, key):
        return self.dist.sample(seed=key)

    def log_prob(self, action):
        return self.dist.log_prob(action)

    def entropy(self, key=None):
        return self.dist.entropy()

    def to_env(self, action):
        return action


class Categorical(_Delegating):
    def __init__(self, logits):
        self.dist = distrax.Categorical(logits=logits)
        self.logits = logits

    def mode(self):
        return jnp.argmax(self.logits, axis=-1)

    def probs(self):
        return jax.nn.softmax(self.logits, axis=-1)


class Normal(_Delegating):
    """Diagonal Gaussian; the env wrapper clips its samples to the action bounds."""

    def __init__(self, loc, scale):
        self.dist = distrax.MultivariateNormalDiag(loc, scale)
        self.loc, self.scale = loc, scale

    def mode(self):
        return self.loc


class TanhNormal:
    """Gaussian squashed by tanh, with the change-of-variables correction
    log p(tanh u) = log N(u) - sum log(1 - tanh(u)^2) (Haarnoja et al. 2018, SAC, appendix C).
    """

    def __init__(self, loc, scale):
        self.base = distrax.MultivariateNormalDiag(loc, scale)
        self.bijector = distrax.Tanh()  # numerically stable log-det-Jacobian
        self.loc, self.scale = loc, scale

    def sample(self, key):
        """A raw (pre-tanh) sample."""
        return self.base.sample(seed=key)

    def log_prob(self, raw):
        return self.base.log_prob(raw) - self.bijector.forward_log_det_jacobian(raw).sum(-1)

    def entropy(self, key):
        """Single-sample estimate: there is no closed form (Brax estimates it the same way)."""
        return -self.log_prob(self.sample(key))

    def mode(self):
        return self.loc

    def to_env(self, raw):
        return jnp.tanh(raw)

    def sample_and_log_prob(self, key):
        """Reparameterised squashed sample and its log-probability (for SAC-style actors)."""
        raw = self.base.sample(seed=key)
        return jnp.tanh(raw), self.log_prob(raw)


DISTRIBUTIONS = ("categorical", "normal", "tanh_normal")


def make_dist(kind: str, head_out, log_std=None, min_std: float = 1e-3):
    """Builds the distribution from the action head's output."""
    if kind == "categorical":
        return Categorical(head_out)
    if kind == "normal":
        return Normal(head_out, jnp.exp(log_std) * jnp.ones_like(head_out))
    if kind == "tanh_normal":
        loc, pre_scale = jnp.split(head_out, 2, axis=-1)
        return TanhNormal(loc, jax.nn.softplus(pre_scale) + min_std)
    raise ValueError(f"dist: unknown {kind!r}; allowed: {', '.join(DISTRIBUTIONS)}")
