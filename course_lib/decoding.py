"""Turning a language model's next-token distribution into text: greedy, sampling, beam search.

One entry point, :func:`generate`:

- **greedy** (``do_sample=False``, or ``temperature=0``): always the most likely next token;
- **ancestral sampling** with a **temperature** (divide the logits by ``T``: ``T < 1`` sharpens, ``T > 1``
  flattens), optionally restricted to the **top-k** tokens (Fan et al. 2018) or to the smallest set whose
  probability reaches **top-p** (nucleus sampling, Holtzman et al. 2020), renormalised;
- **beam search** (``num_beams > 1``): keep the ``num_beams`` best partial sequences by total log-probability;
  finished hypotheses (ending in ``eos_id``) are ranked by ``sum log p / length ** length_penalty``.

A **KV cache** (``use_cache=True``) keeps every layer's keys and values, so each step runs the model on one
new token instead of the whole prefix; the tokens and logits are the same as without it. The model needs
the GPT interface: ``model(idx, kv_cache=cache) -> (logits, loss)``, ``model.make_cache()`` and
``model.config.block_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Set every logit below the ``k``-th largest of its row to -inf: ``(..., V) -> (..., V)``.

    Ties with the ``k``-th largest are kept.
    """
    k = min(k, logits.size(-1))
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Keep the smallest set of most likely tokens whose probability sums to at least ``p`` (nucleus);
    set the other logits to -inf: ``(..., V) -> (..., V)``. The most likely token is always kept."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    sorted_probs = torch.softmax(sorted_logits.float(), dim=-1)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # probability of the tokens ranked above
    remove_sorted = mass_before >= p  # the set already reached p without this token
    remove = remove_sorted.scatter(-1, order, remove_sorted)  # back to vocabulary order
    return logits.masked_fill(remove, float("-inf"))


def next_token_probs(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    """The sampling distribution ``(..., V)`` from next-token logits ``(..., V)``: temperature first, then
    top-k, then top-p on what is left (the order Hugging Face uses), renormalised by the softmax."""
    if temperature <= 0:
        raise ValueError(f"sampling needs temperature > 0 (use argmax for greedy), got {temperature}")
    logits = logits.float() / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.softmax(logits, dim=-1)


@dataclass
class Generation:
    """What :func:`generate` returns with ``return_scores=True`` (greedy and sampling).

    ``logprobs[b, t]`` is the model's log-probability (temperature 1, no filter) of the ``t``-th new token of row
    ``b`` and ``entropy[b, t]`` the entropy in nats of that next-token distribution: both describe the *model*,
    whatever temperature or filter chose the token. After a row's EOS both are 0 (those tokens are padding).
    """

    tokens: Tensor  # (B, T + n) the prompt and the new tokens
    logprobs: Tensor  # (B, n) float32
    entropy: Tensor  # (B, n) float32


def kv_cache_bytes(config, n_tokens: int, batch_size: int = 1, dtype: torch.dtype = torch.float32) -> int:
    """Memory of a full KV cache for ``batch_size`` sequences of ``n_tokens`` tokens, in bytes.

    Every layer keeps a key and a value vector of ``d_model`` numbers (all heads together) per token:
    ``2 · n_layers · d_model · bytes_per_number`` bytes per token, times tokens and batch. It grows linearly with
    the context, unlike the weights; at long contexts and large batches it, not the model, fills the memory.
    """
    if n_tokens < 0 or batch_size < 1:
        raise ValueError(f"need n_tokens >= 0 and batch_size >= 1, got {n_tokens}, {batch_size}")
    bytes_per_number = torch.empty((), dtype=dtype).element_size()
    return 2 * config.n_layers * config.d_model * bytes_per_number * n_tokens * batch_size


class _NextTokenLogits:
    """Runs the model to get the logits of the next token for every row of ``idx (N, T)``.

    With a cache, only the newest token is fed. Once the sequence outgrows ``block_size`` the context window
    slides: every position shifts and the cached keys are no longer those of the cropped window (the keys of
    deeper layers also saw tokens that have left the window), so no cache can be reused exactly. From then on
    each step recomputes the window without a cache, exactly what ``use_cache=False`` does, at the same cost.
    """

    def __init__(self, model: nn.Module, use_cache: bool) -> None:
        self.model, self.use_cache = model, use_cache
        self.block_size: int = model.config.block_size
        self.cache = None
        self.seen = 0  # length of idx that the cache reflects

    def __call__(self, idx: Tensor) -> Tensor:  # (N, T) -> (N, V)
        context = idx[:, -self.block_size :]
        if not self.use_cache or idx.size(1) > self.block_size:  # sliding window: recompute
            self.cache = None
            logits, _ = self.model(context)
        elif self.cache is not None and idx.size(1) == self.seen + 1:
            logits, _ = self.model(idx[:, -1:], kv_cache=self.cache)
        else:
            self.cache = self.model.make_cache()
            logits, _ = self.model(context, kv_cache=self.cache)
        self.seen = idx.size(1)
        return logits[:, -1, :]

    def reorder(self, rows: Tensor) -> None:
        """Beam search: row ``i`` continues from row ``rows[i]``."""
        for layer_cache in self.cache or []:
            layer_cache.reorder(rows)


def _check_arguments(model, idx, max_new_tokens, temperature, top_k, top_p, num_beams, eos_id) -> None:
    block_size = model.config.block_size
    if not isinstance(idx, Tensor) or idx.dim() != 2 or idx.dtype != torch.long or idx.size(1) == 0:
        raise ValueError("idx must be a non-empty LongTensor of token ids with shape (batch, time)")
    if idx.size(1) > block_size:
        raise ValueError(
            f"prompt has {idx.size(1)} tokens but the model's block_size is {block_size}; "
            f"crop it first, e.g. idx[:, -{block_size}:]"
        )
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 means greedy), got {temperature}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an int >= 1, got {top_k!r}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"num_beams must be an int >= 1, got {num_beams!r}")
    if num_beams > 1 and (top_k is not None or top_p is not None or temperature != 1.0):
        raise ValueError("beam search is deterministic: temperature, top_k and top_p apply only to sampling")
    vocab_size = getattr(model.config, "vocab_size", None)
    if eos_id is not None and not (0 <= eos_id and (vocab_size is None or eos_id < vocab_size)):
        raise ValueError(f"eos_id {eos_id} is not a token id of this model (vocab_size {vocab_size})")


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    do_sample: bool = True,
    num_beams: int = 1,
    length_penalty: float = 1.0,
    eos_id: int | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    return_scores: bool = False,
) -> Tensor | Generation:
    """Continue each prompt in ``idx (B, T)`` by up to ``max_new_tokens`` tokens; returns ``(B, T + n)``.

    ``do_sample=False`` or ``temperature=0`` decodes greedily; ``num_beams > 1`` runs beam search. With
    ``eos_id``, a row stops at its end-of-sequence token (later positions are filled with ``eos_id``) and
    generation ends early once every row has stopped. ``generator`` makes sampling reproducible. The model
    is put in eval mode for the call (dropout would make the cache and no-cache paths differ).
    ``return_scores=True`` (greedy and sampling) returns a :class:`Generation` with each new token's
    log-probability and the entropy of each step's distribution.
    """
    _check_arguments(model, idx, max_new_tokens, temperature, top_k, top_p, num_beams, eos_id)
    if return_scores and num_beams > 1:
        raise ValueError("return_scores is for greedy decoding and sampling; beam search returns tokens only")
    if max_new_tokens == 0:
        empty = idx.new_zeros(idx.size(0), 0, dtype=torch.float32)
        return Generation(idx, empty, empty.clone()) if return_scores else idx
    was_training = model.training
    model.eval()
    try:
        next_logits = _NextTokenLogits(model, use_cache)
        if num_beams > 1:
            return _beam_search(next_logits, idx, max_new_tokens, num_beams, length_penalty, eos_id)
        greedy = not do_sample or temperature == 0
        tokens, logprobs, entropy = _sample(
            next_logits, idx, max_new_tokens, greedy, temperature, top_k, top_p, eos_id, generator
        )
        return Generation(tokens, logprobs, entropy) if return_scores else tokens
    finally:
        model.train(was_training)


def _sample(next_logits, idx, max_new_tokens, greedy, temperature, top_k, top_p, eos_id, generator):
    """Greedy or ancestral sampling: ``(tokens (B, T + n), logprobs (B, n), entropy (B, n))``."""
    finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    logprobs, entropies = [], []
    for _ in range(max_new_tokens):
        logits = next_logits(idx)  # (B, V)
        if greedy:
            next_id = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        else:
            probs = next_token_probs(logits, temperature, top_k, top_p)
            next_id = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
        model_logprobs = F.log_softmax(logits.float(), dim=-1)  # the model's own distribution, for the scores
        entropy = -(model_logprobs.exp() * model_logprobs).nan_to_num().sum(dim=-1)  # 0 · log 0 counts as 0
        logprob = model_logprobs.gather(-1, next_id)[:, 0]
        if eos_id is not None:
            next_id = next_id.masked_fill(finished[:, None], eos_id)  # stopped rows only pad
            logprob, entropy = logprob.masked_fill(finished, 0.0), entropy.masked_fill(finished, 0.0)
            finished |= next_id[:, 0] == eos_id
        idx = torch.cat([idx, next_id], dim=1)
        logprobs.append(logprob)
        entropies.append(entropy)
        if finished.all():
            break
    return idx, torch.stack(logprobs, dim=1), torch.stack(entropies, dim=1)


def _beam_search(next_logits, idx, max_new_tokens, num_beams, length_penalty, eos_id) -> Tensor:
    """Beam search, batched over prompts: ``(B, T) -> (B, T + n)``, the best hypothesis of each prompt."""
    B, T = idx.shape
    K = num_beams
    seqs = idx.repeat_interleave(K, dim=0)  # (B*K, T): K beams per prompt
    beam_scores = torch.zeros(B, K, device=idx.device)  # total log-probability of each beam
    beam_scores[:, 1:] = float("-inf")  # all beams start equal: expand only the first at step one
    finished: list[list[tuple[float, Tensor]]] = [[] for _ in range(B)]  # (normalised score, tokens)
    done = [False] * B

    def normalised(total_logprob: float, length: int) -> float:
        return total_logprob / length**length_penalty

    for step in range(max_new_tokens):
        logprobs = F.log_softmax(next_logits(seqs).float(), dim=-1)  # (B*K, V)
        V = logprobs.size(-1)
        candidates = (beam_scores.view(-1, 1) + logprobs).view(B, K * V)
        # 2K candidates guarantee K that do not end, even if K of them are EOS
        top_scores, top_flat = candidates.topk(2 * K, dim=1)  # (B, 2K)
        new_rows, new_tokens, new_scores = [], [], []
        for b in range(B):
            chosen: list[tuple[int, int, float]] = []  # (source beam row, token, score)
            for rank in range(2 * K):
                score, flat = top_scores[b, rank].item(), top_flat[b, rank].item()
                beam, token = divmod(flat, V)
                row = b * K + beam
                if eos_id is not None and token == eos_id:
                    if rank < K and not done[b]:  # an EOS among the K best ends a hypothesis
                        tokens = torch.cat([seqs[row], seqs.new_tensor([token])])
                        finished[b].append((normalised(score, step + 1), tokens))
                    continue
                chosen.append((row, token, score))
                if len(chosen) == K:
                    break
            for row, token, score in chosen:
                new_rows.append(row)
                new_tokens.append(token)
                new_scores.append(score)
            if not done[b] and len(finished[b]) >= K:
                # stop when the best running beam, at its current length, cannot beat the worst kept one
                finished[b] = sorted(finished[b], key=lambda h: h[0], reverse=True)[:K]
                done[b] = finished[b][-1][0] >= normalised(chosen[0][2], step + 1)
        rows = torch.tensor(new_rows, device=idx.device)
        seqs = torch.cat([seqs[rows], torch.tensor(new_tokens, device=idx.device)[:, None]], dim=1)
        next_logits.reorder(rows)
        beam_scores = torch.tensor(new_scores, device=idx.device).view(B, K)
        if all(done):
            break

    best = []
    n_new = seqs.size(1) - T
    for b in range(B):
        hypotheses = list(finished[b])
        if not done[b]:  # ran out of steps: the running beams compete too
            hypotheses += [(normalised(beam_scores[b, j].item(), n_new), seqs[b * K + j]) for j in range(K)]
        best.append(max(hypotheses, key=lambda h: h[0])[1])
    length = max(len(tokens) for tokens in best)
    pad = eos_id if eos_id is not None else 0  # only EOS-ended hypotheses are shorter
    return torch.stack([F.pad(tokens, (0, length - len(tokens)), value=pad) for tokens in best])


@torch.no_grad()
def search(
    next_logits,
    idx: Tensor,
    max_new_tokens: int,
    *,
    num_beams: int = 1,
    length_penalty: float = 1.0,
    eos_id: int | None = None,
) -> Tensor:
    """Greedy (``num_beams=1``) or beam search for any model, wrapped as ``next_logits``: ``(B, T) -> (B, T + n)``.

    ``next_logits(idx (N, T)) -> (N, V)`` gives the next-token logits of each row, and ``next_logits.reorder(rows)``
    tells it that row ``i`` continues from row ``rows[i]`` (beam search; rows are ``B * num_beams`` beams,
    ``num_beams`` per prompt, from the first call on). Each call appends exactly one token to every row, so a
    wrapper may keep incremental state (an RNN's hidden state, a KV cache). :func:`generate` is this search for
    GPT-style models; ``course_lib.models.seq2seq`` wraps encoder-decoders.
    """
    if num_beams > 1:
        return _beam_search(next_logits, idx, max_new_tokens, num_beams, length_penalty, eos_id)
    return _sample(next_logits, idx, max_new_tokens, True, 1.0, None, None, eos_id, None)[0]  # tokens only
