# GPU image for rlx: CUDA JAX through the [cuda] extra (CUDA and cuDNN come as pip wheels; the host
# only needs the NVIDIA driver and the NVIDIA Container Toolkit).
#   docker build -t rlx .
#   docker run --gpus all --rm -v "$PWD/runs:/work/runs" rlx        # the default benchmark
#   docker run --gpus all --rm -v "$PWD/runs:/work/runs" rlx python -m rlx.train +bench=mujoco/hopper algo=ppo
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XLA_PYTHON_CLIENT_PREALLOCATE=false \
    RLX_JAX_CACHE=/work/.cache/jax \
    RLX_CACHE_DIR=/work/.cache/rlx

WORKDIR /opt/rlx
COPY pyproject.toml README.md ./
COPY rlx ./rlx
COPY benchmarks ./benchmarks
# the project itself with its extras: versions are bounded by pyproject.toml, not pinned here
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[cuda,envpool,mujoco,search,hub,wandb]"

WORKDIR /work
# the PPO CartPole benchmark row (4 seeds, 2e5 frames): run folder under /work/runs
CMD ["python", "-m", "rlx.train", "+bench=classic/cartpole", "algo=ppo"]
