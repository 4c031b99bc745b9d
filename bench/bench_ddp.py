"""Data-parallel training on CPU: 2 gloo ranks under torchrun vs 1 process, same global batch, tokens/s.

    python bench/bench_ddp.py [--steps 30] [--preset cpu-tiny]

Trains the preset with ``--grad-accum-steps 2`` (so each of the 2 ranks computes one micro-batch per step, and
one process computes both) for ``--steps`` steps on the embedded ``pydocs`` corpus, one thread per process, and
reads the tokens/s that the run logged in ``metrics.jsonl`` (the median of the logged windows after the
first). On CPUs DDP is about correctness (tests/training/test_distributed.py); on one machine two ranks compete
for the same cores and memory bandwidth, and gloo's all-reduce goes through shared memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(ranks: int, out: Path, steps: int, preset: str) -> float:
    argv = ["train", "gpt", "--corpus", "pydocs", "--preset", preset, "--grad-accum-steps", "2"]
    argv += ["--steps", str(steps), "--out", str(out), "--no-progress", "--threads", "1"]
    if ranks == 1:
        command = [sys.executable, "-m", "course_lib.training.cli", *argv]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
        command += ["-m", "course_lib.training.cli", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["tokens_per_s"] for r in records[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--preset", default="cpu-tiny")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        single = run(1, Path(tmp) / "one", args.steps, args.preset)
        double = run(2, Path(tmp) / "two", args.steps, args.preset)
    print(f"{os.cpu_count()} cores, {args.preset}, global batch = 2 micro-batches, {args.steps} steps")
    print(f"1 process : {single:>10,.0f} tokens/s")
    print(f"2 ranks   : {double:>10,.0f} tokens/s")
    print(f"2 ranks / 1 process: {double / single:.2f}x")


if __name__ == "__main__":
    main()
