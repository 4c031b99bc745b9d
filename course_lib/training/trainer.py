"""A small, readable training loop for causal language models (nanoGPT-style), resumable bit for bit.

Works with any ``nn.Module`` whose ``forward(idx, targets)`` returns ``(logits, loss)`` for ``idx`` and
``targets`` of shape (B, T). One optimizer step:

1. ``grad_accum_steps`` micro-batches of (B, T) random windows, each loss divided by the number of
   micro-batches, so the summed gradient is that of one batch ``grad_accum_steps`` times larger;
2. gradient clipping to a global norm (guards against the occasional huge update early in training);
3. the warmup + cosine learning rate for this step, then an AdamW update.

The windows of micro-batch ``g`` of step ``s`` are drawn from a generator seeded with ``(seed, s, g)``, so
the batches are a function of the step alone: a resumed run, and a data-parallel run under ``torchrun``
(:mod:`course_lib.training.distributed`, each rank computing its share of the micro-batches), see exactly the
batches of the uninterrupted single-process run.

On GPUs the forward pass runs under bf16 autocast (``course_lib.device.autocast``) and, on request, through
``torch.compile``; on CPUs it runs in float32, where every step is reproducible exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import distributed as torch_dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from course_lib.data import get_batch
from course_lib.device import autocast, autocast_dtype
from course_lib.training.checkpoint import capture_rng_state, restore_rng_state, save_checkpoint
from course_lib.training.config import TrainConfig
from course_lib.training.distributed import SINGLE, DistContext, mean_across_ranks, stream_seed
from course_lib.training.optim import make_adamw
from course_lib.training.schedule import warmup_cosine_lr

METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FORMAT = 1


def train_val_split(ids: torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a 1-D token sequence into a leading train part and a held-out tail (contiguous, no leakage)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    cut = int(len(ids) * (1 - val_fraction))
    return ids[:cut], ids[cut:]


class Trainer:
    """Owns the model, optimizer, data generators and step counter of one run.

    ``sampler(model) -> str`` (optional) produces the text shown at each evaluation; ``meta`` is stored in
    every checkpoint verbatim (model config, tokenizer, corpus: whatever is needed to rebuild the run).
    ``progress`` shows a progress bar; ``verbose`` prints every evaluation and sample. ``train_data`` and
    ``val_data`` are 1-D token tensors or arrays (a ``np.memmap`` is read window by window).

    ``dist`` (from :func:`~course_lib.training.distributed.init_distributed`) makes this one rank of a
    data-parallel run: the model is wrapped in ``DistributedDataParallel``, and only rank 0 logs, evaluates
    and saves.
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        train_data: torch.Tensor | np.ndarray,
        val_data: torch.Tensor | np.ndarray,
        *,
        device: torch.device | str = "cpu",
        out_dir: str | Path | None = None,
        sampler: Callable[[nn.Module], str] | None = None,
        meta: dict[str, Any] | None = None,
        progress: bool = True,
        verbose: bool = True,
        dist: DistContext = SINGLE,
    ) -> None:
        if config.grad_accum_steps % dist.world_size:
            raise ValueError(
                f"grad_accum_steps ({config.grad_accum_steps}) must be a multiple of the number of ranks "
                f"({dist.world_size}): each rank computes an equal share of the micro-batches"
            )
        self.config = config
        self.dist = dist
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.train_data, self.val_data = train_data, val_data
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.sampler = sampler
        self.meta = dict(meta or {})
        self.progress = progress and dist.is_main  # show a progress bar
        self.verbose = verbose and dist.is_main  # print each evaluation and sample

        self.optimizer = make_adamw(
            model,
            lr=config.max_lr,
            weight_decay=config.weight_decay,
            betas=(config.beta1, config.beta2),
            device=self.device,
        )
        # fp16 (pre-Ampere GPUs) needs loss scaling to keep small gradients from underflowing; bf16 does not.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=autocast_dtype(self.device) == torch.float16)
        # self.model stays the plain module (evaluation, sampling, checkpoints); run_model is what trains.
        self.ddp_model: DistributedDataParallel | None = None
        run_model: nn.Module = model
        if dist.enabled:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            # broadcast_buffers=False: buffers (position tables) never change, and a forward pass that
            # communicates could not run on rank 0 alone
            self.ddp_model = run_model = DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False)
        self.run_model = torch.compile(run_model) if config.compile else run_model
        # evaluation runs on rank 0 alone, so never through the DDP wrapper
        self.eval_model = self.run_model if not dist.enabled else (torch.compile(model) if config.compile else model)
        self.step = 0  # optimizer steps completed
        self.elapsed_s = 0.0  # training time of earlier sessions of this run (restored on resume)
        self.losses: list[float] = []  # training loss of every step, for plots and tests
        self.evals: list[dict[str, Any]] = []
        self.samples: list[str] = []

    # ---------------------------------------------------------------- one step
    def lr_at(self, step: int) -> float:
        c = self.config
        return warmup_cosine_lr(
            step, max_lr=c.max_lr, min_lr=c.min_lr, warmup_steps=c.warmup_steps, total_steps=c.max_steps
        )

    def batch(self, step: int, slot: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The training windows of micro-batch ``slot`` of optimizer step ``step``: ``x, y`` of shape (B, T)."""
        c = self.config
        generator = torch.Generator().manual_seed(stream_seed(c.seed, step, slot))
        return get_batch(self.train_data, c.batch_size, c.block_size, self.device, generator)

    def train_step(self) -> float:
        """One optimizer step over ``grad_accum_steps`` micro-batches (this rank's share of them under DDP);
        returns the mean training loss over all of them."""
        c = self.config
        self.model.train()
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.dist.enabled:  # each rank's dropout: its own stream, a function of the step (resumes exactly)
            torch.manual_seed(stream_seed(c.seed, self.step, c.grad_accum_steps + self.dist.rank))
        local_steps = c.grad_accum_steps // self.dist.world_size
        first_slot = self.dist.rank * local_steps
        total = 0.0
        for j in range(local_steps):
            x, y = self.batch(self.step, first_slot + j)
            # DDP averages gradients across ranks in the last backward pass only; the others accumulate locally.
            last = j == local_steps - 1
            no_sync = self.ddp_model.no_sync() if self.ddp_model is not None and not last else contextlib.nullcontext()
            with no_sync:
                with autocast(self.device):
                    _, loss = self.run_model(x, y)
                # mean over this rank's micro-batches; DDP's average over ranks completes the global mean
                self.scaler.scale(loss / local_steps).backward()
            total += loss.item()
        if c.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        mean_loss = mean_across_ranks(total / local_steps, self.dist, self.device)
        self.losses.append(mean_loss)
        return mean_loss

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean loss on ``eval_batches`` windows of each split, the same windows at every evaluation."""
        c = self.config
        self.model.eval()
        result = {}
        for split, data in (("train", self.train_data), ("val", self.val_data)):
            generator = torch.Generator().manual_seed(c.seed + 1)
            losses = []
            for _ in range(c.eval_batches):
                x, y = get_batch(data, c.batch_size, c.block_size, self.device, generator)
                with autocast(self.device):
                    _, loss = self.eval_model(x, y)
                losses.append(loss.item())
            result[split] = sum(losses) / len(losses)
        self.model.train()
        return result

    # ---------------------------------------------------------------- the loop
    def fit(self, until_step: int | None = None) -> list[dict[str, Any]]:
        """Train up to ``until_step`` (default ``max_steps``), evaluating, logging and checkpointing on the way.

        A checkpoint is saved at every evaluation and when the call ends. Ctrl-C lets the current step finish,
        saves a checkpoint and raises KeyboardInterrupt, so ``--resume`` continues exactly; a second Ctrl-C
        stops at once without saving.
        Returns the evaluations made in this call.
        """
        c = self.config
        end = min(until_step if until_step is not None else c.max_steps, c.max_steps)
        evals_before = len(self.evals)
        bar = tqdm(total=c.max_steps, initial=self.step, disable=not self.progress, unit="step", dynamic_ncols=True)
        window_start, window_losses, started = time.perf_counter(), [], time.perf_counter()
        elapsed_before = self.elapsed_s
        # Under DDP a Ctrl-C (or torchrun's SIGTERM) stops every rank at once; --resume starts from the last
        # evaluation's checkpoint. Only a single process can finish the step and save first.
        with _ctrl_c_after_the_step(enabled=not self.dist.enabled) as interrupted, bar:
            while self.step < end:
                window_losses.append(self.train_step())
                self.elapsed_s = elapsed_before + time.perf_counter() - started
                bar.update(1)
                evaluate_now = self.step % c.eval_interval == 0 or self.step == c.max_steps
                if evaluate_now or self.step % c.log_interval == 0 or self.step == end or interrupted():
                    elapsed = time.perf_counter() - window_start
                    record = self._log_record(window_losses, elapsed, self.elapsed_s)
                    bar.set_postfix(self._postfix(record), refresh=False)
                    if evaluate_now and self.dist.is_main:
                        record.update(self._evaluate_and_report(bar))
                        self.save()
                    self._append_metrics(record)
                    window_start, window_losses = time.perf_counter(), []
                if interrupted():
                    self.save()
                    bar.write(f"interrupted: checkpoint at step {self.step} saved; --resume continues from here")
                    raise KeyboardInterrupt
        self.save()
        if self.dist.enabled:
            torch_dist.barrier()  # every rank leaves once rank 0 has written the checkpoint
        return self.evals[evals_before:]

    def _log_record(self, losses: list[float], window_s: float, elapsed_s: float) -> dict[str, Any]:
        tokens_per_s = len(losses) * self.config.tokens_per_step / max(window_s, 1e-9)
        record: dict[str, Any] = {
            "step": self.step,
            "train_loss": sum(losses) / len(losses),
            "lr": self.lr_at(self.step - 1),
            "tokens_per_s": round(tokens_per_s, 1),
            "elapsed_s": round(elapsed_s, 2),
        }
        estimate_mfu = getattr(self.model, "estimate_mfu", None)
        mfu = estimate_mfu(tokens_per_s, self.device) if estimate_mfu else None
        if mfu is not None:
            record["mfu"] = round(mfu, 4)
        return record

    @staticmethod
    def _postfix(record: dict[str, Any]) -> dict[str, str]:
        postfix = {"loss": f"{record['train_loss']:.3f}", "tok/s": f"{record['tokens_per_s']:.0f}"}
        if "mfu" in record:
            postfix["mfu"] = f"{100 * record['mfu']:.1f}%"
        return postfix

    def _evaluate_and_report(self, bar: tqdm) -> dict[str, Any]:
        losses = self.evaluate()
        result = {"step": self.step, "train_loss_eval": losses["train"], "val_loss": losses["val"]}
        self.evals.append(result)
        message = f"step {self.step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}"
        if self.sampler is not None and self.config.sample_tokens > 0:
            self.model.eval()
            text = self.sampler(self.model)
            self.model.train()
            self.samples.append(text)
            message += f"\n--- sample ---\n{text}\n--------------"
        if self.verbose:
            bar.write(message)
        return {"val_loss": losses["val"], "train_loss_eval": losses["train"]}

    def _append_metrics(self, record: dict[str, Any]) -> None:
        if self.out_dir is None or not self.dist.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly (see ``course_lib.training.checkpoint``)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "train_config": dataclasses.asdict(self.config),
            "meta": self.meta,
            "rng": capture_rng_state(),
            "elapsed_s": self.elapsed_s,
            "losses": list(self.losses),
            "evals": list(self.evals),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: weights, optimizer moments, step, history and every RNG state."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unsupported checkpoint format {state.get('format')!r}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = state["step"]
        self.losses = list(state["losses"])
        self.evals = list(state["evals"])
        self.elapsed_s = state.get("elapsed_s", 0.0)
        restore_rng_state(state["rng"])
        if self.dist.is_main:
            self._truncate_metrics(self.step)

    def save(self) -> Path | None:
        """Write the checkpoint to ``out_dir`` (atomically); nothing when the run has no ``out_dir`` or on a
        rank other than 0."""
        if self.out_dir is None or not self.dist.is_main:
            return None
        return save_checkpoint(self.out_dir, self.state_dict())

    def _truncate_metrics(self, step: int) -> None:
        """Drop metrics-log lines written after ``step`` by an interrupted run, so a resumed log has no repeats."""
        if self.out_dir is None or not (self.out_dir / METRICS_FILE).is_file():
            return
        path = self.out_dir / METRICS_FILE
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


@contextlib.contextmanager
def _ctrl_c_after_the_step(enabled: bool = True) -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C (SIGINT) into a flag the loop checks between steps.

    Interrupting in the middle of a step would leave half-accumulated gradients and advanced random
    generators behind, and a checkpoint of that state would not resume exactly. A second Ctrl-C raises
    at once. Signal handlers can only be set from the main thread; elsewhere Ctrl-C behaves as usual.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pressed: list[bool] = []

    def on_sigint(signum: int, frame: object) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)
