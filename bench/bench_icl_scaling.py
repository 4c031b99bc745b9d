"""In-context learning and scaling-law benchmarks (lecture 11's figures, measured in one run).

    python bench/bench_icl_scaling.py            # ICL accuracy at k = 0 and k = 8, and a 12-run sweep
    python bench/bench_icl_scaling.py --quick    # ICL only

ICL: the lecture's 1-layer, 1-head GPT (d_model 64) trained 500 steps on ``KeyValueTask(n_questions=16)``; prints
query accuracy with 0 and 8 facts against the best possible (Bayes) accuracy. Scaling: character GPTs of four widths
at three compute budgets on the embedded English text; prints Approach 3's exponents and Approach 2's
``N_opt ∝ C^a`` with 90% bootstrap intervals (resampling runs), next to Chinchilla's published values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from course_lib.data import load_corpus
from course_lib.errors import CourseError
from course_lib.evaluation import CHINCHILLA, fit_isoflop, fit_scaling_law
from course_lib.evaluation.icl_task import KeyValueTask, few_shot_accuracy, train_in_context
from course_lib.evaluation.scaling import bootstrap
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.tokenizers.simple import CharTokenizer
from course_lib.training.config import TrainConfig
from course_lib.training.trainer import Trainer, train_val_split


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


def sweep(widths=(16, 32, 48, 64), budgets=(3e10, 1e11, 3e11), block=32, batch=16) -> tuple[np.ndarray, ...]:
    text = load_corpus("pydocs")
    tokenizer = CharTokenizer.train(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids, 0.05)
    runs = []
    for budget in budgets:
        for width in widths:
            torch.manual_seed(0)
            model = GPT(
                GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block, n_layers=2, n_heads=4, d_model=width)
            )
            n_params = model.num_params(non_embedding=True)
            steps = max(10, round(budget / (6 * n_params * block * batch)))
            config = TrainConfig(
                max_steps=steps,
                batch_size=batch,
                block_size=block,
                max_lr=3e-3,
                min_lr=3e-4,
                warmup_steps=max(1, steps // 10),
                eval_interval=steps,
                eval_batches=8,
                sample_tokens=0,
            )
            trainer = Trainer(model, config, train_ids, val_ids, progress=False, verbose=False)
            trainer.fit()
            runs.append((n_params, steps * block * batch, trainer.evals[-1]["val_loss"]))
    return tuple(np.array(column, dtype=np.float64) for column in zip(*runs))


def scaling() -> None:
    start = time.perf_counter()
    N, D, L = sweep()
    C = 6 * N * D
    print(f"sweep: {len(N)} runs in {time.perf_counter() - start:.0f} s")

    def approach_3(rows):
        law = fit_scaling_law(N[rows], D[rows], L[rows], n_starts=2)
        return [law.alpha, law.beta, law.exponents[0]]

    def approach_2(rows):
        return [fit_isoflop(N[rows], L[rows], C[rows], rel_tol=0.2).exponents[0]]

    for name, statistic in (("Approach 3 (alpha, beta, a)", approach_3), ("Approach 2 (a)", approach_2)):
        try:
            point = statistic(np.arange(len(N)))
        except CourseError as err:
            print(f"{name}: no fit ({err})")
            continue
        draws = bootstrap(statistic, len(N), n_resamples=50, seed=0)
        low, high = np.percentile(draws, [5, 95], axis=0)
        intervals = ", ".join(f"{p:.2f} [{lo:.2f}, {hi:.2f}]" for p, lo, hi in zip(point, low, high))
        print(f"{name}: {intervals} ({len(draws)} bootstrap resamples fitted)")
    print(
        f"Chinchilla (Hoffmann et al. 2022): alpha {CHINCHILLA.alpha}, beta {CHINCHILLA.beta}, "
        f"a {CHINCHILLA.exponents[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ICL only")
    args = parser.parse_args()
    icl()
    if not args.quick:
        scaling()


if __name__ == "__main__":
    main()
