"""The ``llmcourse train gpt`` / ``generate`` path end to end, on the embedded pydocs corpus and a micro preset."""

import json

import pytest
import torch

from course_lib import cli
from course_lib.errors import CourseError
from course_lib.tokenizers.registry import build_tokenizer, tokenizer_from_state, tokenizer_to_state
from course_lib.training import presets
from course_lib.training.config import TrainConfig
from course_lib.training.gpt_run import load_gpt, prepare_gpt_run, sample_text
from course_lib.training.presets import PRESETS, Preset, train_config_for

MICRO = Preset(
    name="micro",
    device_type="cpu",
    description="test-sized",
    model=dict(block_size=16, n_layers=1, n_heads=2, d_model=16, dropout=0.1),
    train=TrainConfig(
        max_steps=6,
        batch_size=4,
        block_size=16,
        grad_accum_steps=2,
        warmup_steps=2,
        eval_interval=3,
        eval_batches=2,
        log_interval=1,
        sample_tokens=8,
    ),
)


@pytest.fixture(autouse=True)
def micro_preset(monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "micro", MICRO)


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_gpt_resume_is_bit_identical(tmp_path):
    straight = prepare_gpt_run(corpus="pydocs", preset="micro", out=tmp_path / "a", progress=False)
    straight.fit()
    first = prepare_gpt_run(corpus="pydocs", preset="micro", out=tmp_path / "b", progress=False)
    first.fit(until_step=4)
    torch.manual_seed(123)
    resumed = prepare_gpt_run(out=tmp_path / "b", resume=True, progress=False)
    assert resumed.step == 4
    resumed.fit()
    assert resumed.losses == straight.losses
    for (name, p), q in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_train_resume_and_generate_through_the_cli(tmp_path, capsys):
    out = str(tmp_path / "run")
    code, stdout, _ = run_cli(
        capsys, "train", "gpt", "--corpus", "pydocs", "--preset", "micro", "--steps", "4", "--out", out, "--no-progress"
    )
    assert code == 0 and "val loss" in stdout
    code, stdout, _ = run_cli(capsys, "train", "gpt", "--out", out, "--resume", "--steps", "5", "--no-progress")
    assert code == 0 and "step 4 of 5" in stdout
    records = [json.loads(line) for line in open(f"{out}/metrics.jsonl")]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert all({"step", "train_loss", "lr", "tokens_per_s"} <= r.keys() for r in records)
    assert "val_loss" in records[2] and "val_loss" in records[4]  # eval_interval 3 and the final step

    code, stdout, _ = run_cli(
        capsys,
        "generate",
        "--checkpoint",
        out,
        "--prompt",
        "The ",
        "--max-new-tokens",
        "12",
        "--greedy",
        "--num-samples",
        "2",
    )
    first, second = stdout.split("\n" + "-" * 40 + "\n")
    assert code == 0 and first.startswith("The ") and first.strip() == second.strip()  # greedy: identical


def test_generate_options_match_the_decoding_library(tmp_path):
    trainer = prepare_gpt_run(corpus="pydocs", preset="micro", steps=2, out=tmp_path, progress=False)
    trainer.fit()
    model, tok = load_gpt(tmp_path)
    assert not model.training
    prompt = "def "
    greedy = sample_text(model, tok, prompt, 10, do_sample=False)[0]
    beam1 = sample_text(model, tok, prompt, 10, num_beams=1, do_sample=False)[0]
    sampled = sample_text(model, tok, prompt, 10, seed=3, temperature=0.7, top_k=5)
    assert greedy == beam1 and len(greedy) == 10
    assert sampled == sample_text(model, tok, prompt, 10, seed=3, temperature=0.7, top_k=5)  # seeded
    # oracle: argmax of the model's own logits, one token at a time without the cache
    ids = torch.tensor([tok.encode(prompt)])
    for _ in range(10):
        ids = torch.cat([ids, model(ids)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert tok.decode(ids[0, len(prompt) :].tolist()) == greedy
    with pytest.raises(CourseError, match="beam search"):
        sample_text(model, tok, prompt, 5, num_beams=2, top_k=3)
    with pytest.raises(CourseError, match="not in the vocabulary"):
        sample_text(model, tok, "\u2603", 5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "gpt", "--corpus", "no-such-corpus"], "unknown dataset 'no-such-corpus'"),
        (["train", "gpt", "--corpus", "pydocs", "--preset", "huge"], "unknown preset 'huge'"),
        (["train", "gpt", "--corpus", "pydocs", "--tokenizer", "bpe9"], "unknown tokenizer 'bpe9'"),
        (["train", "gpt", "--resume"], "--resume needs --out"),
        (["train", "gpt", "--corpus", "pydocs", "--preset", "micro", "--steps", "0"], "--steps must be at least 1"),
        (["generate", "--checkpoint", "{tmp}/missing"], "does not exist"),
        (["generate", "--checkpoint", "{tmp}"], "no checkpoint"),
        (["train", "gpt", "--out", "{tmp}", "--resume"], "nothing to resume"),
    ],
)
def test_bad_input_is_one_clear_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default run dirs land in the temp dir
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_existing_run_needs_resume_and_finished_run_needs_more_steps(tmp_path, capsys):
    prepare_gpt_run(corpus="pydocs", preset="micro", steps=2, out=tmp_path, progress=False).fit()
    code, _, err = run_cli(capsys, "train", "gpt", "--corpus", "pydocs", "--preset", "micro", "--out", str(tmp_path))
    assert code == 2 and "already holds a checkpoint" in err
    code, _, err = run_cli(capsys, "train", "gpt", "--out", str(tmp_path), "--resume")
    assert code == 2 and "already finished 2 steps" in err
    code, _, err = run_cli(capsys, "train", "gpt", "--out", str(tmp_path), "--resume", "--corpus", "tinyshakespeare")
    assert code == 2 and "does not match" in err


def test_preset_on_the_wrong_device_warns():
    with pytest.warns(UserWarning, match="sized for cuda"):
        train_config_for(PRESETS["gpu-small"], torch.device("cpu"))
    config = train_config_for(PRESETS["cpu-tiny"], torch.device("cpu"), steps=7, seed=5)
    assert config.max_steps == 7 and config.seed == 5 and config.warmup_steps <= 7


def test_presets_build_valid_models():
    from course_lib.models.gpt import GPTConfig

    for preset in (p for p in PRESETS.values() if p.kind == "gpt"):  # the others: test_neural_lm_runs.py
        config = GPTConfig(vocab_size=65, **preset.model)
        assert preset.train.block_size <= config.block_size


def test_tokenizer_survives_the_checkpoint_format():
    text = "To be, or not to be:\nthat is the question."
    tok = build_tokenizer("char", text)
    again = tokenizer_from_state(tokenizer_to_state(tok))
    assert again.vocab_size == len(set(text)) and again.encode(text) == tok.encode(text)
    assert again.decode(again.encode(text)) == text


@pytest.mark.gpu
def test_gpu_run_with_bf16_autocast_and_compile(tmp_path):
    trainer = prepare_gpt_run(
        corpus="pydocs", preset="micro", out=tmp_path, device="cuda", compile=True, progress=False
    )
    trainer.fit(until_step=3)
    resumed = prepare_gpt_run(out=tmp_path, resume=True, device="cuda", progress=False)
    resumed.fit()
    assert resumed.step == MICRO.train.max_steps and all(torch.isfinite(torch.tensor(resumed.losses)))
    assert resumed.evals[-1]["val_loss"] < resumed.losses[0]


def test_train_from_a_prepared_dataset_sees_the_in_memory_batches(tmp_path, capsys):
    code, stdout, _ = run_cli(capsys, "prepare", "--corpus", "pydocs", "--out", str(tmp_path / "ds"), "--no-progress")
    assert code == 0 and "uint16" in stdout
    mapped = prepare_gpt_run(data=tmp_path / "ds", preset="micro", out=tmp_path / "a", progress=False)
    in_memory = prepare_gpt_run(corpus="pydocs", preset="micro", progress=False)
    for step, slot in ((0, 0), (3, 1)):
        for got, want in zip(mapped.batch(step, slot), in_memory.batch(step, slot), strict=True):
            assert torch.equal(got, want)
    mapped.fit(until_step=3)
    resumed = prepare_gpt_run(out=tmp_path / "a", resume=True, progress=False)
    resumed.fit()
    straight = prepare_gpt_run(corpus="pydocs", preset="micro", progress=False)  # (re)seeds the global RNG
    straight.fit()
    assert resumed.losses == straight.losses  # a char dataset holds exactly the in-memory tokens
    code, _, err = run_cli(capsys, "train", "gpt", "--data", str(tmp_path / "ds"), "--tokenizer", "bpe")
    assert code == 2 and "--data comes with its own" in err


def test_generate_flags(tmp_path, capsys):
    prepare_gpt_run(corpus="pydocs", preset="micro", steps=2, out=tmp_path, progress=False).fit()
    capsys.readouterr()
    base = ["generate", "--prompt", "The ", "--max-new-tokens", "5"]
    code, from_dir, _ = run_cli(capsys, *base, "--checkpoint", str(tmp_path), "--greedy")
    code2, from_file, _ = run_cli(capsys, *base, "--checkpoint", str(tmp_path / "checkpoint.pt"), "--greedy")
    assert code == code2 == 0 and from_dir == from_file
    for extra, message in (
        (["--num-samples", "0"], "--num-samples must be at least 1"),
        (["--greedy", "--top-k", "3"], "--greedy always takes the most likely token: drop --top-k"),
        (["--greedy", "--temperature", "0.5", "--top-p", "0.9"], "drop --temperature, --top-p"),
        (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
        (["--num-beams", "2", "--top-k", "4"], "beam search is deterministic: --temperature, --top-k and --top-p"),
    ):
        code, _, err = run_cli(capsys, *base, "--checkpoint", str(tmp_path), *extra)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_train_help_states_cpu_tiny_time_as_the_readme_does(capsys):
    from pathlib import Path

    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    description = PRESETS["cpu-tiny"].description
    assert description in help_text
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert description in readme


def test_grad_accum_steps_flag_and_rank_divisibility(tmp_path):
    from course_lib.training.distributed import DistContext

    trainer = prepare_gpt_run(corpus="pydocs", preset="micro", grad_accum_steps=3, progress=False)
    assert trainer.config.grad_accum_steps == 3 and trainer.config.tokens_per_step == 3 * 4 * 16
    with pytest.raises(CourseError, match="pass --grad-accum-steps with a multiple of 2"):
        prepare_gpt_run(corpus="pydocs", preset="micro", grad_accum_steps=3, dist=DistContext(0, 0, 2))
    with pytest.raises(CourseError, match="--grad-accum-steps must be at least 1"):
        prepare_gpt_run(corpus="pydocs", preset="micro", grad_accum_steps=0)
