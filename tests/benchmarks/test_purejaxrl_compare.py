"""benchmarks/purejaxrl_compare.py: its argument checks, the gymnax 0.0.x interface it gives PureJaxRL,
and (slow, with a PureJaxRL checkout) a tiny side-by-side run."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import pytest
from scriptload import load_script


pc = load_script("benchmarks/purejaxrl_compare.py")


@pytest.mark.parametrize(
    "argv, key",
    [
        (["--seeds", "0"], "--seeds"),
        (["--repeats", "0"], "--repeats"),
        (["--total-timesteps", "100"], "--total-timesteps"),
        (["--seeds", "two"], "--seeds"),
        (["--purejaxrl", "/nonexistent/purejaxrl"], "--purejaxrl"),
    ],
)
def test_bad_argument_is_one_line_naming_it_and_status_2(argv, key, capsys):
    with pytest.raises(SystemExit) as exc:
        pc.parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err, err


def test_gymnax_v0_merges_done_and_keeps_the_old_info():
    import gymnax

    env, params = gymnax.make("CartPole-v1")
    params = params.replace(max_steps_in_episode=3)  # a truncation at the third step
    old = pc.GymnaxV0(env)
    key = jax.random.key(0)
    obs, state = old.reset(key, params)
    dones = []
    for i in range(3):
        out = old.step(jax.random.fold_in(key, i), state, jnp.int32(i % 2), params)
        assert len(out) == 5
        obs, state, reward, done, info = out
        dones.append(bool(done))
        assert sorted(info) == ["discount"] and reward == 1.0
    assert dones == [False, False, True]  # the time limit is a done, as in gymnax 0.0.x
    assert old.action_space(params).n == 2  # everything else passes through


def test_rlx_config_maps_purejaxrl_hyperparameters():
    cfg = pc.rlx_config(num_updates=3)
    a = cfg.algo
    assert (cfg.num_envs, cfg.max_frame, cfg.env) == (4, 3 * 512, "CartPole-v1")
    assert (a.num_steps, a.num_epochs, a.num_minibatches, a.hidden, a.activation) == (128, 4, 4, (64, 64), "tanh")
    assert (a.lr, a.lr_schedule, a.gamma, a.gae_lambda, a.clip_eps) == (2.5e-4, "linear", 0.99, 0.95, 0.2)
    assert (a.ent_coef, a.vf_coef, a.max_grad_norm, a.clip_value, a.separate_optim) == (0.01, 0.5, 0.5, True, False)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tiny_side_by_side_run_times_both_and_both_return_finite(capsys):
    if not (pc.DEFAULT_CHECKOUT / "purejaxrl" / "ppo.py").is_file():
        pytest.skip(f"no PureJaxRL checkout at {pc.DEFAULT_CHECKOUT} (see benchmarks/purejaxrl_compare.py)")
    pjx = pc.load_purejaxrl(pc.DEFAULT_CHECKOUT)
    row = pc.measure(pjx, total_timesteps=2 * 512, num_seeds=2, repeats=2)
    assert row["seeds"] == 2 and row["frames"] == 2 * 2 * 512
    for name in ("PureJaxRL", "rlx"):
        r = row[name]
        assert min(r["compile_s"], r["train_s"], r["cpu_s"], r["fps"]) > 0, (name, r)
        assert math.isfinite(r["return"]) and 8 <= r["return"] <= 500, (name, r)  # CartPole returns
    md = pc.table([row], repeats=2)
    assert md.count("\n| 2 | 2,048 |") == 1 and "median of 2 runs" in md


def test_env_steps_times_both_envs_per_vector_step():
    """``--split``'s env part needs no PureJaxRL checkout: both envs run the same fixed policy and are timed."""
    line = pc.env_steps(1, steps=64)
    assert "rlx env" in line and "gymnax step" in line and "(64 steps)" in line
    assert all(float(part.split()[-2]) > 0 for part in line.split(" a vector step")[0].split(", "))
