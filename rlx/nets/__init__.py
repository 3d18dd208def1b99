"""Networks and action distributions shared by every algorithm."""

from rlx.nets.distributions import Categorical, Normal, TanhNormal, make_dist
from rlx.nets.mlp import MLP, ACTIVATIONS, flatten_obs, orthogonal
from rlx.nets.actor_critic import NETWORKS, ActorCritic, QNetwork, action_head_size, space_shape
from rlx.nets.cnn import MinAtarCNN, NatureCNN, image_torso

__all__ = [
    "Categorical",
    "Normal",
    "TanhNormal",
    "make_dist",
    "MLP",
    "ACTIVATIONS",
    "orthogonal",
    "flatten_obs",
    "space_shape",
    "ActorCritic",
    "QNetwork",
    "action_head_size",
    "NatureCNN",
    "MinAtarCNN",
    "image_torso",
    "NETWORKS",
]
