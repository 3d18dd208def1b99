"""Seeds sharded over several devices (rlx.experiment.parallel) give the single-device run's trial metrics.

Four host devices are forced in a subprocess (``--xla_force_host_platform_device_count=4``): XLA
reads the flag once, at start-up. The same config runs on one device (``distributed.devices=1``)
and sharded over four (``distributed.devices=0``). The sharded program is partitioned by GSPMD and
fused differently, so its float rounding can differ in the last bits (about 1e-6 in a loss); over a
short run no sampled action flips, so the trial metrics agree to float precision and the losses to
1e-4. A seed sent to the wrong device slot, or keys mixed between seeds, would differ by far more.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax
    import numpy as np
    from rlx.experiment import parallel, runner
    from rlx.config.compose import load

    assert len(jax.devices()) == 4, jax.devices()
    common = ["+bench=classic/cartpole", "algo=ppo", "max_frame=2048", "num_seeds=4", "algo.num_steps=32",
              "log_frequency=256", "logger.progress=false", "num_chunks=4"]
    out = {}
    for devices in (1, 0):
        cfg = load(*common, f"distributed.devices={devices}")
        sharding = parallel.seed_sharding(cfg.num_seeds, cfg.distributed.devices)
        seen = []
        r = runner.run(cfg, run_dir=False, on_chunk=lambda frames, score: seen.append((frames, score)) and False)
        out[devices] = {"devices": 1 if sharding is None else sharding.mesh.size,
                        "sharded_state": len(jax.tree.leaves(r.state)[0].sharding.device_set),
                        "trial": r.trial, "total_reward": r.total_reward.tolist(), "frames": r.frames.tolist(),
                        "chunks": seen}
    json.dump(out, open(sys.argv[1], "w"))
""")


@pytest.mark.timeout(300)
def test_four_forced_devices_give_the_single_device_trial_metrics(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    out_file = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out_file)], env=env, capture_output=True, text=True, timeout=280
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(out_file.read_text())
    single, sharded = out["1"], out["0"]
    assert single["devices"] == 1 and single["sharded_state"] == 1
    assert sharded["devices"] == 4 and sharded["sharded_state"] == 4  # the final state lives on 4 devices
    assert sharded["frames"] == single["frames"] and len(single["frames"]) == 8
    a, b = np.asarray(single["total_reward"]), np.asarray(sharded["total_reward"])
    assert a.shape == (4, 8)
    np.testing.assert_allclose(b, a, rtol=1e-4)
    for key, value in single["trial"].items():
        assert sharded["trial"][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    # the on_chunk hook saw every chunk with the trial score so far
    assert [c[0] for c in single["chunks"]] == [512, 1024, 1536, 2048]
    assert single["chunks"][-1][1] == pytest.approx(single["trial"]["total_reward_ma"], rel=1e-6)


MULTIHOST = textwrap.dedent("""
    import json, sys
    from rlx.config.compose import load
    pid, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cfg = load("+bench=classic/cartpole", "algo=ppo", "max_frame=2048", "num_seeds=4", "algo.num_steps=32",
               "log_frequency=256", "logger.progress=false", "num_chunks=4", "distributed.enabled=true",
               f"distributed.coordinator_address=127.0.0.1:{port}", "distributed.num_processes=2",
               f"distributed.process_id={pid}", f"logger.out_dir={out}", "logger.name=multi")
    import jax
    from rlx.experiment import runner
    r = runner.run(cfg)
    print("RESULT " + json.dumps({"processes": jax.process_count(), "devices": len(jax.devices()), "trial": r.trial}))
""")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_two_processes_through_jax_distributed_match_one_process(tmp_path):
    """``distributed.*``: two processes (2 forced host devices each, loopback coordinator) train one
    4-seed trial over the 4 global devices; process 0 writes the run folder."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MULTIHOST, str(i), port, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outs = [p.communicate(timeout=360) for p in procs]
    finally:
        for p in procs:
            p.kill()
    results = []
    for p, (stdout, stderr) in zip(procs, outs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.split("RESULT ", 1)[1]))
    assert all(r["processes"] == 2 and r["devices"] == 4 for r in results)
    assert results[0]["trial"] == results[1]["trial"]
    single = runner_single()
    for key, value in single.items():
        assert results[0]["trial"][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    run = tmp_path / "multi"
    assert (run / "trial_metrics.json").exists() and (run / "metrics.csv").exists()


def runner_single():
    """The same trial in one process on one device (this pytest process: no forced devices)."""
    from rlx.experiment import runner
    from rlx.config.compose import load

    cfg = load(
        "+bench=classic/cartpole",
        "algo=ppo",
        "max_frame=2048",
        "num_seeds=4",
        "algo.num_steps=32",
        "log_frequency=256",
        "logger.progress=false",
        "num_chunks=4",
        "distributed.devices=1",
    )
    return runner.run(cfg, run_dir=False).trial
