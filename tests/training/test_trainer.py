import dataclasses
import json
import os
import signal

import pytest
import torch

from course_lib.training import trainer as trainer_mod
from course_lib.training.checkpoint import load_checkpoint
from course_lib.training.trainer import TrainConfig, Trainer, train_val_split

CFG = TrainConfig(
    max_steps=12,
    batch_size=4,
    block_size=8,
    grad_accum_steps=2,
    max_lr=3e-2,
    min_lr=3e-3,
    warmup_steps=3,
    eval_interval=4,
    eval_batches=2,
    log_interval=2,
    sample_tokens=5,
    seed=7,
)


def sampler_using_global_rng(model):
    """Like a text sampler that forgets to pass a generator: draws from the global torch RNG."""
    return "".join(str(int(t)) for t in torch.randint(0, 10, (5,)))


def make_trainer(factory, data, out_dir=None, config=CFG, **kwargs):
    train, val = data
    return Trainer(factory(), config, train, val, out_dir=out_dir, progress=False, **kwargs)


def snapshot(model):
    return {n: p.detach().clone() for n, p in model.state_dict().items()}


def test_resume_is_bit_identical_to_training_straight_through(tiny_lm_factory, token_data, tmp_path):
    """Train N steps straight == train k, checkpoint, rebuild everything fresh, resume, train N - k."""
    straight = make_trainer(tiny_lm_factory, token_data, sampler=sampler_using_global_rng)
    straight.fit()

    first = make_trainer(tiny_lm_factory, token_data, tmp_path, sampler=sampler_using_global_rng)
    first.fit(until_step=5)
    torch.manual_seed(999)  # the resumed process starts with unrelated RNG states
    resumed = make_trainer(tiny_lm_factory, token_data, tmp_path, sampler=sampler_using_global_rng)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    assert resumed.step == 5
    resumed.fit()

    assert resumed.losses == straight.losses  # exact float equality, every step
    assert len(straight.losses) == CFG.max_steps
    final, reference = snapshot(resumed.model), snapshot(straight.model)
    assert all(torch.equal(final[n], reference[n]) for n in reference)
    assert [e["val_loss"] for e in resumed.evals] == [e["val_loss"] for e in straight.evals]


def test_resume_without_rng_state_diverges(tiny_lm_factory, token_data, tmp_path):
    """Control for the test above: weights and optimizer alone do not reproduce the run (dropout, batches)."""
    straight = make_trainer(tiny_lm_factory, token_data)
    straight.fit()
    first = make_trainer(tiny_lm_factory, token_data, tmp_path)
    first.fit(until_step=5)
    state = load_checkpoint(tmp_path)
    partial = make_trainer(tiny_lm_factory, token_data)
    partial.model.load_state_dict(state["model"])
    partial.optimizer.load_state_dict(state["optimizer"])
    partial.step = state["step"]
    partial.fit()
    assert partial.losses != straight.losses[5:]


def test_step_equals_one_adamw_step_on_the_concatenated_batch(tiny_lm_factory, token_data, monkeypatch):
    """Gradient accumulation over 2 micro-batches == the mean loss of their concatenation (oracle: AdamW)."""
    config = dataclasses.replace(CFG, grad_clip=0.0, warmup_steps=0)
    train, _ = token_data
    batches = [(train[i : i + 32].view(4, 8), train[i + 1 : i + 33].view(4, 8)) for i in (0, 100)]
    feed = iter(batches)
    monkeypatch.setattr(trainer_mod, "get_batch", lambda *args, **kwargs: next(feed))

    trainer = make_trainer(lambda: tiny_lm_factory(dropout=0.0), token_data, config=config)
    reference = tiny_lm_factory(dropout=0.0)
    trainer.train_step()

    opt = torch.optim.AdamW(
        reference.parameters(), lr=config.max_lr, betas=(config.beta1, config.beta2), weight_decay=0.0
    )
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    reference(x, y)[1].backward()
    # decay only on matrices, done by hand: decoupled, so it commutes with the Adam update
    with torch.no_grad():
        for p in reference.parameters():
            if p.dim() >= 2:
                p.mul_(1 - config.max_lr * config.weight_decay)
    opt.step()
    for name, p in reference.named_parameters():
        torch.testing.assert_close(trainer.model.get_parameter(name), p, msg=name)


def test_gradients_are_clipped_to_the_global_norm(tiny_lm_factory, token_data, monkeypatch):
    config = dataclasses.replace(CFG, grad_clip=1e-3)
    trainer = make_trainer(tiny_lm_factory, token_data, config=config)
    norms = []
    real_step = trainer.optimizer.step

    def recording_step(*args, **kwargs):
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer.optimizer, "step", recording_step)
    for _ in range(3):
        trainer.train_step()
    assert norms and all(n <= 1e-3 * (1 + 1e-4) for n in norms)


def test_learning_rate_follows_the_schedule(tiny_lm_factory, token_data):
    trainer = make_trainer(tiny_lm_factory, token_data)
    for step in range(6):
        trainer.train_step()
        assert trainer.optimizer.param_groups[0]["lr"] == trainer.lr_at(step)
        assert trainer.optimizer.param_groups[1]["lr"] == trainer.lr_at(step)


def test_training_lowers_validation_loss(tiny_lm_factory, token_data):
    config = dataclasses.replace(CFG, max_steps=60, eval_interval=60, eval_batches=4)
    trainer = make_trainer(tiny_lm_factory, token_data, config=config)
    start = trainer.evaluate()["val"]
    trainer.fit()
    # the data is 80% a deterministic cycle: far below the uniform log(11) = 2.40 nats is reachable
    assert start > 2.0 and trainer.evals[-1]["val_loss"] < 1.5


def test_evaluation_is_repeatable_and_leaves_training_randomness_alone(tiny_lm_factory, token_data):
    trainer = make_trainer(tiny_lm_factory, token_data)
    torch_state = torch.get_rng_state()
    first, second = trainer.evaluate(), trainer.evaluate()
    assert first == second
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert trainer.model.training


def test_metrics_log_and_resume_truncation(tiny_lm_factory, token_data, tmp_path):
    trainer = make_trainer(tiny_lm_factory, token_data, tmp_path)
    trainer.fit(until_step=6)  # checkpoint at step 6 ...
    saved = (tmp_path / "checkpoint.pt").read_bytes()
    trainer.fit(until_step=10)  # ... then steps 7-10 logged, but their checkpoint "lost" in a crash
    (tmp_path / "checkpoint.pt").write_bytes(saved)
    resumed = make_trainer(tiny_lm_factory, token_data, tmp_path)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    assert resumed.step == 6
    resumed.fit()
    records = [json.loads(line) for line in (tmp_path / trainer_mod.METRICS_FILE).read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(2, 13, 2))  # every log_interval, no repeats
    for r in records:
        assert {"step", "train_loss", "lr", "tokens_per_s", "elapsed_s"} <= r.keys()
        assert ("val_loss" in r) == (r["step"] % CFG.eval_interval == 0 or r["step"] == CFG.max_steps)
    assert [r["train_loss"] for r in records] == pytest.approx(
        [sum(resumed.losses[s - 2 : s]) / 2 for s in range(2, 13, 2)]
    )


@pytest.fixture
def terminal_sigint():
    """Ctrl-C behaves as in a terminal, whatever started pytest (a background job inherits SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("terminal_sigint")
def test_ctrl_c_finishes_the_step_saves_and_resumes_exactly(tiny_lm_factory, token_data, tmp_path, monkeypatch):
    straight = make_trainer(tiny_lm_factory, token_data)
    straight.fit()
    trainer = make_trainer(tiny_lm_factory, token_data, tmp_path)
    real_step = trainer.train_step

    def step_with_ctrl_c():
        if trainer.step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of step 4
        return real_step()

    monkeypatch.setattr(trainer, "train_step", step_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert trainer.step == 4 and load_checkpoint(tmp_path)["step"] == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    resumed = make_trainer(tiny_lm_factory, token_data, tmp_path)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    resumed.fit()
    assert resumed.losses == straight.losses


def test_train_val_split_is_contiguous_ninety_ten():
    ids = torch.arange(1000)
    train, val = train_val_split(ids)
    assert len(train) == 900 and len(val) == 100
    assert torch.equal(torch.cat([train, val]), ids)
    with pytest.raises(ValueError):
        train_val_split(ids, 1.5)


def test_evaluations_do_not_depend_on_the_log_interval(tiny_lm_factory, token_data, tmp_path):
    config = dataclasses.replace(CFG, max_steps=7, eval_interval=3, log_interval=5)
    trainer = make_trainer(tiny_lm_factory, token_data, tmp_path, config=config)
    trainer.fit()
    assert [e["step"] for e in trainer.evals] == [3, 6, 7]
    records = [json.loads(line) for line in (tmp_path / trainer_mod.METRICS_FILE).read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 5, 6, 7]


def test_batches_depend_on_the_step_and_slot_only(tiny_lm_factory, token_data):
    """The windows of (step, slot) are the same in a fresh trainer, after training, and from a numpy array."""
    trainer = make_trainer(tiny_lm_factory, token_data)
    before = trainer.batch(3, 1)
    trainer.fit(until_step=4)
    again = make_trainer(tiny_lm_factory, (token_data[0].numpy().astype("uint16"), token_data[1]))
    for x, y in (trainer.batch(3, 1), again.batch(3, 1)):
        assert torch.equal(x, before[0]) and torch.equal(y, before[1])
        assert x.dtype == torch.long
    assert not torch.equal(trainer.batch(3, 0)[0], before[0]) and not torch.equal(trainer.batch(4, 1)[0], before[0])
    train = token_data[0]
    for row_x, row_y in zip(*before, strict=True):  # oracle: each row is a window of the data, y shifted by one
        assert any(
            torch.equal(train[i : i + 8], row_x) and torch.equal(train[i + 1 : i + 9], row_y)
            for i in range(len(train) - 8)
        )


def test_elapsed_time_continues_across_resume(tiny_lm_factory, token_data, tmp_path):
    first = make_trainer(tiny_lm_factory, token_data, tmp_path)
    first.fit(until_step=6)
    assert first.elapsed_s > 0
    resumed = make_trainer(tiny_lm_factory, token_data, tmp_path)
    resumed.load_state_dict(load_checkpoint(tmp_path))
    assert resumed.elapsed_s == first.elapsed_s
    resumed.fit()
    records = [json.loads(line) for line in (tmp_path / trainer_mod.METRICS_FILE).read_text().splitlines()]
    elapsed = [r["elapsed_s"] for r in records]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= round(first.elapsed_s, 2)
