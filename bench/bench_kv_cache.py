"""Generation with a KV cache vs recomputing the whole prefix at every step (target: >= 5x faster).

    python bench/bench_kv_cache.py           # 512 new tokens from the char-level GPT (n_layers 4, d_model 256)
    python bench/bench_kv_cache.py --quick   # 128 new tokens

Full-context case: the model's block_size covers prompt + new tokens, so every step after the prompt feeds one
token through the cache. Sliding-window case (``--window 128``): block_size is smaller than the output, so past it
the window slides, no cache stays valid and both paths recompute the window each step: the ratio should be about
1 (the cache path is never slower). Both runs decode greedily: same tokens. Also prints the KV cache's memory.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_lib.decoding import generate, kv_cache_bytes
from course_lib.device import get_device, seed_everything
from course_lib.models.gpt import GPT, GPTConfig


def timed_generate(model: GPT, prompt: torch.Tensor, new_tokens: int, use_cache: bool) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    out = generate(model, prompt, new_tokens, do_sample=False, use_cache=use_cache)
    if out.device.type == "cuda":
        torch.cuda.synchronize(out.device)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    parser.add_argument("--new-tokens", type=int, default=512)
    parser.add_argument("--quick", action="store_true", help="128 new tokens")
    parser.add_argument("--window", type=int, default=None, help="block_size below the output: sliding window")
    args = parser.parse_args()
    new_tokens = 128 if args.quick else args.new_tokens

    device = get_device(args.device)
    seed_everything(0)
    prompt = torch.randint(0, 65, (1, 16), device=device)
    block_size = args.window or prompt.size(1) + new_tokens
    config = GPTConfig(vocab_size=65, block_size=block_size, n_layers=4, n_heads=4, d_model=256)
    model = GPT(config).to(device).eval()
    generate(model, prompt, 8)  # warm-up

    no_cache_s, reference = timed_generate(model, prompt, new_tokens, use_cache=False)
    cache_s, cached = timed_generate(model, prompt, new_tokens, use_cache=True)
    print(f"device {device}: {new_tokens} new tokens after a {prompt.size(1)}-token prompt, {config}")
    print(f"no cache (recompute prefix): {no_cache_s:7.2f} s  {new_tokens / no_cache_s:8.1f} tokens/s")
    print(f"KV cache                   : {cache_s:7.2f} s  {new_tokens / cache_s:8.1f} tokens/s")
    target = "about 1x: the window slides" if args.window else "target >= 5x"
    print(
        f"KV cache / no cache: {no_cache_s / cache_s:.2f}x faster ({target}); "
        f"same tokens: {torch.equal(reference, cached)}"
    )
    per_token = kv_cache_bytes(config, 1)
    print(
        f"KV cache memory: {per_token} bytes per token ({per_token // config.n_layers} per layer), "
        f"{kv_cache_bytes(config, block_size) / 2**20:.2f} MiB for a full {block_size}-token window"
    )


if __name__ == "__main__":
    main()
