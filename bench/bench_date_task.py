"""Date normalisation: a bidirectional GRU with Bahdanau attention against a Transformer encoder-decoder (the peer),
trained the same way (Adam 3e-3, batch 64, fresh training dates) until dev exact match reaches a target.

    python bench/bench_date_task.py            # all 11 formats, target 95%, at most 1500 steps each
    python bench/bench_date_task.py --quick    # 2 formats, target 80%, at most 200 steps

Prints, every ``--eval-every`` steps, each model's dev exact match (greedy) and training minutes so far; then the
steps and minutes each took to reach the target and the ratio Transformer/RNN. Run with OMP_NUM_THREADS set to the
cores you mean to measure (2 for the course's budget machine).
"""

from __future__ import annotations

import argparse
import time

import torch

from course_lib.data.synthetic import DATE_FORMATS, date_pairs, date_vocab, iter_date_pairs
from course_lib.device import seed_everything
from course_lib.models.seq2seq import Seq2SeqAttention, exact_match, train_seq2seq
from course_lib.nn import EncoderDecoder


def build(name: str, vocab_size: int) -> torch.nn.Module:
    seed_everything(0)
    if name == "rnn+attention":
        return Seq2SeqAttention(vocab_size, d_emb=32, d_hidden=64, score="additive", style="bahdanau")
    return EncoderDecoder(vocab_size, vocab_size, d_model=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2,
                          d_ff=128, max_len=48)  # fmt: skip


def run(name: str, formats: list[str], target: float, max_steps: int, eval_every: int, dev) -> dict:
    vocab = date_vocab()
    model = build(name, vocab.vocab_size)
    stream = iter_date_pairs("train", seed=0, formats=formats)
    params = sum(p.numel() for p in model.parameters())
    seconds, steps, accuracy, reached = 0.0, 0, 0.0, None
    while steps < max_steps:
        start = time.perf_counter()
        train_seq2seq(model, vocab, stream, eval_every, batch_size=64, lr=3e-3)
        seconds += time.perf_counter() - start
        steps += eval_every
        accuracy = exact_match(model, vocab, dev)
        print(f"  {name:14s} step {steps:5d}  dev exact match {accuracy:6.1%}  {seconds / 60:5.2f} min", flush=True)
        if accuracy >= target:
            reached = (steps, seconds)
            break
    return {"params": params, "accuracy": accuracy, "reached": reached, "steps": steps, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="2 formats, target 0.8, at most 200 steps")
    args = parser.parse_args()
    formats = list(DATE_FORMATS)
    if args.quick:
        formats, args.target, args.max_steps = ["numeric_dot", "fr_long"], 0.8, 200
    dev = date_pairs(400, "dev", seed=0, formats=formats)
    print(
        f"{len(formats)} formats, target {args.target:.0%} dev exact match (400 dates), "
        f"{torch.get_num_threads()} threads"
    )
    results = {name: run(name, formats, args.target, args.max_steps, args.eval_every, dev)
               for name in ("rnn+attention", "transformer")}  # fmt: skip
    for name, r in results.items():
        if r["reached"]:
            where = f"reached {args.target:.0%} after {r['reached'][0]} steps, {r['reached'][1] / 60:.2f} min"
        else:
            where = f"did not reach {args.target:.0%} in {r['steps']} steps ({r['seconds'] / 60:.2f} min)"
        print(f"{name:14s} {r['params'] / 1e3:6.1f}k params  final dev exact match {r['accuracy']:.1%}  {where}")
    rnn, tf = results["rnn+attention"], results["transformer"]
    if rnn["reached"] and tf["reached"]:
        print(
            f"transformer / rnn+attention, minutes to target: {tf['reached'][1] / rnn['reached'][1]:.2f}x, "
            f"steps: {tf['reached'][0] / rnn['reached'][0]:.2f}x"
        )


if __name__ == "__main__":
    main()
