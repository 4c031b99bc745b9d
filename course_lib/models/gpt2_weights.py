"""Load OpenAI GPT-2 weights in Hugging Face's layout into :class:`course_lib.models.gpt.GPT`.

Hugging Face's ``GPT2LMHeadModel`` names and shapes differ from ours in three ways:

- names: ``transformer.h.3.attn.c_proj`` is our ``blocks.3.attn.out_proj`` (table :data:`RENAMES`);
- fused query/key/value: ``attn.c_attn`` holds ``[W_q | W_k | W_v]`` side by side; we keep three projections;
- ``Conv1D``: GPT-2's linear layers store ``weight`` as ``(in_features, out_features)``, the transpose of
  ``nn.Linear``'s ``(out, in)``, so every ``c_attn``, ``c_proj`` and ``c_fc`` weight is transposed.

GPT-2 uses learned positions, LayerNorm with biases (eps 1e-5), the tanh approximation of GELU and an
``lm_head`` tied to the token embedding, i.e. ``GPTConfig(pos="learned", norm="layernorm", bias=True,
ffn="gelu_tanh", tie_weights=True)``. The real checkpoints (``gpt2`` ... ``gpt2-xl``) are not downloaded here:
:func:`gpt_from_hf_gpt2` takes a ``model.safetensors`` file, the directory holding it (whose ``config.json``
gives the number of heads), or an in-memory ``state_dict``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor

from course_lib.errors import CourseError
from course_lib.models.gpt import GPT, GPTConfig

# Hugging Face name (after "transformer." and "h.{i}." are removed) -> ours (after "blocks.{i}.").
RENAMES = {
    "ln_1": "norm1",
    "attn.c_proj": "attn.out_proj",
    "ln_2": "norm2",
    "mlp.c_fc": "ffn.up_proj",
    "mlp.c_proj": "ffn.down_proj",
}
CONV1D = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")  # weights stored (in, out)
_LAYER = re.compile(r"h\.(\d+)\.(.+)\.(weight|bias)")


def read_state_dict(source: str | os.PathLike | Mapping[str, Tensor]) -> tuple[dict[str, Tensor], dict]:
    """``(state_dict, hf_config)`` from a dict, a ``.safetensors`` file, or a directory holding
    ``model.safetensors`` (and usually ``config.json``); ``hf_config`` is ``{}`` when there is none."""
    if isinstance(source, Mapping):
        return dict(source), {}
    path = Path(source)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise CourseError(f"no GPT-2 weights at {str(path)!r} (expected a model.safetensors file)")
    from safetensors.torch import load_file

    config_path = path.parent / "config.json"
    hf_config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    return load_file(str(path)), hf_config


def convert_hf_gpt2_state_dict(hf: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename, split and transpose a Hugging Face GPT-2 ``state_dict`` into :class:`GPT`'s names."""
    out: dict[str, Tensor] = {}
    for name, tensor in hf.items():
        name = name.removeprefix("transformer.")
        if name.endswith((".attn.bias", ".attn.masked_bias")):  # old versions saved the causal mask buffer
            continue
        if name == "lm_head.weight":  # tied to wte; GPT ties it too
            continue
        if name in ("wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"):
            ours = {"wte": "tok_emb", "wpe": "pos_emb", "ln_f": "norm_f"}[name.split(".")[0]]
            out[f"{ours}.{name.split('.')[1]}"] = tensor
            continue
        match = _LAYER.fullmatch(name)
        if match is None:
            raise CourseError(f"unexpected tensor {name!r} in a GPT-2 state_dict")
        layer, module, kind = match.groups()
        if module in CONV1D and kind == "weight":
            tensor = tensor.t()
        prefix = f"blocks.{layer}."
        if module == "attn.c_attn":  # (3·d,) or (3·d, d) after the transpose: q, k, v stacked
            for part, chunk in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0), strict=True):
                out[f"{prefix}attn.{part}.{kind}"] = chunk.contiguous()
        elif module in RENAMES:
            out[f"{prefix}{RENAMES[module]}.{kind}"] = tensor.contiguous()
        else:
            raise CourseError(f"unexpected tensor {name!r} in a GPT-2 state_dict")
    return out


def gpt2_config(state_dict: Mapping[str, Tensor], hf_config: Mapping | None = None) -> GPTConfig:
    """The :class:`GPTConfig` of converted GPT-2 weights. Sizes come from the tensors; the number of heads
    from ``hf_config["n_head"]`` when given, else ``d_model / 64`` (true of every OpenAI GPT-2 size)."""
    vocab_size, d_model = state_dict["tok_emb.weight"].shape
    n_layers = 1 + max(int(name.split(".")[1]) for name in state_dict if name.startswith("blocks."))
    n_heads = (hf_config or {}).get("n_head") or max(1, d_model // 64)
    return GPTConfig(
        vocab_size=vocab_size,
        block_size=state_dict["pos_emb.weight"].shape[0],
        n_layers=n_layers,
        n_heads=n_heads,
        d_model=d_model,
        dropout=0.0,
        bias=True,
        pos="learned",
        norm="layernorm",
        ffn="gelu_tanh",
        tie_weights=True,
    )


def gpt_from_hf_gpt2(
    source: str | os.PathLike | Mapping[str, Tensor], *, n_heads: int | None = None, impl: str = "fast"
) -> GPT:
    """A :class:`GPT` holding Hugging Face GPT-2 weights (in their dtype), in eval mode.

    ``source``: a ``state_dict`` (e.g. ``GPT2LMHeadModel.state_dict()``), a ``model.safetensors`` file or its
    directory. ``n_heads`` overrides the head count when there is no ``config.json``.
    """
    hf, hf_config = read_state_dict(source)
    state = convert_hf_gpt2_state_dict(hf)
    if n_heads is not None:
        hf_config = {**hf_config, "n_head": n_heads}
    config = gpt2_config(state, hf_config)
    model = GPT(config, impl=impl).to(state["tok_emb.weight"].dtype)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [name for name in missing if name != "lm_head.weight"]  # tied: filled by tok_emb.weight
    if missing or unexpected:
        raise CourseError(f"GPT-2 weights do not fit: missing {missing}, unexpected {unexpected}")
    return model.eval()
