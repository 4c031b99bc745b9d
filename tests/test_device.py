"""Device choice, autocast, seeding and the peak-FLOPs table."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from course_lib import device as dev


def test_default_device_follows_what_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if dev._mps_available() else "cpu"
    assert dev.get_device().type == expected


def test_env_var_and_argument_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dev.DEVICE_ENV, "cpu")
    assert dev.get_device() == torch.device("cpu")
    assert dev.get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad, message", [("gpu", "unknown device 'gpu'"), ("banana:3", "unknown device")])
def test_bad_device_names_are_clear_errors(bad: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dev.get_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when CUDA is absent")
def test_cuda_without_a_gpu_is_an_error_not_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        dev.get_device()


def test_autocast_is_a_no_op_on_cpu() -> None:
    a = torch.randn(4, 4)
    with dev.autocast("cpu"):
        assert (a @ a).dtype == torch.float32
    assert dev.autocast_dtype("cpu") is None and dev.supports_bf16("cpu") is False


def test_seed_everything_repeats_all_generators() -> None:
    def draw() -> tuple[float, float, list[float]]:
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    dev.seed_everything(123)
    first = draw()
    dev.seed_everything(123)
    assert draw() == first
    dev.seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize(
    "name, flops",
    [
        ("NVIDIA H100 80GB HBM3", 989e12),
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H200", 989e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA L4", 121e12),
        ("Tesla T4", 65e12),
        ("NVIDIA GeForce RTX 4090", 165e12),
        ("NVIDIA A10G", 70e12),
        ("NVIDIA L40S", 362e12),
    ],
)
def test_peak_flops_table_picks_the_most_specific_name(name: str, flops: float) -> None:
    assert dev.peak_flops_for_name(name) == flops


def test_peak_flops_unknown_is_none() -> None:
    assert dev.peak_flops_for_name("Some Future GPU") is None
    assert dev.peak_flops("cpu") is None


def test_describe_cpu() -> None:
    info = dev.describe(torch.device("cpu"))
    assert info["type"] == "cpu" and info["threads"] == torch.get_num_threads() and info["bf16"] is False


@pytest.mark.gpu
def test_autocast_uses_bf16_on_a_modern_gpu() -> None:
    device = torch.device("cuda")
    a = torch.randn(8, 8, device=device)
    with dev.autocast(device):
        out = a @ a
    assert out.dtype == dev.autocast_dtype(device)
    assert dev.describe(device)["memory_gib"] > 0
