"""Data-parallel training with ``torchrun`` (PyTorch's own launcher; nothing home-made).

``torchrun --standalone --nproc_per_node=N -m course_lib.training.cli train gpt ...`` starts N copies of the
same command; each reads its rank from the environment (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``) and
:func:`init_distributed` joins them into one process group: gloo on CPUs, NCCL on GPUs (one GPU per rank,
``cuda:LOCAL_RANK``). Without those variables the run is a single process and nothing here does anything.

How the work is split (``course_lib.training.trainer``):

- one optimizer step consumes ``grad_accum_steps`` micro-batches of ``batch_size`` windows, whatever the number
  of ranks; rank ``r`` computes the accumulation *slots* ``r·k ... r·k + k - 1`` with ``k = grad_accum_steps /
  world_size`` (so ``grad_accum_steps`` must be a multiple of the number of ranks);
- the windows of slot ``g`` at step ``s`` come from a generator seeded with ``(seed, s, g)``
  (:func:`stream_seed`): each rank draws its own shard of the global batch from its own seed streams, and the
  union over ranks is exactly the batch a single process draws, so both runs compute the same update;
- gradients are averaged across ranks by ``DistributedDataParallel`` once per step: the micro-steps before the
  last run under ``no_sync()``, so only the last backward pass communicates;
- rank 0 alone logs, evaluates, samples and writes checkpoints (of the unwrapped model; every rank holds
  the same weights and optimizer state). Every rank reads the checkpoint on ``--resume``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in a data-parallel run (``world_size == 1``: a plain single process)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs, evaluates and checkpoints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


SINGLE = DistContext()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_distributed(device_type: str) -> DistContext:
    """Join the process group torchrun set up (gloo for CPUs, NCCL for CUDA); :data:`SINGLE` without torchrun."""
    if not launched_by_torchrun():
        return SINGLE
    context = DistContext(
        rank=int(os.environ["RANK"]),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        world_size=int(os.environ["WORLD_SIZE"]),
    )
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(context.local_rank)
        dist.init_process_group(backend=backend)
    return context


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def stream_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for the random stream named by ``(seed, *keys)`` (NumPy's SeedSequence hashing, so nearby
    keys give unrelated streams)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1, dtype=np.uint64)[0] >> 1)


def mean_across_ranks(value: float, context: DistContext, device: torch.device) -> float:
    """The mean of ``value`` over all ranks (``value`` itself in a single process)."""
    if not context.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.item() / context.world_size


def default_threads(world_size: int = 1) -> int:
    """Intra-op threads per process: the cores this process may use, shared among the ranks on this machine,
    minus one left for everything else (at least one thread; ``llmcourse train --threads`` overrides it).

    Why not every core: PyTorch's threads wait for each other at every operation, so one thread that shares
    its core with another busy process stalls them all. ``bench/bench_threads.py`` on the course's 2-core
    machine with other jobs running: 1 thread 2,627 tokens/s, 2 threads 743; with one more spinning
    process 1,841 vs 249. One free core costs at most 1/cores of the speed on an idle machine and avoids
    that cliff on a busy one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    share = max(1, cores // max(1, world_size))
    return max(1, share - 1)
