"""Quality of the ``cpu-tiny`` preset: time (and steps) to reach validation loss 1.80 on tinyshakespeare.

Target: validation loss <= 1.80 nats/char within 10 minutes on a 2-core CPU. The named peer is
that budget: the script prints the learning curve (step, val loss, elapsed), a sample, the step S and time
at which val loss first reached the target, the training speed in steps/s with evaluation excluded, and
the ratios time-to-target / 600 s and S / (steps/s) / 600 s (evaluation overhead left out).

Wall time on a busy machine says little. There, run with ``--threads 1`` (two threads fighting other
processes for two cores slow down far more than one): the process's CPU seconds per step times S is then
what one quiet core needs to reach the target, an upper bound for a quiet 2-core machine.

    COURSE_DATA_DIR=/work/shared/data python bench/bench_train_quality.py            # the full preset
    COURSE_DATA_DIR=/work/shared/data python bench/bench_train_quality.py --threads 1   # on a busy machine
    python bench/bench_train_quality.py --quick     # smoke run: 60 steps on pydocs
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch

from course_lib.training.gpt_run import prepare_gpt_run
from course_lib.training.trainer import METRICS_FILE

BUDGET_S = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cpu-tiny")
    parser.add_argument("--corpus", default="tinyshakespeare")
    parser.add_argument("--steps", type=int, help="override the preset's step count")
    parser.add_argument("--target", type=float, default=1.80)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target machine has 2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 steps on the embedded pydocs corpus")
    args = parser.parse_args()
    if args.quick:
        args.corpus, args.steps = "pydocs", args.steps or 60
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as out:
        trainer = prepare_gpt_run(
            corpus=args.corpus, preset=args.preset, steps=args.steps, out=out, device=args.device, progress=False
        )
        c = trainer.config
        print(
            f"preset {args.preset} on {args.corpus}: {trainer.model.num_params() / 1e6:.2f}M params, "
            f"{c.max_steps} steps x {c.tokens_per_step} tokens, {torch.get_num_threads()} threads"
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        trainer.fit()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        records = [json.loads(line) for line in open(f"{out}/{METRICS_FILE}", encoding="utf-8")]

    # training seconds per logged window = steps in it * tokens per step / measured tokens/s
    previous = [0] + [r["step"] for r in records[:-1]]
    train_s = sum(
        (r["step"] - p) * c.tokens_per_step / r["tokens_per_s"] for r, p in zip(records, previous, strict=True)
    )
    steps_per_s = c.max_steps / train_s
    print(f"\n{'step':>6} {'val loss':>9} {'elapsed s':>10}")
    reached = None
    for r in records:
        if "val_loss" in r:
            print(f"{r['step']:>6} {r['val_loss']:>9.4f} {r['elapsed_s']:>10.1f}")
            if reached is None and r["val_loss"] <= args.target:
                reached = r
    print(f"\nsample at the end:\n{trainer.samples[-1] if trainer.samples else '(none)'}\n")
    print(
        f"wall {wall:.1f} s; training speed {steps_per_s:.2f} steps/s "
        f"({steps_per_s * c.tokens_per_step:.0f} tokens/s, evaluation excluded)"
    )
    cpu_per_step = cpu / c.max_steps  # evaluations included
    print(f"CPU time {cpu:.1f} s = {cpu_per_step:.3f} CPU s/step on {torch.get_num_threads()} thread(s)")
    if reached is None:
        best = min(r["val_loss"] for r in records if "val_loss" in r)
        print(f"target val loss {args.target} NOT reached (best {best:.4f})")
        return
    step = reached["step"]
    print(
        f"val loss {reached['val_loss']:.4f} <= {args.target} at step S={step}, {reached['elapsed_s']:.1f} s "
        f"-> ratio to the {BUDGET_S:.0f} s budget: {reached['elapsed_s'] / BUDGET_S:.2f}"
    )
    print(
        f"S / training speed = {step / steps_per_s:.1f} s -> ratio {step / steps_per_s / BUDGET_S:.2f} "
        "(evaluation excluded)"
    )
    if torch.get_num_threads() == 1:
        print(
            f"S x CPU s/step = {step * cpu_per_step:.1f} s -> ratio {step * cpu_per_step / BUDGET_S:.2f}: what one "
            "quiet core needs, evaluations included (an upper bound for a quiet 2-core machine)"
        )


if __name__ == "__main__":
    main()
