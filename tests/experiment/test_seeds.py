"""A seed means what it says: session ``i`` of ``seed=S`` trains from ``key(S + i)`` (rlx.experiment.seeds).

Each case runs the CLI (``rlx.train``'s ``main``, what ``python -m rlx.train`` calls) with a tiny budget
and reads metrics.csv. What was measured on CPU (the bounds below leave room above it):

- ``seed=2 num_seeds=1`` is session 2 of ``seed=0 num_seeds=4`` to float rounding: loss,
  total_reward and grad_norm agree to a relative 1.3e-7 over the first updates. A 4-seed batch is a
  different XLA program, so its arithmetic is not bit for bit the 1-seed one's.
- The same key in the same program shape is bit-identical wherever it sits in the batch: session 2 of
  ``seed=0 num_seeds=4`` (batch position 2) and of ``seed=2 num_seeds=4`` (position 0) agree in every
  column but the timings (so, as measured too, does the same command run twice).
"""

from __future__ import annotations

import csv
import pathlib

import jax
import numpy as np
import pytest

from rlx import train
from rlx.experiment.seeds import seed_keys

QUIET = ("logger.progress=false", "logger.plot=false", "checkpoint.enabled=false")
CASES = {
    "ppo": "+bench=classic/cartpole algo=ppo max_frame=1024 log_frequency=128",
    # learning starts at 200 frames, so the later rows carry real gradient steps
    "dqn": "+bench=classic/cartpole algo=dqn max_frame=800 log_frequency=100 algo.warmup_frames=200 "
    "algo.buffer_size=2048 algo.batch_size=32",
    "envpool": "env=envpool:CartPole-v1 algo=ppo num_envs=4 algo.num_steps=64 max_frame=1024 log_frequency=128",
}
RUNS = {
    "s0n4": "seed=0 num_seeds=4",
    "s2n1": "seed=2 num_seeds=1",
    "s2n4": "seed=2 num_seeds=4",
}
COMPARED = ["loss", "total_reward", "grad_norm"]
TIMINGS = {"wall_s", "fps"}


def _rows(run_dir: pathlib.Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _session(rows: list[dict], seed: int) -> list[dict]:
    return [r for r in rows if int(r["seed"]) == seed]


def _values(rows: list[dict]) -> np.ndarray:
    return np.array([[float(r[c]) for c in COMPARED] for r in rows])


@pytest.fixture(scope="module", params=list(CASES))
def runs(request, tmp_path_factory):
    """``{run: metrics.csv rows}`` of the three commands of one case."""
    if request.param == "envpool":
        pytest.importorskip("envpool")
    out = tmp_path_factory.mktemp(request.param)
    rows = {}
    for name, seeds in RUNS.items():
        args = [*CASES[request.param].split(), *seeds.split(), *QUIET, f"logger.out_dir={out}", f"logger.name={name}"]
        assert train.main(args) == 0
        rows[name] = _rows(out / name)
    return rows


def test_session_i_is_key_seed_plus_i():
    keys = jax.random.key_data(seed_keys(2**31 - 2, 3))  # past int32 too: seed <= 2**31 - 1, num_seeds <= 2**16
    expected = [jax.random.key_data(jax.random.key(2**31 - 2 + i)) for i in range(3)]
    np.testing.assert_array_equal(keys, np.stack(expected))


def test_a_one_seed_run_is_that_session_of_a_larger_run_to_float_rounding(runs):
    alone, among = _session(runs["s2n1"], 2), _session(runs["s0n4"], 2)
    assert {int(r["seed"]) for r in runs["s2n1"]} == {2} and len(alone) == len(among) >= 6
    a, b = _values(alone), _values(among)
    assert (a[:, COMPARED.index("grad_norm")] > 0).sum() >= 4, "the comparison needs gradient steps"
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # not vacuous: the sessions of one run differ from each other
    assert not np.allclose(_values(_session(runs["s0n4"], 3)), b, rtol=1e-3)


def test_the_same_key_in_the_same_program_shape_is_bit_identical(runs):
    """Seeds 2 and 3 sit at batch positions 2, 3 of ``seed=0 num_seeds=4`` and 0, 1 of ``seed=2``: every
    column but the timings is equal (so is a command run twice, the same key at the same position)."""
    assert {int(r["seed"]) for r in runs["s2n4"]} == {2, 3, 4, 5}
    for seed in (2, 3):
        first, second = _session(runs["s0n4"], seed), _session(runs["s2n4"], seed)
        assert len(first) == len(second) >= 6
        for x, y in zip(first, second, strict=True):
            assert {k: v for k, v in x.items() if k not in TIMINGS} == {k: v for k, v in y.items() if k not in TIMINGS}
