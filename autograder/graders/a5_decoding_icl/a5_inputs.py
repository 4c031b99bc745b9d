"""Inputs drawn at grading time and float64 oracles for the A5 graders.

The model is the notebook's attention-only GPT (plain tensors in a dict). Its oracle forward pass here uses
PyTorch's own ``scaled_dot_product_attention`` (an independent implementation of causal attention) and never a
cache, so "cache equals recomputation" is checked against a path the student's code does not share.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F


def random_params(
    g: torch.Generator,
    vocab_size: int = 5,
    d_model: int = 12,
    n_heads: int = 3,
    n_layers: int = 2,
    max_len: int = 24,
) -> dict:
    """A random attention-only GPT in float64; heads of size d_model // n_heads (shapes chosen so axes differ)."""

    def weight(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    return {
        "wte": weight(vocab_size, d_model),
        "wpe": weight(max_len, d_model, scale=0.7),
        "n_heads": n_heads,
        "layers": [
            {"w_qkv": weight(d_model, 3 * d_model, scale=d_model**-0.5), "w_o": weight(d_model, d_model, scale=0.7)}
            for _ in range(n_layers)
        ],
    }


def _heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:  # (B, T, C) -> (B, H, T, C/H)
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)


def reference_forward(params: dict, idx: torch.Tensor, return_kv: bool = False):
    """``idx (B, T)`` -> logits ``(B, T, V)`` by recomputation (and each layer's ``(k, v)`` on request)."""
    B, T = idx.shape
    C = params["wte"].size(1)
    x = params["wte"][idx] + params["wpe"][:T]
    kv = []
    for layer in params["layers"]:
        q, k, v = (_heads(t, params["n_heads"]) for t in (x @ layer["w_qkv"]).split(C, dim=-1))
        kv.append((k, v))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + out.transpose(1, 2).reshape(B, T, C) @ layer["w_o"]
    logits = x @ params["wte"].T
    return (logits, kv) if return_kv else logits


def next_logprobs(params: dict, sequences: list[list[int]]) -> torch.Tensor:
    """Log-probabilities of the next token after each (equal-length) sequence: ``(n, V)`` float64."""
    logits = reference_forward(params, torch.tensor(sequences, dtype=torch.long))
    return torch.log_softmax(logits[:, -1], dim=-1)


def reference_greedy(params: dict, prompt: list[int], max_new_tokens: int, eos_id: int) -> list[int]:
    new: list[int] = []
    for _ in range(max_new_tokens):
        token = int(next_logprobs(params, [prompt + new])[0].argmax())
        new.append(token)
        if token == eos_id:
            break
    return new


def reference_beam_search(
    params: dict, prompt: list[int], beam_size: int, max_new_tokens: int, eos_id: int, length_penalty: float
) -> list[int]:
    """The assignment's rules, without a cache: every step recomputes each beam from its tokens."""
    beams, totals, finished = [[]], [0.0], []
    for _ in range(max_new_tokens):
        logprobs = next_logprobs(params, [prompt + b for b in beams])
        candidates = [
            (totals[i] + logprobs[i, t].item(), i, t) for i in range(len(beams)) for t in range(logprobs.size(1))
        ]
        candidates.sort(key=lambda c: -c[0])
        new_beams, new_totals = [], []
        for total, i, t in candidates[:beam_size]:
            hypothesis = beams[i] + [t]
            if t == eos_id:
                finished.append((total / len(hypothesis) ** length_penalty, hypothesis))
            else:
                new_beams.append(hypothesis)
                new_totals.append(total)
        beams, totals = new_beams, new_totals
        if len(finished) >= beam_size or not beams:
            break
    hypotheses = finished + [(total / len(b) ** length_penalty, b) for total, b in zip(totals, beams)]
    return max(hypotheses, key=lambda h: h[0])[1]


def exhaustive_best(
    params: dict, prompt: list[int], max_new_tokens: int, eos_id: int, length_penalty: float, eos_counts: bool = True
):
    """Brute force over every hypothesis a beam can end with: sequences that end at their first EOS within
    ``max_new_tokens`` tokens, and EOS-free sequences of exactly ``max_new_tokens``. Returns (best, margin): the
    best hypothesis and its score's lead over the runner-up (tiny margins make the comparison meaningless).
    ``eos_counts=False`` scores with the EOS left out of the length (a common mistake; used to pick models on
    which the mistake changes the answer)."""
    V = params["wte"].size(0)
    sequences = [list(s) for s in itertools.product(range(V), repeat=max_new_tokens)]
    logits = reference_forward(params, torch.tensor([prompt + s for s in sequences], dtype=torch.long))
    logprobs = torch.log_softmax(logits[:, len(prompt) - 1 : -1], dim=-1)  # position of each new token
    chosen = logprobs.gather(-1, torch.tensor(sequences)[..., None])[..., 0].cumsum(dim=1)  # (n, max_new)
    scores: dict[tuple[int, ...], float] = {}
    for row, sequence in enumerate(sequences):
        end = sequence.index(eos_id) + 1 if eos_id in sequence else max_new_tokens
        length = end if eos_counts or eos_id not in sequence else max(1, end - 1)
        scores[tuple(sequence[:end])] = chosen[row, end - 1].item() / length**length_penalty
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    return list(ranked[0][0]), ranked[0][1] - ranked[1][1]
