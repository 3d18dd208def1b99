"""benchmarks/per_hlo.py and what it checks: prioritized replay's add, draw and priority update write the
sum tree in place (no copy of it in the compiled program), and the checker does see a copy when one is made."""

from __future__ import annotations


import jax
import jax.numpy as jnp
import pytest
from scriptload import load_script

from rlx.algos.replay import Replay, tree_set


per_hlo = load_script("benchmarks/per_hlo.py")


def _hlo(fn, *args):
    return jax.jit(jax.vmap(fn), donate_argnums=0).lower(*args).compile().as_text()


def test_a_read_not_upstream_of_the_write_costs_a_tree_copy():
    """The checker's positive case: the total read for a second output only, beside an in-place write."""
    trees = jnp.zeros((2, 64), jnp.float32)
    hlo = _hlo(lambda t: (tree_set(t, jnp.arange(4), jnp.ones(4)), jnp.sum(t)), trees)
    assert per_hlo.tree_copies(hlo, trees.shape)


def test_replay_update_traffic_writes_the_tree_in_place():
    """One off-policy update's replay traffic over 2 seeds: add, draw, a loss over the IS weights (which
    the new priorities do not depend on, as in DQN) and the priority write; no copy of the tree."""
    r = Replay(1000, 32, prioritized=True, n_step=3, stride=4)
    item = {k: jnp.zeros(()) for k in ("obs", "next_obs", "reward", "terminated", "truncated")}

    def update(state, key):
        state = r.add(state, jax.tree.map(lambda a: jnp.zeros((4,) + a.shape) + jnp.arange(4.0), item))
        sample = r.sample(state, key, 0.5, 0.99)
        td_abs = sample.batch["obs"] + sample.batch["reward"]
        return r.update_priorities(state, sample, td_abs, mask=True), jnp.mean(sample.weights * td_abs**2)

    states = jax.vmap(lambda _: r.init(item))(jnp.arange(2))
    hlo = _hlo(update, states, jax.random.split(jax.random.key(0), 2))
    assert per_hlo.tree_copies(hlo, states.tree.shape) == []


@pytest.mark.parametrize("argv, says", [(["--algo", "dqn"], "--algo dqn"), (["algo.per_alpha=2"], "algo.per_alpha")])
def test_bad_input_is_one_line_and_status_2(argv, says, capsys):
    assert per_hlo.main(argv) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and says in out[0]
