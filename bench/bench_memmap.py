"""Memory-mapped token files vs tokens held in memory: training windows per second and peak memory.

    python bench/bench_memmap.py [--tokens 20000000] [--scale 10] [--batches 200]

Writes a token file of ``--tokens`` random uint16 ids and one ``--scale`` times larger (a corpus 10x larger
than the first), then, each in a fresh process, samples ``--batches`` batches of 64 windows of 256 tokens with
``course_lib.data.get_batch`` from (a) ``np.memmap`` (what ``llmcourse train --data`` does) and (b) the whole
file loaded into an int64 tensor (what training from ``--corpus`` does). Prints windows/s, the process's
peak resident memory (``ru_maxrss``, which also counts the pages of the map it touched: page cache, which the
kernel drops under memory pressure) and its anonymous memory at the end (``RssAnon``: what cannot be dropped).
The memmap's anonymous memory stays flat as the corpus grows; the in-memory one grows by 8 bytes per token.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from course_lib.data import get_batch
path, mode, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(1)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
data = np.memmap(path, dtype=np.uint16, mode="r")
if mode == "memory":
    data = torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))
opened = time.perf_counter() - start
generator = torch.Generator().manual_seed(0)
get_batch(data, 64, 256, "cpu", generator)
start = time.perf_counter()
for _ in range(batches):
    get_batch(data, 64, 256, "cpu", generator)
rate = batches * 64 / (time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
status = dict(line.split(":", 1) for line in open("/proc/self/status") if line.startswith("Rss"))
anon = int(status["RssAnon"].split()[0]) / 1024
print(json.dumps({"windows_per_s": rate, "open_s": opened, "peak_mb": peak / 1024, "anon_mb": anon}))
"""


def measure(path: Path, mode: str, batches: int) -> dict:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode, str(batches)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20_000_000)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in (args.tokens, args.tokens * args.scale):
            path = Path(tmp) / f"{n}.bin"
            with open(path, "wb") as handle:  # written in pieces: the benchmark itself stays small
                for start in range(0, n, 10_000_000):
                    rng.integers(0, 50_000, min(10_000_000, n - start), dtype=np.uint16).tofile(handle)
            for mode in ("memmap", "memory"):
                rows.append((n, mode, measure(path, mode, args.batches)))
            path.unlink()
    print(f"{'tokens':>12} {'mode':>7} {'windows/s':>10} {'open s':>7} {'peak RSS MB':>12} {'anon MB':>8}")
    for n, mode, r in rows:
        print(
            f"{n:>12,} {mode:>7} {r['windows_per_s']:>10,.0f} {r['open_s']:>7.2f} {r['peak_mb']:>12,.0f} "
            f"{r['anon_mb']:>8,.0f}"
        )
    big = args.tokens * args.scale
    mapped, loaded = (next(r for n, m, r in rows if n == big and m == mode) for mode in ("memmap", "memory"))
    print(
        f"at {big:,} tokens, memmap / in-memory windows/s: {mapped['windows_per_s'] / loaded['windows_per_s']:.2f}x; "
        f"peak RSS {mapped['peak_mb']:,.0f} vs {loaded['peak_mb']:,.0f} MB; "
        f"anonymous {mapped['anon_mb']:,.0f} vs {loaded['anon_mb']:,.0f} MB"
    )


if __name__ == "__main__":
    main()
