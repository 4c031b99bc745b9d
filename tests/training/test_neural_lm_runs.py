"""`llmcourse train window|rnn|lstm` and `generate`: one trainer, checkpoints and resume for lecture 4's models."""

import pytest
import torch

from course_lib import cli
from course_lib.models.neural_lm import LSTMLM, RNNLM, WindowLM
from course_lib.tokenizers.registry import build_tokenizer
from course_lib.training import presets
from course_lib.training.config import TrainConfig
from course_lib.training.gpt_run import load_model, prepare_run, sample_text
from course_lib.training.models import get_model_kind
from course_lib.training.presets import PRESETS, Preset

SIZES = {"window": dict(context=3, d_embed=4, d_hidden=8), "rnn": dict(d_embed=4, d_hidden=8, n_layers=1)}
SIZES["lstm"] = SIZES["rnn"]
NANO = {
    kind: Preset(
        name=f"nano-{kind}",
        device_type="cpu",
        description="test-sized",
        model=sizes,
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
        kind=kind,
    )
    for kind, sizes in SIZES.items()
}


@pytest.fixture(autouse=True)
def nano_presets(monkeypatch):
    for preset in NANO.values():
        monkeypatch.setitem(presets.PRESETS, preset.name, preset)


@pytest.mark.slow
@pytest.mark.parametrize("kind, cls", [("window", WindowLM), ("rnn", RNNLM), ("lstm", LSTMLM)])
def test_train_resume_and_generate_through_the_cli(tmp_path, capsys, kind, cls):
    out = tmp_path / kind
    fresh = ["--corpus", "pydocs", "--preset", f"nano-{kind}", "--steps", "2", "--out", str(out), "--no-progress"]
    assert cli.main(["train", kind, *fresh]) == 0
    capsys.readouterr()
    resume = ["--steps", "4", "--out", str(out), "--resume", "--no-progress"]
    assert cli.main(["train", kind, *resume]) == 0
    capsys.readouterr()
    model, _ = load_model(out)
    assert type(model) is cls and not model.training
    assert cli.main(["generate", "--checkpoint", str(out), "--prompt", "The ", "--max-new-tokens", "7"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("The ") and len(printed.rstrip("\n")) >= len("The ") + 1


@pytest.mark.slow
def test_lstm_resume_is_bit_identical(tmp_path):
    options = dict(model="lstm", corpus="pydocs", preset="nano-lstm", progress=False)
    straight = prepare_run(out=tmp_path / "a", **options)
    straight.fit()
    first = prepare_run(out=tmp_path / "b", **options)
    first.fit(until_step=2)
    resumed = prepare_run(model="lstm", out=tmp_path / "b", resume=True, progress=False)
    resumed.fit()
    assert resumed.losses == straight.losses


def test_every_neural_lm_has_a_cpu_preset_that_builds():
    for kind, cls in (("window", WindowLM), ("rnn", RNNLM), ("lstm", LSTMLM)):
        preset = PRESETS[f"{kind}-cpu"]
        assert preset.kind == kind and preset.device_type == "cpu"
        model = get_model_kind(kind).build(get_model_kind(kind).make_config(30, preset.model))
        assert type(model) is cls
        logits, loss = model(torch.zeros(2, 5, dtype=torch.long), torch.zeros(2, 5, dtype=torch.long))
        assert logits.shape == (2, 5, 30) and loss.ndim == 0


@pytest.mark.parametrize("kind", ["rnn", "window"])
def test_sample_text_is_seeded_and_greedy_is_the_argmax_path(kind):
    tokenizer = build_tokenizer("char", "abcab cab")
    torch.manual_seed(0)
    model = get_model_kind(kind).build(get_model_kind(kind).make_config(tokenizer.vocab_size, SIZES[kind]))
    one = sample_text(model, tokenizer, "ab", 12, num_samples=2, seed=3, temperature=1.0)
    assert one == sample_text(model, tokenizer, "ab", 12, num_samples=2, seed=3, temperature=1.0)
    assert all(len(text) == 12 for text in one)
    greedy = sample_text(model, tokenizer, "ab", 4, do_sample=False)[0]
    ids = torch.tensor(tokenizer.encode("ab"))
    for _ in range(4):
        logits, _ = model(ids[None])
        ids = torch.cat([ids, logits[0, -1].argmax()[None]])
    assert greedy == tokenizer.decode(ids[2:].tolist())
