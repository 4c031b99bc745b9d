"""Generation with a KV cache vs recomputing the whole prefix at every step (target: >= 5x faster).

    python bench/bench_kv_cache.py           # 512 new tokens from the char-level GPT (n_layers 4, d_model 256)
    python bench/bench_kv_cache.py --quick   # 128 new tokens

The model's block_size covers prompt + new tokens, so the cache is never rebuilt (past block_size the
window slides and decoding.generate recomputes, cache or not). Both runs decode greedily: same tokens.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_lib.decoding import generate
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
    args = parser.parse_args()
    new_tokens = 128 if args.quick else args.new_tokens

    device = get_device(args.device)
    seed_everything(0)
    prompt = torch.randint(0, 65, (1, 16), device=device)
    config = GPTConfig(vocab_size=65, block_size=prompt.size(1) + new_tokens, n_layers=4, n_heads=4, d_model=256)
    model = GPT(config).to(device).eval()
    generate(model, prompt, 8)  # warm-up

    no_cache_s, reference = timed_generate(model, prompt, new_tokens, use_cache=False)
    cache_s, cached = timed_generate(model, prompt, new_tokens, use_cache=True)
    print(f"device {device}: {new_tokens} new tokens after a {prompt.size(1)}-token prompt, {config}")
    print(f"no cache (recompute prefix): {no_cache_s:7.2f} s  {new_tokens / no_cache_s:8.1f} tokens/s")
    print(f"KV cache                   : {cache_s:7.2f} s  {new_tokens / cache_s:8.1f} tokens/s")
    print(
        f"KV cache / no cache: {no_cache_s / cache_s:.1f}x faster (target >= 5x); "
        f"same tokens: {torch.equal(reference, cached)}"
    )


if __name__ == "__main__":
    main()
