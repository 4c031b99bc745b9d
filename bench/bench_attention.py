"""Training throughput of GPT with impl="fast" (torch SDPA) vs impl="math" (explicit softmax(QKᵀ/√d)V).

    python bench/bench_attention.py  # char GPT: n_layers 4, n_heads 4, d_model 256, block 256, batch 16
    python bench/bench_attention.py --quick  # a few steps, for a smoke test
    python bench/bench_attention.py --config gpt2-124m  # on a GPU: 124M-class model, bf16, with MFU

Prints tokens/s of each path (forward + backward + AdamW step), the ratio fast/math, and on a GPU with a known
peak the model FLOPs utilisation (course_lib.device.peak_flops). The two paths are measured in alternating
rounds and the median round is reported, so a busy machine biases both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from course_lib.device import autocast, get_device, seed_everything
from course_lib.models.gpt import GPT, GPTConfig

CONFIGS = {
    "char": (GPTConfig(vocab_size=65, block_size=256, n_layers=4, n_heads=4, d_model=256), 16),
    "gpt2-124m": (
        GPTConfig(vocab_size=50304, block_size=1024, n_layers=12, n_heads=12, d_model=768, bias=False),
        8,
    ),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_tokens_per_second(model: GPT, batch: int, steps: int, device: torch.device) -> float:
    """Tokens per second over ``steps`` full training steps on random tokens."""
    T, V = model.config.block_size, model.config.vocab_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(0, V, (batch, T), device=device)
    y = torch.randint(0, V, (batch, T), device=device)

    def step() -> None:
        with autocast(device):
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up: allocations, kernel selection
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch * T / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="char")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    parser.add_argument("--steps", type=int, default=5, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per path")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 steps at block 128, batch 8")
    args = parser.parse_args()

    device = get_device(args.device)
    config, batch = CONFIGS[args.config]
    if args.quick:
        config.block_size, batch, args.steps, args.rounds = min(config.block_size, 128), min(batch, 8), 2, 1
    seed_everything(0)
    model = GPT(config, impl="math").to(device)
    print(f"device {device}, {args.config}: {config}, batch {batch}, {model.num_params() / 1e6:.2f}M params")

    results: dict[str, list[float]] = {"math": [], "fast": []}
    for _ in range(args.rounds):
        for impl in results:
            model.set_attention_impl(impl)
            results[impl].append(train_tokens_per_second(model, batch, args.steps, device))
    speed = {impl: statistics.median(runs) for impl, runs in results.items()}
    for impl, tps in speed.items():
        mfu = model.estimate_mfu(tps, device)
        mfu_text = f", MFU {100 * mfu:.1f}%" if mfu is not None else ""
        print(f"impl={impl:<4}  {tps:>12,.0f} tokens/s{mfu_text}")
    print(f"fast / math: {speed['fast'] / speed['math']:.2f}x")


if __name__ == "__main__":
    main()
