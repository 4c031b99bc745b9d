"""In-context learning and scaling-law benchmarks (lecture 11's figures, measured in one run).

    python bench/bench_icl_scaling.py                       # ICL at k = 0 and k = 8; fits of the committed sweep
    python bench/bench_icl_scaling.py --quick               # ICL only
    python bench/bench_icl_scaling.py --sweep-dir runs/cpu-isoflop   # fits of a sweep you ran yourself

ICL: the lecture's 1-layer, 1-head GPT (d_model 64) trained 500 steps on ``KeyValueTask(n_questions=16)``; prints
query accuracy with 0 and 8 facts against the best possible (Bayes) accuracy. Scaling: the sweep lecture 11 plots,
``llmcourse sweep --grid cpu-isoflop`` (committed in ``course_lib/training/sweeps/``; ``--sweep-dir`` reads the
``results.csv`` of a rerun instead); prints Approach 3's ``E, alpha, beta`` and ``a`` (``N_opt ∝ C^a``) and Approach 2's
``a``, with 90% bootstrap intervals (resampling runs), next to Chinchilla's published values.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from course_lib.errors import CourseError
from course_lib.evaluation import CHINCHILLA, fit_isoflop, fit_scaling_law
from course_lib.evaluation.icl_task import KeyValueTask, few_shot_accuracy, train_in_context
from course_lib.evaluation.scaling import bootstrap
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training.sweep import RESULTS_CSV, published_results, read_results_csv

SWEEP = "cpu-isoflop"


def icl() -> None:
    task = KeyValueTask(n_questions=16)
    torch.manual_seed(0)
    model = GPT(
        GPTConfig(vocab_size=task.vocab_size, block_size=task.sequence_length, n_layers=1, n_heads=1, d_model=64)
    )
    start = time.perf_counter()
    train_in_context(model, task, 500, seed=0)
    for k in (0, 8):
        accuracy = few_shot_accuracy(model, task, k, n=2000, seed=1)
        print(f"ICL k={k}: accuracy {accuracy:.3f} (best possible {task.bayes_accuracy(k):.3f})")
    print(f"ICL training: {time.perf_counter() - start:.1f} s for 500 steps")


def sweep_runs(sweep_dir: str | None) -> tuple[np.ndarray, ...]:
    """``(N, D, loss, C)`` of every run: the committed sweep, or the ``results.csv`` in ``sweep_dir``."""
    if sweep_dir is None:
        rows, about = published_results(SWEEP)
        print(f"sweep: committed {SWEEP}, made by `{about['command']}` on {about['machine']}, {about['date']}")
    else:
        rows = read_results_csv(Path(sweep_dir) / RESULTS_CSV)
        print(f"sweep: {sweep_dir}/{RESULTS_CSV}")
    return tuple(np.array([row[key] for row in rows], dtype=np.float64) for key in ("N", "D", "val_loss", "C"))


def scaling(sweep_dir: str | None, n_resamples: int) -> None:
    start = time.perf_counter()
    N, D, L, C = sweep_runs(sweep_dir)
    print(f"sweep: {len(N)} runs, N {N.min():.0f} to {N.max():.0f}, C {C.min():.2g} to {C.max():.2g} FLOPs")

    def approach_3(rows):
        law = fit_scaling_law(N[rows], D[rows], L[rows], n_starts=2)
        return [law.E, law.alpha, law.beta, law.exponents[0]]

    def approach_2(rows):
        return [fit_isoflop(N[rows], L[rows], C[rows], rel_tol=0.05).exponents[0]]

    for name, statistic in (("Approach 3 (E, alpha, beta, a)", approach_3), ("Approach 2 (a)", approach_2)):
        try:
            point = statistic(np.arange(len(N)))
        except CourseError as err:
            print(f"{name}: no fit ({err})")
            continue
        draws = bootstrap(statistic, len(N), n_resamples=n_resamples, seed=0)
        low, high = np.percentile(draws, [5, 95], axis=0)
        intervals = ", ".join(f"{p:.2f} [{lo:.2f}, {hi:.2f}]" for p, lo, hi in zip(point, low, high))
        print(f"{name}: {intervals} ({len(draws)} of {n_resamples} bootstrap resamples fitted)")
    print(
        f"Chinchilla (Hoffmann et al. 2022): E {CHINCHILLA.E}, alpha {CHINCHILLA.alpha}, beta {CHINCHILLA.beta}, "
        f"a {CHINCHILLA.exponents[0]:.2f}"
    )
    print(f"scaling fits: {time.perf_counter() - start:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ICL only")
    parser.add_argument("--sweep-dir", help=f"fit this sweep directory's {RESULTS_CSV} (default: the committed one)")
    parser.add_argument("--resamples", type=int, default=100, help="bootstrap resamples (default: 100)")
    args = parser.parse_args()
    icl()
    if not args.quick:
        scaling(args.sweep_dir, args.resamples)


if __name__ == "__main__":
    main()
