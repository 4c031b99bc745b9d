"""GPT-2 compatibility: a randomly initialised Hugging Face GPT2LMHeadModel (the oracle; nothing is downloaded)
copied into course_lib's GPT gives the same logits in float64 and the same greedy continuations."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from course_lib.decoding import generate
from course_lib.errors import CourseError
from course_lib.models.gpt2_weights import convert_hf_gpt2_state_dict, gpt_from_hf_gpt2

transformers = pytest.importorskip("transformers")  # a dev dependency (pyproject [dev]); pinned
pytestmark = pytest.mark.slow  # importing transformers takes ~10 s on a busy 2-core machine


def _hf_gpt2(seed: int = 0, **sizes) -> torch.nn.Module:
    config = transformers.GPT2Config(
        vocab_size=sizes.get("vocab_size", 101),
        n_positions=sizes.get("n_positions", 40),
        n_embd=sizes.get("n_embd", 48),
        n_layer=sizes.get("n_layer", 3),
        n_head=sizes.get("n_head", 4),
        activation_function="gelu_new",  # GPT-2's tanh GELU
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(config)
    model.config._attn_implementation = "eager"  # the plain softmax(QKᵀ/√d)V path, independent of ours
    # Random biases and norm gains too (GPT-2 initialises them to 0 and 1, which would hide a mix-up).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.normal_(0.0, 0.5)
    return model.double().eval()


@pytest.mark.parametrize("impl", ["fast", "math"])
def test_logits_equal_hf_in_float64(impl: str):
    hf = _hf_gpt2()
    ours = gpt_from_hf_gpt2(hf.state_dict(), n_heads=4, impl=impl)
    assert ours.config.ffn == "gelu_tanh" and ours.config.n_layers == 3 and ours.config.block_size == 40
    idx = torch.randint(0, 101, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = hf(idx).logits
        got, _ = ours(idx)
    assert got.dtype == torch.float64
    assert torch.allclose(got, want, rtol=0, atol=1e-9), (got - want).abs().max()


def test_greedy_generations_equal_hf():
    hf = _hf_gpt2(seed=3)
    ours = gpt_from_hf_gpt2(hf.state_dict(), n_heads=4)
    prompt = torch.randint(0, 101, (2, 5), generator=torch.Generator().manual_seed(2))
    want = hf.generate(
        prompt, max_new_tokens=20, do_sample=False, pad_token_id=0, attention_mask=torch.ones_like(prompt)
    )
    got = generate(ours, prompt, 20, do_sample=False)
    assert torch.equal(got, want)


def test_loads_a_save_pretrained_directory_and_its_safetensors_file(tmp_path: Path):
    hf = _hf_gpt2(seed=5, n_head=6, n_embd=48)  # 6 heads of 8: not d_model / 64, so config.json must be read
    hf.save_pretrained(tmp_path)
    idx = torch.randint(0, 101, (2, 17), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = hf(idx).logits
    for source in (tmp_path, tmp_path / "model.safetensors"):
        ours = gpt_from_hf_gpt2(source)
        assert ours.config.n_heads == 6
        with torch.no_grad():
            assert torch.allclose(ours(idx)[0], want, rtol=0, atol=1e-9)


def test_conversion_transposes_conv1d_and_splits_qkv():
    hf = _hf_gpt2()
    sd = hf.state_dict()
    ours = convert_hf_gpt2_state_dict(sd)
    c_attn = sd["transformer.h.1.attn.c_attn.weight"]  # (in=48, out=3·48)
    assert torch.equal(ours["blocks.1.attn.k_proj.weight"], c_attn[:, 48:96].t())
    assert torch.equal(ours["blocks.1.ffn.up_proj.weight"], sd["transformer.h.1.mlp.c_fc.weight"].t())
    with pytest.raises(CourseError, match="unexpected tensor"):
        convert_hf_gpt2_state_dict({"transformer.h.0.foo.weight": torch.zeros(1)})
    with pytest.raises(CourseError, match="no GPT-2 weights"):
        gpt_from_hf_gpt2(Path("/nonexistent/model.safetensors"))
