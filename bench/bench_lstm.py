"""The readable LSTM (course_lib.models.recurrent.LSTM) vs torch.nn.LSTM: forward + backward time, same weights.

    python bench/bench_lstm.py             # B=32, T=64, D=64, H=256, 2 layers
    python bench/bench_lstm.py --quick

The readable layer runs one Python-level step per time step and layer; nn.LSTM calls a fused kernel (oneDNN on
CPUs, cuDNN on GPUs). That is why the recurrent LMs train with ``fast=True`` (nn.LSTM, the same parameters) while
the tests and lectures read the step-by-step version. Wall-clock ratios are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn

from course_lib.models.recurrent import LSTM


def time_fwd_bwd(layer: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median seconds of one forward + backward pass (after one warm-up pass)."""
    times = []
    for i in range(repeats + 1):
        layer.zero_grad(set_to_none=True)
        start = time.perf_counter()
        out, _ = layer(x)
        out.square().mean().backward()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    B, T, D, H, layers, repeats = (8, 32, 32, 64, 2, 3) if args.quick else (32, 64, 64, 256, 2, 5)
    torch.manual_seed(0)
    fused = nn.LSTM(D, H, layers, batch_first=True).to(args.device)
    readable = LSTM(D, H, layers, batch_first=True).to(args.device)
    readable.load_state_dict(fused.state_dict())
    x = torch.randn(B, T, D, device=args.device)
    with torch.no_grad():
        gap = (readable(x)[0] - fused(x)[0]).abs().max().item()
    slow, fast = time_fwd_bwd(readable, x, repeats), time_fwd_bwd(fused, x, repeats)
    print(
        f"LSTM forward+backward, B={B} T={T} D={D} H={H} layers={layers}, {args.device}, "
        f"{torch.get_num_threads()} threads; outputs agree to {gap:.1e}"
    )
    print(f"  course_lib.models.recurrent.LSTM  {1000 * slow:8.1f} ms")
    print(f"  torch.nn.LSTM                     {1000 * fast:8.1f} ms")
    print(f"  ratio (readable / nn.LSTM)        {slow / fast:8.1f}x")


if __name__ == "__main__":
    main()
