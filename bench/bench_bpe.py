"""Byte-level BPE: course_lib vs Hugging Face `tokenizers` (training time, encode MB/s) and vs a naive trainer;
peak RSS of encode_iterable over a long stream.

    python bench/bench_bpe.py            # tinyshakespeare if COURSE_DATA_DIR has it, else pydocs
    python bench/bench_bpe.py --quick    # small sizes, ~1 minute

Wall-clock ratios are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "tokenizers"))  # the naive reference trainer lives with the tests

from course_lib.tokenizers import BPETokenizer, train_bpe  # noqa: E402


def corpus() -> tuple[str, str]:
    from course_lib.data import load_corpus  # imports torch: keep it out of the streaming subprocess

    name = "tinyshakespeare" if os.environ.get("COURSE_DATA_DIR") else "pydocs"
    try:
        return name, load_corpus(name)
    except Exception:  # staged data missing: fall back to the embedded corpus
        return "pydocs", load_corpus("pydocs")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def hf_tokenizer(vocab: dict[int, bytes] | None = None, merges=None):
    """A byte-level HF BPE tokenizer: untrained, or built from our vocab and merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from course_lib.tokenizers.bytes_unicode import token_to_str

    if vocab is None:
        tok = Tokenizer(models.BPE())
    else:
        table: dict[str, int] = {}
        for i, raw in sorted(vocab.items()):
            table.setdefault(token_to_str(raw), i)
        tok = Tokenizer(models.BPE(table, [(token_to_str(a), token_to_str(b)) for a, b in merges]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return tok


def hf_train(text: str, vocab_size: int) -> None:
    from tokenizers import pre_tokenizers, trainers

    tok = hf_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    # Lines let HF parallelise over its threads: the setting most favourable to the peer.
    tok.train_from_iterator(text.splitlines(keepends=True), trainer)
    assert tok.get_vocab_size() == vocab_size, tok.get_vocab_size()


def bench_training(text: str, sizes: list[int]) -> None:
    print(f"\n== training, {len(text) / 1e6:.2f} MB ==")
    for size in sizes:
        ours, _ = timed(train_bpe, text, size, progress=False)
        theirs, _ = timed(hf_train, text, size)
        print(
            f"vocab {size:>6}: course_lib {ours:7.2f} s | tokenizers {theirs:6.2f} s | "
            f"course_lib/tokenizers = {ours / theirs:5.2f}x slower (target <= 3x)"
        )


def bench_naive(text: str, size: int) -> None:
    from naive_bpe import naive_train_bpe

    print(f"\n== vs the naive trainer, {len(text) / 1e3:.0f} kB, vocab {size} ==")
    ours, fast = timed(train_bpe, text, size, progress=False)
    naive, slow = timed(naive_train_bpe, text, size)
    assert fast == slow, "the trainers disagree"
    print(
        f"course_lib {ours:.2f} s | naive {naive:.2f} s | naive/course_lib = {naive / ours:.0f}x faster (target >= 50x)"
    )


def bench_encode(text: str, size: int) -> tuple[BPETokenizer, float]:
    vocab, merges = train_bpe(text, size, progress=False)
    ours_tok = BPETokenizer(vocab, merges)
    hf = hf_tokenizer(vocab, merges)
    mb = len(text.encode("utf-8")) / 1e6
    ours, ids = timed(ours_tok.encode, text)
    lines = text.splitlines(keepends=True)
    chunks = ["".join(lines[i : i + 200]) for i in range(0, len(lines), 200)]
    theirs_one, hf_ids = timed(hf.encode, text)
    theirs_batch, _ = timed(hf.encode_batch, chunks)
    assert ids == hf_ids.ids, "encodings differ from tokenizers"
    theirs = min(theirs_one, theirs_batch)
    print(f"\n== encode, vocab {size}, {mb:.2f} MB (same merges; ids identical) ==")
    print(
        f"course_lib {mb / ours:6.2f} MB/s (cold cache) | tokenizers {mb / theirs:6.2f} MB/s "
        f"(best of one call / encode_batch) | course_lib/tokenizers = {theirs / ours:.2f}x (target >= 0.2x)"
    )
    return ours_tok, mb


def peak_rss_mb() -> float:
    """This process's peak resident set size. Linux's VmHWM, unlike ru_maxrss, is not inherited from the
    parent that forked us; elsewhere fall back to ru_maxrss (bytes on macOS, KiB on Linux)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def stream_child(path: str, megabytes: float, text_path: str) -> None:
    """Runs in a fresh process (importing only the tokenizer, not torch): encode a `megabytes` MB stream of
    lines cycling through the text in `text_path`, print the peak RSS."""
    tok = BPETokenizer.load(path)
    text = Path(text_path).read_text(encoding="utf-8")
    base = peak_rss_mb()
    budget = int(megabytes * 1e6)

    def lines():
        sent = 0
        for line in itertools.cycle(text.splitlines(keepends=True)):
            if sent >= budget:
                return
            sent += len(line)
            yield line

    start = time.perf_counter()
    n_ids = sum(1 for _ in tok.encode_iterable(lines()))
    elapsed = time.perf_counter() - start
    peak = peak_rss_mb()
    print(f"{n_ids} {elapsed:.2f} {base:.1f} {peak:.1f}")


def bench_stream(tok: BPETokenizer, text: str, megabytes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, text_path = Path(tmp) / "bpe.json", Path(tmp) / "corpus.txt"
        tok.save(path)
        text_path.write_text(text, encoding="utf-8")
        out = subprocess.run(
            [sys.executable, __file__, "--stream-child", str(path), str(megabytes), str(text_path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    n_ids, elapsed, base, peak = int(out[0]), float(out[1]), float(out[2]), float(out[3])
    print(f"\n== encode_iterable over a {megabytes:g} MB stream (subprocess) ==")
    print(
        f"{n_ids} ids in {elapsed:.1f} s ({megabytes / elapsed:.1f} MB/s); peak RSS {peak:.0f} MB "
        f"(after loading: {base:.0f} MB; target <= 200 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast check")
    parser.add_argument("--stream-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        path, megabytes, text_path = args.stream_child
        stream_child(path, float(megabytes), text_path)
        return

    name, text = corpus()
    print(
        f"corpus: {name}, {len(text):,} characters; peer: Hugging Face tokenizers "
        f"{__import__('tokenizers').__version__}"
    )
    if args.quick:
        text = text[:200_000]
        bench_training(text, [500, 1000])
        bench_naive(text[:20_000], 400)
        tok, _ = bench_encode(text, 1000)
        bench_stream(tok, text, 5)
    else:
        bench_training(text, [2000, 10000])
        bench_naive(text[:100_000], 2000)
        tok, _ = bench_encode(text, 10000)
        bench_stream(tok, text, 100)


if __name__ == "__main__":
    main()
