"""Training tokens/s of course_lib's GPT vs nanoGPT's ``model.py`` at the same configuration, in one run.

    python bench/bench_vs_nanogpt.py --nanogpt PATH/TO/nanoGPT/model.py [--config cpu-tiny] [--threads 1]

nanoGPT (https://github.com/karpathy/nanoGPT) is not part of this repository: clone it and pass its
``model.py``. Both models get the same sizes (cpu-tiny: 4 layers, 4 heads, d_model 128, context 128, no biases,
no dropout; or gpu-small's), the same random batch and the same ``torch.optim.AdamW``; a step is forward +
backward + optimizer step. The two are measured in alternating rounds and the median round is reported, so a
busy machine biases both alike. Ratio > 1 means course_lib is faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import torch

from course_lib.device import get_device
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training.presets import PRESETS


def load_nanogpt(path: Path):
    spec = importlib.util.spec_from_file_location("nanogpt_model", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tokens_per_s(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    start = time.perf_counter()
    for _ in range(steps):
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return steps * x.numel() / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nanogpt", type=Path, required=True, help="path to nanoGPT's model.py")
    parser.add_argument("--config", choices=["cpu-tiny", "gpu-small"], default="cpu-tiny")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = get_device(args.device)

    preset = PRESETS[args.config]
    sizes = {**preset.model, "dropout": 0.0, "bias": False}
    ours = GPT(GPTConfig(vocab_size=65, **sizes)).to(device)
    nano = load_nanogpt(args.nanogpt)
    theirs = nano.GPT(
        nano.GPTConfig(
            block_size=sizes["block_size"],
            vocab_size=65,
            n_layer=sizes["n_layers"],
            n_head=sizes["n_heads"],
            n_embd=sizes["d_model"],
            dropout=0.0,
            bias=False,
        )
    ).to(device)
    n_ours, n_theirs = sum(p.numel() for p in ours.parameters()), sum(p.numel() for p in theirs.parameters())
    assert n_ours == n_theirs, f"not the same model: {n_ours} vs {n_theirs} parameters"

    batch, block = preset.train.batch_size, preset.train.block_size
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 65, (batch, block), generator=generator).to(device)
    y = torch.randint(0, 65, (batch, block), generator=generator).to(device)
    results: dict[str, list[float]] = {"course_lib": [], "nanoGPT": []}
    for model in (ours, theirs):
        tokens_per_s(model, x, y, 1)  # warm-up
    for _ in range(args.rounds):
        results["course_lib"].append(tokens_per_s(ours, x, y, args.steps))
        results["nanoGPT"].append(tokens_per_s(theirs, x, y, args.steps))
    speed = {name: statistics.median(runs) for name, runs in results.items()}
    print(
        f"{args.config} ({n_ours / 1e6:.2f}M parameters), batch {batch} x {block}, {args.threads} thread(s), {device}"
    )
    for name, value in speed.items():
        print(f"{name:<10} {value:>10,.0f} tokens/s  (rounds: {', '.join(f'{v:,.0f}' for v in results[name])})")
    print(f"course_lib / nanoGPT: {speed['course_lib'] / speed['nanoGPT']:.2f}x")


if __name__ == "__main__":
    main()
