"""Distributions against closed forms; network shapes and initialisation."""

import jax
import jax.numpy as jnp
import numpy as np

from rlx.nets import ActorCritic, Categorical, Normal, TanhNormal, make_dist


def test_categorical_log_prob_and_entropy():
    logits = jnp.array([1.0, 2.0, 0.5])
    p = np.exp(logits) / np.exp(logits).sum()
    d = Categorical(logits)
    np.testing.assert_allclose(d.log_prob(1), np.log(p[1]), rtol=1e-6)
    np.testing.assert_allclose(d.entropy(), -(p * np.log(p)).sum(), rtol=1e-6)
    assert int(d.mode()) == 1


def test_normal_log_prob_closed_form():
    loc, scale = jnp.array([0.5, -1.0]), jnp.array([2.0, 0.3])
    x = jnp.array([1.0, 0.0])
    d = Normal(loc, scale)
    expected = np.sum(-0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(d.log_prob(x), expected, rtol=1e-6)
    np.testing.assert_allclose(d.entropy(), np.sum(0.5 * np.log(2 * np.pi * np.e * scale**2)), rtol=1e-6)


def test_tanh_normal_change_of_variables():
    loc, scale = jnp.array([0.2, -0.4]), jnp.array([0.7, 1.3])
    u = jnp.array([0.3, -2.5])
    d = TanhNormal(loc, scale)
    base = np.sum(-0.5 * ((u - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi))
    expected = base - np.sum(np.log(1 - np.tanh(np.asarray(u)) ** 2))
    np.testing.assert_allclose(d.log_prob(u), expected, rtol=1e-5)
    # stays finite far in the tails where 1 - tanh^2 underflows in float32
    assert np.isfinite(float(d.log_prob(jnp.array([30.0, -30.0]))))
    np.testing.assert_allclose(d.to_env(u), np.tanh(u), rtol=1e-6)
    # the density of y = tanh(u) integrates to one on (-1, 1) (1-D check by quadrature)
    d1 = TanhNormal(jnp.array([0.3]), jnp.array([0.8]))
    ys = np.linspace(-0.9999, 0.9999, 20001)
    us = np.arctanh(ys)
    dens = np.exp(np.asarray(jax.vmap(lambda x: d1.log_prob(x[None]))(jnp.asarray(us, jnp.float32))))
    np.testing.assert_allclose(np.trapezoid(dens, ys), 1.0, atol=2e-3)


def test_tanh_normal_samples_in_bounds_and_log_prob_consistent():
    d = make_dist("tanh_normal", jnp.array([[0.1, 0.0, -0.5, 0.2]]))
    y, logp = d.sample_and_log_prob(jax.random.key(0))
    assert y.shape == (1, 2) and np.all(np.abs(np.asarray(y)) < 1)
    raw = jnp.arctanh(y)
    np.testing.assert_allclose(logp, d.log_prob(raw), rtol=1e-3, atol=1e-3)


def test_actor_critic_shapes_and_small_policy_init():
    net = ActorCritic(action_dim=3, dist="categorical", hidden=(32, 32))
    obs = jnp.ones((5, 4))
    params = net.init(jax.random.key(0), obs)
    head, log_std, value = net.apply(params, obs)
    assert head.shape == (5, 3) and value.shape == (5,) and log_std is None
    assert float(jnp.abs(head).max()) < 0.1  # gain-0.01 head: a near-uniform initial policy
    cont = ActorCritic(action_dim=2, dist="normal", hidden=(16,), shared=True, init_log_std=-0.5)
    p = cont.init(jax.random.key(1), obs)
    head, log_std, value = cont.apply(p, obs)
    assert head.shape == (5, 2) and log_std.shape == (2,)
    np.testing.assert_allclose(log_std, [-0.5, -0.5])
    assert "torso" in p["params"] and "actor" not in p["params"]


def test_patch_conv_matches_lax_conv_values_and_gradients():
    """The CPU convolution (space-to-depth patches @ kernel) is the VALID lax.conv it replaces, for
    each Nature-CNN layer shape (and an input size the stride does not divide), gradients included."""
    from rlx.nets.cnn import conv_patches, patch_kernel

    def ref(x, k, s):
        return jax.lax.conv_general_dilated(x, k, (s, s), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def mm(x, k, s):
        return conv_patches(x, k.shape[0], s) @ patch_kernel(k, s)

    for i, (h, c, f, k, s) in enumerate([(84, 4, 8, 8, 4), (20, 6, 5, 4, 2), (9, 3, 4, 3, 1), (87, 2, 3, 8, 4)]):
        x = jax.random.normal(jax.random.key(i), (2, h, h, c))
        kern = jax.random.normal(jax.random.key(10 + i), (k, k, c, f))
        np.testing.assert_allclose(mm(x, kern, s), ref(x, kern, s), rtol=1e-4, atol=1e-4)
        g_mm = jax.grad(lambda x, w, s=s: jnp.sum(jnp.sin(mm(x, w, s))), (0, 1))(x, kern)
        g_ref = jax.grad(lambda x, w, s=s: jnp.sum(jnp.sin(ref(x, w, s))), (0, 1))(x, kern)
        for a, b in zip(g_mm, g_ref, strict=True):  # float32 sums in another order: error relative to the scale
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(jnp.abs(b).max()))


def test_nature_cnn_conv_impls_share_parameters_and_outputs():
    from rlx.nets import NatureCNN

    obs = jax.random.randint(jax.random.key(0), (3, 4, 84, 84), 0, 256).astype(jnp.uint8)
    params = NatureCNN(conv_impl="xla").init(jax.random.key(1), obs)
    assert params["params"]["Conv_0"]["kernel"].shape == (8, 8, 4, 32)  # flax.linen.Conv's layout
    same = NatureCNN(conv_impl="matmul").init(jax.random.key(1), obs)
    jax.tree.map(np.testing.assert_array_equal, params, same)
    y_xla = NatureCNN(conv_impl="xla").apply(params, obs)
    y_mm = NatureCNN(conv_impl="matmul").apply(params, obs)
    assert y_mm.shape == (3, 512) and y_mm.dtype == jnp.float32
    np.testing.assert_allclose(y_mm, y_xla, rtol=1e-4, atol=1e-5)


def test_image_torso_reads_layout_and_size_from_the_obs_shape():
    """Atari through envpool is channels-first (4, 84, 84): the Nature CNN; MinAtar is channels-last
    (10, 10, C), too small for the Nature CNN's 8x8 stride-4 layer: the MinAtar network."""
    from rlx.nets import MinAtarCNN, NatureCNN, image_torso

    atari = image_torso((4, 84, 84))
    assert isinstance(atari, NatureCNN) and atari.channels_first
    assert isinstance(image_torso((84, 84, 4)), NatureCNN) and not image_torso((84, 84, 4)).channels_first
    minatar = image_torso((10, 10, 4))
    assert isinstance(minatar, MinAtarCNN) and minatar.channels_last
    assert isinstance(image_torso((4, 10, 10)), MinAtarCNN) and not image_torso((4, 10, 10)).channels_last
    assert isinstance(image_torso(None), NatureCNN) and image_torso(None).channels_first  # as before shapes
    for bad in ((4,), (2, 2, 2, 2), (2, 2, 3)):
        try:
            image_torso(bad)
        except ValueError:
            continue
        raise AssertionError(f"image_torso accepted {bad}")


def test_image_torso_convs_only_stops_at_the_flattened_convolutions():
    """SAC and CrossQ put their own dense layers after the convolutions: the same convolution
    parameters, no dense layer, the last feature maps flattened."""
    from rlx.nets import image_torso

    for shape, flat in (((4, 84, 84), 7 * 7 * 64), ((10, 10, 4), 8 * 8 * 16)):
        obs = jnp.ones((3, *shape), jnp.uint8)
        full, convs = image_torso(shape), image_torso(shape, convs_only=True)
        p = full.init(jax.random.key(0), obs)
        pc = convs.init(jax.random.key(0), obs)
        assert "Dense_0" in p["params"] and set(pc["params"]) == set(p["params"]) - {"Dense_0"}
        y = convs.apply(pc, obs)
        assert y.shape == (3, flat) and y.dtype == jnp.float32


def test_minatar_cnn_shapes_layouts_and_conv_impls():
    """Young & Tian 2019: conv 16 3x3 stride 1 (VALID) -> dense 128. The two layouts are the same
    network on transposed frames, and both convolution paths share parameters and outputs, also
    with leading (time, env) axes."""
    from rlx.nets import MinAtarCNN

    obs = (jax.random.uniform(jax.random.key(0), (3, 2, 10, 10, 4)) < 0.2).astype(jnp.float32)
    net = MinAtarCNN(conv_impl="matmul")
    params = net.init(jax.random.key(1), obs[0])
    assert params["params"]["Conv_0"]["kernel"].shape == (3, 3, 4, 16)
    assert params["params"]["Dense_0"]["kernel"].shape == (8 * 8 * 16, 128)
    y = net.apply(params, obs)
    assert y.shape == (3, 2, 128)
    y_xla = MinAtarCNN(conv_impl="xla").apply(params, obs)
    np.testing.assert_allclose(y, y_xla, rtol=1e-4, atol=1e-5)
    first = MinAtarCNN(channels_last=False, conv_impl="matmul").apply(params, jnp.moveaxis(obs, -1, -3))
    np.testing.assert_allclose(first, y, rtol=1e-5, atol=1e-6)


def test_actor_critic_cnn_on_minatar_and_q_network_on_frames():
    from rlx.nets import QNetwork

    shape = (10, 10, 6)
    obs = jnp.ones((5, *shape))
    net = ActorCritic(action_dim=4, network="cnn", obs_shape=shape)
    p = net.init(jax.random.key(0), obs)
    head, _, value = net.apply(p, obs)
    assert head.shape == (5, 4) and value.shape == (5,)
    assert p["params"]["actor"]["Conv_0"]["kernel"].shape == (3, 3, 6, 16)
    board = ActorCritic(action_dim=3, network="cnn", obs_shape=(10, 5))  # bsuite Catch: (H, W), one channel
    bp = board.init(jax.random.key(0), jnp.ones((2, 10, 5)))
    assert bp["params"]["actor"]["Conv_0"]["kernel"].shape == (3, 3, 1, 16)
    assert board.apply(bp, jnp.ones((2, 10, 5)))[0].shape == (2, 3)
    q = QNetwork(4, (32,), obs_shape=shape)
    qp = q.init(jax.random.key(0), obs)
    assert q.apply(qp, obs).shape == (5, 4) and qp["params"]["MLP_0"]["Dense_0"]["kernel"].shape == (600, 32)


def test_flat_obs_networks_are_unchanged_by_the_obs_shape():
    """A flat observation: passing its shape changes no parameter and no output (CartPole, Pendulum)."""
    from rlx.nets import QNetwork

    obs = jax.random.normal(jax.random.key(0), (7, 4))
    for a, b in (
        (ActorCritic(action_dim=2), ActorCritic(action_dim=2, obs_shape=(4,))),
        (ActorCritic(action_dim=1, dist="normal"), ActorCritic(action_dim=1, dist="normal", obs_shape=(4,))),
        (QNetwork(2), QNetwork(2, obs_shape=(4,))),
    ):
        pa, pb = a.init(jax.random.key(1), obs), b.init(jax.random.key(1), obs)
        jax.tree.map(np.testing.assert_array_equal, pa, pb)
        jax.tree.map(np.testing.assert_array_equal, a.apply(pa, obs), b.apply(pb, obs))
