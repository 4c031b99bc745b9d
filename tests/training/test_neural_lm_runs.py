"""`llmcourse train window|rnn|lstm` and `generate`: one trainer, checkpoints and resume for lecture 4's models."""

import pytest
import torch

from course_lib import cli
from course_lib.errors import CourseError
from course_lib.models.neural_lm import LSTMLM, RNNLM, WindowLM
from course_lib.models.registry import SIZES, build_model, config_from_dict, make_config
from course_lib.training import presets
from course_lib.training.config import TrainConfig
from course_lib.training.gpt_run import load_gpt, prepare_gpt_run, sample_text
from course_lib.training.presets import Preset
from course_lib.training.tokenizer_io import build_tokenizer

NANO = Preset(
    name="nano",
    device_type="cpu",
    description="test-sized",
    model=dict(block_size=16, n_layers=1, n_heads=2, d_model=16),
    train=TrainConfig(
        max_steps=4,
        batch_size=4,
        block_size=16,
        warmup_steps=1,
        eval_interval=2,
        eval_batches=1,
        log_interval=1,
        sample_tokens=5,
    ),
)


@pytest.fixture(autouse=True)
def nano_preset(monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "nano", NANO)
    small = {"window": dict(context=3, d_embed=4, d_hidden=8), "rnn": dict(d_embed=4, d_hidden=8, n_layers=1)}
    small["lstm"] = small["rnn"]
    for kind, sizes in small.items():
        monkeypatch.setitem(SIZES, kind, {**SIZES[kind], "nano": sizes})


@pytest.mark.slow
@pytest.mark.parametrize("kind, cls", [("window", WindowLM), ("rnn", RNNLM), ("lstm", LSTMLM)])
def test_train_resume_and_generate_through_the_cli(tmp_path, capsys, kind, cls):
    out = tmp_path / kind
    fresh = ["--corpus", "pydocs", "--preset", "nano", "--steps", "2", "--out", str(out), "--no-progress"]
    assert cli.main(["train", kind, *fresh]) == 0
    assert f"nano {kind}" in capsys.readouterr().out
    resume = ["--preset", "nano", "--steps", "4", "--out", str(out), "--resume", "--no-progress"]
    assert cli.main(["train", kind, *resume]) == 0
    assert "step 2 of 4" in capsys.readouterr().out
    model, tokenizer = load_gpt(out)
    assert type(model) is cls and not model.training
    assert cli.main(["generate", "--checkpoint", str(out), "--prompt", "The ", "--max-new-tokens", "7"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("The ") and len(printed.rstrip("\n")) >= len("The ") + 1


@pytest.mark.slow
def test_resume_straight_equals_interrupted(tmp_path):
    straight = prepare_gpt_run(model="lstm", corpus="pydocs", preset="nano", out=tmp_path / "a", progress=False)
    straight.fit()
    first = prepare_gpt_run(model="lstm", corpus="pydocs", preset="nano", out=tmp_path / "b", progress=False)
    first.fit(until_step=2)
    resumed = prepare_gpt_run(model="lstm", out=tmp_path / "b", resume=True, progress=False)
    resumed.fit()
    assert resumed.losses == straight.losses
    with pytest.raises(CourseError, match="trains a 'lstm' model, not 'rnn'"):
        prepare_gpt_run(model="rnn", out=tmp_path / "b", resume=True, steps=9, progress=False)


def test_registry_round_trips_configs_and_rejects_unknown_models():
    config = make_config("rnn", 30, "cpu-tiny", {})
    assert config.vocab_size == 30 and config.d_hidden == SIZES["rnn"]["cpu-tiny"]["d_hidden"]
    assert config_from_dict("rnn", config.to_dict()) == config
    assert make_config("window", 30, "some-new-preset", {}).context == SIZES["window"]["cpu-tiny"]["context"]
    assert type(build_model("lstm", make_config("lstm", 30, "cpu-tiny", {}))) is LSTMLM
    with pytest.raises(CourseError, match="unknown model 'gru'"):
        make_config("gru", 30, "cpu-tiny", {})


def test_sample_text_for_a_recurrent_model_is_seeded_and_greedy_is_argmax():
    tokenizer = build_tokenizer("char", "abcab cab")
    torch.manual_seed(0)
    model = build_model("rnn", make_config("rnn", tokenizer.vocab_size, "nano", {}))
    one = sample_text(model, tokenizer, "ab", 12, num_samples=2, seed=3, temperature=1.0)
    assert one == sample_text(model, tokenizer, "ab", 12, num_samples=2, seed=3, temperature=1.0)
    assert all(len(text) == 12 for text in one)
    greedy = sample_text(model, tokenizer, "ab", 4, do_sample=False)[0]
    ids = torch.tensor(tokenizer.encode("ab"))
    for _ in range(4):
        logits, _ = model(ids[None])
        ids = torch.cat([ids, logits[0, -1].argmax()[None]])
    assert greedy == tokenizer.decode(ids[2:].tolist())
