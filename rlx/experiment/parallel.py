"""Several devices and several machines: the vmapped seed axis sharded with ``jax.sharding``.

One process: the train state's leading axis (seeds, or trials x seeds in a sweep) is laid out over a
1-D mesh named ``"seed"`` with ``NamedSharding(mesh, P("seed"))``; the chunk program is compiled for
that layout, so each device runs its own share of the seeds (GSPMD partitions the vmapped program;
the seeds never talk to each other, so no collectives are needed). With one device, or a batch no
device count divides, it falls back to fewer devices (down to one): sharding only changes where a
seed runs, never its numbers.

Several machines: ``distributed.enabled=true`` calls ``jax.distributed.initialize`` before anything
touches a device, after which ``jax.devices()`` lists every process's devices and the same mesh
spans them all (every process runs the same command; process 0 writes the run folder).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "seed"
_initialized = False


def initialize(cfg) -> bool:
    """``jax.distributed.initialize`` from a ``DistributedConfig``; call before any device is used.

    Unset fields (``None`` / ``-1``) are left to jax, which detects SLURM, Open MPI and Cloud TPU
    environments by itself.
    """
    global _initialized
    if cfg is None or not cfg.enabled or _initialized:
        return False
    kwargs = {}
    if cfg.coordinator_address:
        kwargs["coordinator_address"] = cfg.coordinator_address
    if cfg.num_processes > 0:
        kwargs["num_processes"] = cfg.num_processes
    if cfg.process_id >= 0:
        kwargs["process_id"] = cfg.process_id
    if cfg.local_device_ids:
        kwargs["local_device_ids"] = list(cfg.local_device_ids)
    jax.distributed.initialize(**kwargs)
    _initialized = True
    return True


def initialize_from(data: dict) -> bool:
    """``initialize`` from a composed config mapping, before it is validated: validation imports env
    packages (gymnax builds arrays at import), which starts jax's backend."""
    from rlx.config import DistributedConfig, from_dict

    return initialize(from_dict(DistributedConfig, (data or {}).get("distributed") or {}, "distributed"))


def is_main_process() -> bool:
    return jax.process_index() == 0


def seed_sharding(batch: int, max_devices: int = 0):
    """``NamedSharding`` of a leading axis of size ``batch`` over as many devices as divide it.

    ``max_devices > 0`` caps the device count (``max_devices=1``: one device, no mesh). Returns
    ``None`` for one device, so callers keep jax's default placement.
    """
    devices = jax.devices()
    if max_devices > len(devices):
        from rlx.config import ConfigError

        raise ConfigError(
            f"distributed.devices: {max_devices} asked for, this machine has {len(devices)}; "
            f"allowed: 0 (all) to {len(devices)}"
        )
    n = min(len(devices), max_devices) if max_devices > 0 else len(devices)
    while n > 1 and batch % n:
        n -= 1
    if n <= 1:
        return None
    mesh = Mesh(np.asarray(devices[:n]), (AXIS,))
    return NamedSharding(mesh, PartitionSpec(AXIS))


def shard(tree, sharding):
    """Places every leaf's leading axis over the mesh (no-op for ``sharding=None``)."""
    if sharding is None:
        return tree
    return jax.device_put(tree, sharding)


def abstract(tree):
    """Shapes, dtypes and shardings of a state, for ahead-of-time compilation of the chunk program
    (``jax.eval_shape`` drops shardings, and a program compiled for one device refuses a sharded state)."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)


def fetch(tree):
    """Host copy of per-seed metrics; across processes, gathered from every one."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


def describe(sharding) -> str:
    if sharding is None:
        return "1 device"
    n = sharding.mesh.size
    kind = sharding.mesh.devices.flat[0].platform
    hosts = jax.process_count()
    return f"{n} {kind} devices" + (f" on {hosts} processes" if hosts > 1 else "")
