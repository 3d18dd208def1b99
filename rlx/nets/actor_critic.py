"""Actor-critic and Q networks over an MLP torso.

The policy head is initialised with a small gain (0.01) so the initial policy is near uniform /
near zero-mean, the value head with gain 1 (Andrychowicz et al. 2021, "What Matters in On-Policy RL").

Every network takes ``obs_shape``, the static shape of one observation (``space_shape(env.observation_space)``):
the MLP torsos flatten exactly that many trailing axes, and ``network="cnn"`` picks the image torso and
its layout from it (``rlx.nets.cnn.image_torso``). ``None`` keeps the flat-vector behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from rlx.nets.cnn import image_torso
from rlx.nets.mlp import MLP, dense, flatten_obs, obs_ndim_of

NETWORKS = ("mlp", "cnn")


def space_shape(space):
    """The static shape a network is built for: ``space.shape``, or for a dict of spaces (MuJoCo
    Playground) a tuple of ``(key, shape)`` pairs, hashable as a module field must be."""
    if isinstance(space, dict):
        return tuple((k, tuple(s.shape)) for k, s in space.items())
    return tuple(space.shape)


def _entry_shape(shape, key):
    """One entry's shape from ``obs_shape``'s dict form (``None`` where unknown)."""
    if shape is None or not (shape and isinstance(shape[0], tuple)):
        return shape
    return dict(shape).get(key)


def action_head_size(dist: str, action_dim: int) -> int:
    return 2 * action_dim if dist == "tanh_normal" else action_dim


class ActorCritic(nn.Module):
    """Returns ``(head_out, log_std, value)``; ``rlx.nets.make_dist`` turns the head into a distribution."""

    action_dim: int
    dist: str = "categorical"
    hidden: Sequence[int] = (64, 64)
    critic_hidden: Sequence[int] | None = None
    activation: str = "tanh"
    shared: bool = False
    init_log_std: float = 0.0
    policy_gain: float = 0.01
    network: str = "mlp"  # "cnn": an image torso (Nature or MinAtar CNN, by frame size; hidden ignored)
    # dict observations (MuJoCo Playground): the entry the actor sees and the one the critic sees;
    # a critic on "privileged_state" is the asymmetric actor-critic of playground's official
    # configs (Pinto et al. 2018). None on a dict means "state"; array observations ignore both.
    obs_key: str | None = None
    critic_obs_key: str | None = None
    obs_shape: tuple | None = None  # one observation's shape (static): ``space_shape(env.observation_space)``

    def _torso(self, hidden, name, shape):
        if self.network == "cnn":
            return image_torso(shape, name=name)
        return MLP(hidden, self.activation, obs_ndim=obs_ndim_of(shape), name=name)

    @nn.compact
    def __call__(self, obs):
        out = action_head_size(self.dist, self.action_dim)
        actor_obs = critic_obs = obs
        actor_shape = critic_shape = self.obs_shape
        if isinstance(obs, dict):
            actor_key = self.obs_key or "state"
            critic_key = self.critic_obs_key or self.obs_key or "state"
            actor_obs, critic_obs = obs[actor_key], obs[critic_key]
            actor_shape, critic_shape = (
                _entry_shape(self.obs_shape, actor_key),
                _entry_shape(self.obs_shape, critic_key),
            )
        if self.shared:
            torso = self._torso(self.hidden, "torso", actor_shape)(actor_obs)
            actor_x = critic_x = torso
        else:
            actor_x = self._torso(self.hidden, "actor", actor_shape)(actor_obs)
            critic_x = self._torso(self.critic_hidden or self.hidden, "critic", critic_shape)(critic_obs)
        head = dense(out, self.policy_gain)(actor_x)
        value = dense(1, 1.0)(critic_x)[..., 0]
        log_std = None
        if self.dist == "normal":
            log_std = self.param("log_std", nn.initializers.constant(self.init_log_std), (self.action_dim,))
        return head, log_std, value


class QNetwork(nn.Module):
    """Q-values for every discrete action, or Q(s, a) for a continuous action when given one."""

    num_outputs: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "relu"
    # LayerNorm after each hidden layer keeps bootstrapped TD from diverging under off-policy data
    # (Gallici et al. 2024, "Simplifying Deep Temporal Difference Learning"; Ball et al. 2023)
    layer_norm: bool = False
    obs_shape: tuple | None = None  # one observation's shape (static); its axes are flattened first

    @nn.compact
    def __call__(self, obs, action=None):
        obs = flatten_obs(obs, obs_ndim_of(self.obs_shape))
        x = obs if action is None else jnp.concatenate([obs, action], axis=-1)
        x = MLP(self.hidden, self.activation, layer_norm=self.layer_norm)(x)
        return dense(self.num_outputs, 1.0)(x)
