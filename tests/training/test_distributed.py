"""Data-parallel training under torchrun (gloo, 2 CPU ranks): the same parameters as one process with the same
global batch, and a killed-and-resumed run that ends where an uninterrupted one ends.

Each torchrun launch starts three Python processes that import torch: seconds each on an idle machine, more on
a busy one, so the module is marked slow; every launch has a timeout, so a hang fails instead of blocking.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_lib.device import seed_everything
from course_lib.models.gpt import GPT, GPTConfig
from course_lib.training.checkpoint import load_checkpoint
from course_lib.training.config import TrainConfig
from course_lib.training.distributed import DistContext, default_threads, stream_seed
from course_lib.training.gpt_run import prepare_run
from course_lib.training.trainer import METRICS_FILE, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from ddp_entry import DDP_MICRO  # the preset the torchrun ranks use

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).with_name("ddp_entry.py")
TRAIN = ["train", "gpt", "--preset", "ddp-micro", "--corpus", "pydocs", "--no-progress", "--threads", "1"]
LAUNCH_TIMEOUT_S = 240


def launch(argv: list[str], ranks: int, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ENTRY), *argv]
    if ranks > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
        command += [str(ENTRY), *argv]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(command, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S, env=environment, cwd=ROOT)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def params(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir)["model"]


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One single-process run and one uninterrupted 2-rank run of the same 6 steps."""
    root = tmp_path_factory.mktemp("ddp")
    single, double = root / "single", root / "double"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank (--threads 1)
    try:  # the single process runs here, saving a Python start-up
        prepare_run(preset=DDP_MICRO, corpus="pydocs", out=single, progress=False, verbose=False).fit()
    finally:
        torch.set_num_threads(threads)
    result = ok(launch([*TRAIN, "--out", str(double)], ranks=2))
    assert "x 2 ranks" in result.stdout  # it really ran data-parallel
    return {"root": root, "single": single, "double": double}


def test_two_ranks_reach_the_parameters_of_one_process(runs):
    single, double = load_checkpoint(runs["single"]), load_checkpoint(runs["double"])
    assert single["step"] == double["step"] == 6
    assert max_difference(single["model"], double["model"]) <= 1e-6
    assert single["losses"] == pytest.approx(double["losses"], abs=1e-6)  # all ranks' losses, averaged
    # the weights moved: the comparison is not between two untouched initialisations
    seed_everything(single["train_config"]["seed"])
    initial = GPT(GPTConfig.from_dict(single["meta"]["model_config"])).state_dict()
    assert max_difference(initial, single["model"]) > 1e-3


def test_only_rank_zero_logs_and_the_log_has_each_step_once(runs):
    records = [json.loads(line) for line in (runs["double"] / METRICS_FILE).read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in records if "val_loss" in r] == [2, 4, 6]


def test_killed_and_resumed_two_rank_run_ends_where_the_uninterrupted_one_ends(runs):
    out = runs["root"] / "killed"
    killed = launch([*TRAIN, "--out", str(out)], ranks=2, KILL_AT_STEP="3")
    assert killed.returncode != 0
    assert load_checkpoint(out)["step"] == 2  # the last evaluation's checkpoint survived; step 3 was lost
    ok(launch(["train", "gpt", "--out", str(out), "--resume", "--no-progress", "--threads", "1"], ranks=2))
    assert max_difference(params(out), params(runs["double"])) == 0.0  # same ranks, same order: bit for bit
    records = [json.loads(line) for line in (out / METRICS_FILE).read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]  # step 3's line from the killed run was dropped


def test_grad_accum_must_split_evenly_across_ranks():
    config = TrainConfig(grad_accum_steps=4)
    data = torch.zeros(100, dtype=torch.long)
    with pytest.raises(ValueError, match="multiple of the number of ranks"):
        Trainer(torch.nn.Linear(2, 2), config, data, data, dist=DistContext(rank=0, world_size=3))


def test_seed_streams_and_thread_default():
    assert stream_seed(1, 2, 3) == stream_seed(1, 2, 3)
    assert len({stream_seed(1, step, slot) for step in range(20) for slot in range(8)}) == 160
    assert default_threads(1) >= 1 and default_threads(64) == 1
