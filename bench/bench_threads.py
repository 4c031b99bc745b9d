"""How many torch threads should training use? Tokens/s of cpu-tiny GPT training steps with 1, 2, ... threads,
on a quiet machine and with other processes busy on the cores (the usual case on a shared laptop or server).

    PYTHONPATH=. python bench/bench_threads.py [--steps 15] [--busy 1]

``--busy K`` starts K processes that spin on a core each while the threads are measured. The printed table is
what ``course_lib.training.distributed.default_threads`` is chosen from.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import torch

from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training.config import TrainConfig
from course_lib.training.presets import PRESETS
from course_lib.training.trainer import Trainer


def spin(stop: mp.Event) -> None:
    x = 0
    while not stop.is_set():
        x += 1


def tokens_per_s(threads: int, steps: int) -> float:
    torch.set_num_threads(threads)
    preset = PRESETS["cpu-tiny"]
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, **preset.model))
    data = torch.randint(0, 65, (200_000,))
    trainer = Trainer(model, preset.train, data, data[:10_000], progress=False, verbose=False)
    trainer.train_step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    return steps * TrainConfig.tokens_per_step.fget(preset.train) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--busy", type=int, default=1, help="spinning processes in the 'busy' rows")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; cpu-tiny GPT, {args.steps} steps per cell (tokens/s, higher is better)")
    for busy in (0, args.busy):
        stop = mp.Event()
        spinners = [mp.Process(target=spin, args=(stop,), daemon=True) for _ in range(busy)]
        for p in spinners:
            p.start()
        try:
            row = {t: tokens_per_s(t, args.steps) for t in range(1, cores + 1)}
        finally:
            stop.set()
            for p in spinners:
                p.join()
        cells = "  ".join(f"{t} threads: {v:8.0f}" for t, v in row.items())
        print(f"{busy} busy process(es): {cells}")


if __name__ == "__main__":
    main()
