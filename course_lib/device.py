"""Where tensors live and in what precision: device choice, autocast, seeding, peak FLOPs.

Every model and notebook asks this module instead of hard-coding ``"cuda"``, so the same code runs on a
laptop CPU, an Apple GPU (MPS) or a course GPU.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

DEVICE_ENV = "COURSE_DEVICE"

# Dense bf16 tensor-core peak in FLOP/s (no sparsity), from the vendors' data sheets.
# Used for model FLOPs utilisation (MFU): achieved FLOP/s / peak FLOP/s (PaLM, Chowdhery et al. 2022).
# Matched as substrings of torch.cuda.get_device_name(); more specific names come first.
PEAK_BF16_FLOPS: dict[str, float] = {
    "H200": 989e12,
    "H100 PCIe": 756e12,
    "H100": 989e12,  # SXM
    "A100": 312e12,
    "A10G": 70e12,
    "A10": 125e12,
    "L40S": 362e12,
    "L4": 121e12,
    "RTX 4090": 165e12,
    "RTX 3090": 71e12,
    "V100": 125e12,  # fp16 tensor cores; V100 has no bf16
    "T4": 65e12,  # fp16 tensor cores; T4 has no bf16
}


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device the course uses: ``prefer``, else ``$COURSE_DEVICE``, else cuda > mps > cpu.

    An explicit choice that this machine cannot honour is an error rather than a silent fallback.
    """
    choice = prefer if prefer is not None else os.environ.get(DEVICE_ENV) or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(choice)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {choice!r}: use 'cpu', 'cuda', 'cuda:N' or 'mps'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {choice!r} requested but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {choice!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"device {choice!r} requested but Apple MPS is not available on this machine")
    if device.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"unsupported device {choice!r}: use 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def supports_bf16(device: torch.device | str) -> bool:
    """Whether bf16 matmuls run natively (Ampere or newer CUDA GPUs; CPUs emulate them slowly)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return False


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The mixed-precision dtype to train in on ``device``: bf16 where native, fp16 on older GPUs, else None."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if supports_bf16(device) else torch.float16
    return None


def autocast(device: torch.device | str, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed-precision context for forward passes: bf16/fp16 autocast on GPUs, a no-op on CPU and MPS.

    fp16 (pre-Ampere GPUs) needs a ``torch.amp.GradScaler`` for the backward pass; bf16 does not.
    """
    device = torch.device(device)
    dtype = autocast_dtype(device)
    if not enabled or dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a run repeats exactly on the same machine."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def peak_flops(device: torch.device | str) -> float | None:
    """Dense bf16 peak FLOP/s of ``device`` from :data:`PEAK_BF16_FLOPS`, or None when unknown (CPUs, MPS)."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return peak_flops_for_name(torch.cuda.get_device_name(device))


def peak_flops_for_name(gpu_name: str) -> float | None:
    """Look a GPU's marketing name (e.g. ``"NVIDIA H100 80GB HBM3"``) up in the peak-FLOPs table."""
    for key, flops in PEAK_BF16_FLOPS.items():
        if key in gpu_name:
            return flops
    return None


def describe(device: torch.device | None = None) -> dict[str, object]:
    """A plain-data summary of the compute the course will use, for ``llmcourse doctor``."""
    device = device or get_device()
    info: dict[str, object] = {"device": str(device), "type": device.type, "bf16": supports_bf16(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["name"] = props.name
        info["memory_gib"] = round(props.total_memory / 2**30, 1)
        info["peak_bf16_tflops"] = (peak_flops(device) or 0) / 1e12 or None
    elif device.type == "mps":
        info["name"] = "Apple GPU (MPS)"
    else:
        info["name"] = "CPU"
        info["threads"] = torch.get_num_threads()
        info["cores"] = os.cpu_count()
    return info
