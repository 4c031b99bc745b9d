"""Attention cost against sequence length: time and peak memory of one causal self-attention call, for
``impl="math"`` (course_lib's explicit softmax(QKᵀ/√d)V, which materialises the (T, T) weights) and ``impl="fast"``
(torch's fused scaled_dot_product_attention, the peer), at T = 128 … 4096.

    python bench/bench_attention_cost.py           # T = 128 ... 4096, B=1, 8 heads of 64
    python bench/bench_attention_cost.py --quick   # T = 128 ... 512, for a smoke test

Prints per T the median time and the peak extra memory of each path, the ratios fast/math, and the log-log slopes
(time ∝ T^slope: attention's work is quadratic, so slopes approach 2 once T outgrows fixed overheads). Memory on
CPU is the peak resident set of a fresh process during one call minus its resident set before it (Linux: the peak is
reset through /proc/self/clear_refs first); on a GPU, max_memory_allocated.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time

import torch

from course_lib.device import get_device, seed_everything
from course_lib.nn.attention import MultiHeadAttention
from course_lib.viz import loglog_slope


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(T: int, d_model: int, n_heads: int, device: torch.device) -> tuple[MultiHeadAttention, torch.Tensor]:
    seed_everything(0)
    mha = MultiHeadAttention(d_model, n_heads).to(device).eval()
    return mha, torch.randn(1, T, d_model, device=device)


def seconds_per_call(impl: str, T: int, d_model: int, n_heads: int, device: torch.device, repeats: int) -> float:
    mha, x = _inputs(T, d_model, n_heads, device)
    mha.impl = impl
    times = []
    with torch.no_grad():
        mha(x, is_causal=True)  # warm-up
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            mha(x, is_causal=True)
            _sync(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_mib_worker(impl: str, T: int, d_model: int, n_heads: int, device_name: str, out) -> None:
    device = torch.device(device_name)
    mha, x = _inputs(T, d_model, n_heads, device)
    mha.impl = impl
    with torch.no_grad():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
            mha(x, is_causal=True)
            out.put((torch.cuda.max_memory_allocated(device) - before) / 2**20)
            return
        before = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak resident set (VmHWM) to the current one
        mha(x, is_causal=True)
        out.put((_status_kib("VmHWM") - before) / 1024)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_mib(impl: str, T: int, d_model: int, n_heads: int, device: torch.device) -> float:
    """Peak extra memory (MiB) of one call, measured in a fresh process so earlier calls do not hide it."""
    context = mp.get_context("spawn")
    out = context.Queue()
    worker = context.Process(target=_peak_mib_worker, args=(impl, T, d_model, n_heads, str(device), out))
    worker.start()
    value = out.get()
    worker.join()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--n-heads", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-t", type=int, default=4096)
    parser.add_argument("--quick", action="store_true", help="T up to 512, one repeat")
    args = parser.parse_args()
    if args.quick:
        args.max_t, args.repeats = 512, 1
    device = get_device(args.device)
    lengths = [T for T in (128, 256, 512, 1024, 2048, 4096) if T <= args.max_t]
    print(f"device {device}, causal self-attention, batch 1, d_model {args.d_model}, {args.n_heads} heads")
    print(f"{'T':>6} {'math s':>10} {'fast s':>10} {'fast/math':>9} {'math MiB':>9} {'fast MiB':>9}")
    results = {impl: {"s": [], "mib": []} for impl in ("math", "fast")}
    for T in lengths:
        for impl, r in results.items():
            r["s"].append(seconds_per_call(impl, T, args.d_model, args.n_heads, device, args.repeats))
            r["mib"].append(peak_mib(impl, T, args.d_model, args.n_heads, device))
        m, f = results["math"], results["fast"]
        print(f"{T:6d} {m['s'][-1]:10.4f} {f['s'][-1]:10.4f} {f['s'][-1] / m['s'][-1]:9.2f} "
              f"{m['mib'][-1]:9.1f} {f['mib'][-1]:9.1f}")  # fmt: skip
    tail = lengths[-3:]  # the slope where quadratic work dominates fixed overheads
    for impl, r in results.items():
        print(f"log-log slope of time, impl={impl}: {loglog_slope(lengths, r['s']):.2f} over all T, "
              f"{loglog_slope(tail, r['s'][-3:]):.2f} over T >= {tail[0]}")  # fmt: skip
    math_mib, fast_mib = results["math"]["mib"][-1], results["fast"]["mib"][-1]
    print(f"at T={lengths[-1]}: fast/math time {results['fast']['s'][-1] / results['math']['s'][-1]:.2f}x, "
          f"memory {fast_mib:.0f} vs {math_mib:.0f} MiB ({fast_mib / max(math_mib, 1e-9):.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
