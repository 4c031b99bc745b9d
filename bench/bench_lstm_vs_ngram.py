"""The course's LSTM LM vs the A1 model (interpolated Kneser-Ney 4-gram) on the same held-out characters.

    python bench/bench_lstm_vs_ngram.py                 # 15 minutes of LSTM training
    python bench/bench_lstm_vs_ngram.py --minutes 3     # a shorter budget

Character level, on tinyshakespeare when it is available (embedded, staged or cached), else pydocs. The last 10% of
the lines are held out. Both models predict exactly the same tokens: every held-out character and every line end
(the n-gram's </s>, the LSTM's "\\n"; the LSTM reads the held-out text as one stream, so it also conditions on the
previous lines). The LSTM (course_lib.models.neural_lm.LSTMLM, nn.LSTM kernels) trains with truncated BPTT for the
time budget; the held-out perplexity is printed as it goes, with the minutes it took to beat the 4-gram. Wall-clock
minutes are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from course_lib.data import list_corpora, load_corpus
from course_lib.models.bptt import stream_perplexity, train_tbptt
from course_lib.models.neural_lm import LSTMLM, RecurrentLMConfig
from course_lib.ngram import NGramLM


def split() -> tuple[str, list[str], list[str]]:
    available = {c["name"] for c in list_corpora() if c["location"]}
    name = "tinyshakespeare" if "tinyshakespeare" in available else "pydocs"
    lines = load_corpus(name).split("\n")
    cut = int(len(lines) * 0.9)
    return name, lines[:cut], lines[cut:-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="LSTM training budget (default: 15)")
    parser.add_argument("--eval-every", type=int, default=100, help="chunks between held-out evaluations")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    name, train_lines, held_lines = split()
    start = time.perf_counter()
    ngram = NGramLM(4, smoothing="kneser_ney").fit([list(line) for line in train_lines])
    ngram_ppl = ngram.perplexity([list(line) for line in held_lines])
    print(f"{name}: {sum(map(len, train_lines)):,} training / {sum(map(len, held_lines)):,} held-out characters")
    print(
        f"4-gram Kneser-Ney (course_lib.ngram): held-out perplexity {ngram_ppl:.3f} "
        f"(fit + score {time.perf_counter() - start:.0f} s)"
    )

    train_text, held_text = "\n".join(train_lines) + "\n", "\n".join(held_lines) + "\n"
    chars = sorted(set(train_text + held_text))
    stoi = {c: i for i, c in enumerate(chars)}
    train_ids = torch.tensor([stoi[c] for c in train_text], device=args.device)
    held_ids = torch.tensor([stoi["\n"]] + [stoi[c] for c in held_text], device=args.device)

    torch.manual_seed(0)
    # sized for the device: a CPU gets a model that makes progress in minutes, a GPU a larger one
    big = args.device != "cpu"
    sizes = dict(d_embed=64, d_hidden=512, n_layers=2) if big else dict(d_embed=32, d_hidden=256, n_layers=1)
    model = LSTMLM(RecurrentLMConfig(vocab_size=len(chars), **sizes)).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    print(
        f"LSTM LM: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {args.device}, "
        f"{torch.get_num_threads()} threads; budget {args.minutes:g} min"
    )
    print(f"{'minutes':>8} {'chunks':>7} {'train loss':>10} {'held-out ppl':>12} {'ratio LSTM/4-gram':>18}")
    start, recent, result = time.perf_counter(), [], {"won_at": None, "ppl": float("inf")}

    def report(chunks: int, loss: float) -> bool:
        recent.append(loss)
        minutes = (time.perf_counter() - start) / 60
        out_of_time = minutes >= args.minutes
        if chunks % args.eval_every == 0 or out_of_time:
            ppl = result["ppl"] = stream_perplexity(model, held_ids, bptt=512)
            if result["won_at"] is None and ppl < ngram_ppl:
                result["won_at"] = minutes
            print(
                f"{minutes:8.1f} {chunks:7d} {sum(recent) / len(recent):10.3f} {ppl:12.3f} {ppl / ngram_ppl:18.3f}",
                flush=True,
            )
            recent.clear()
        return out_of_time

    batch_size, bptt = (64, 128) if big else (32, 64)
    train_tbptt(model, train_ids, optimizer, batch_size=batch_size, bptt=bptt, clip=1.0, epochs=1000, on_chunk=report)
    won_at, ppl = result["won_at"], result["ppl"]
    verdict = f"beat the 4-gram after {won_at:.1f} min" if won_at else "did not beat the 4-gram within the budget"
    print(f"LSTM / 4-gram perplexity ratio at the end: {ppl / ngram_ppl:.3f}; the LSTM {verdict}")


if __name__ == "__main__":
    main()
