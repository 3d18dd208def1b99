"""Networks and action distributions shared by every algorithm."""

from rlx.nets.distributions import Categorical, Normal, TanhNormal, make_dist
from rlx.nets.mlp import MLP, ACTIVATIONS, orthogonal
from rlx.nets.actor_critic import NETWORKS, ActorCritic, QNetwork, action_head_size
from rlx.nets.cnn import NatureCNN

__all__ = [
    "Categorical",
    "Normal",
    "TanhNormal",
    "make_dist",
    "MLP",
    "ACTIVATIONS",
    "orthogonal",
    "ActorCritic",
    "QNetwork",
    "action_head_size",
    "NatureCNN",
    "NETWORKS",
]
