"""The chunk loop's host-side bookkeeping (rlx.experiment.loop), without training."""

import numpy as np
import pytest

from rlx.experiment.loop import Batch, History, log_frames, log_point_mask


def test_log_points_sit_on_log_frequency_multiples_and_the_last_frame():
    """400-frame updates against log_frequency 500: points at every 500-multiple an update crosses
    (one update can cross none), plus the run's last frame if it crosses none."""
    F, L, n = 400, 500, 11  # 4400 frames
    mask = log_point_mask(n, F, L)
    frames = [f for u in range(1, n + 1) if mask[u - 1] for f in log_frames(u, F, L)]
    assert frames == [500 * k for k in range(1, 9)] + [4400]
    assert log_frames(3, 1200, 500) == [2500, 3000, 3500]  # an update longer than log_frequency


def test_history_survives_the_per_trial_checkpoint_round_trip():
    """A group's history is rebuilt from each trial's slice (NaN before any episode ended): the same
    moving average and trial scores, so a resumed sweep continues the same numbers."""
    batch = Batch(trials=2, seeds=2)
    rng = np.random.default_rng(0)
    history = History()
    for k in range(130):  # past the 100-point window
        reward = rng.normal(size=4).astype(np.float32)
        if k < 3:
            reward[1] = np.nan
        history.add(500 * (k + 1), reward)
        if k % 10 == 9:
            history.eval_frames.append(500 * (k + 1))
            history.eval_return.append(np.where(k == 9, np.nan, reward + 1.0))
    restored = History.from_hosts([history.to_host(batch.of(t)) for t in range(batch.trials)])
    assert restored.frames == history.frames
    np.testing.assert_array_equal(restored.total_reward(), history.total_reward())
    assert restored.eval_frames == history.eval_frames
    np.testing.assert_array_equal(restored.evaluations(), history.evaluations())
    for t in range(batch.trials):
        assert restored.score(batch.of(t)) == history.score(batch.of(t))
    assert np.isfinite(history.score(batch.of(0)))


def test_a_ctrl_c_asks_the_loop_to_stop_and_a_second_one_stops_at_once_unless_deferred():
    import os
    import signal

    from rlx.experiment.interrupt import Interrupts

    # Python's own handler, as in a terminal (a test run started in the background ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with Interrupts() as interrupts:
            os.kill(os.getpid(), signal.SIGINT)  # the first: only asks
            assert interrupts.requested
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGINT)  # a save in progress is never cut
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, previous)
