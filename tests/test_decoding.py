"""Decoding: cache = recomputation, beam search vs exhaustive search, filtered distributions vs float64."""

import itertools
import math
from types import SimpleNamespace

import pytest
import torch

from course_lib.decoding import _NextTokenLogits, generate, next_token_probs, search, top_k_filter, top_p_filter
from course_lib.models.gpt import GPT, GPTConfig

POS_TYPES = ["learned", "sinusoidal", "rope"]


def gpt(pos="learned", block_size=16, seed=0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=23, block_size=block_size, n_layers=2, n_heads=2, d_model=32, pos=pos)).eval()


class Bigram(torch.nn.Module):
    """Next-token logits depend only on the last token (a ``(V, V)`` table); GPT's generation interface."""

    def __init__(self, table: torch.Tensor, block_size: int = 64) -> None:
        super().__init__()
        self.table = table
        self.config = SimpleNamespace(block_size=block_size, vocab_size=table.size(0))

    def forward(self, idx, targets=None, *, kv_cache=None):
        return self.table[idx], None


def _prompts(n=3, T=5, seed=1):
    return torch.randint(0, 23, (n, T), generator=torch.Generator().manual_seed(seed))


# -- KV cache ------


@pytest.mark.parametrize("pos", POS_TYPES)
def test_cache_gives_the_same_logits_at_every_step_even_past_block_size(pos):
    model = gpt(pos)
    cached, recomputed = _NextTokenLogits(model, use_cache=True), _NextTokenLogits(model, use_cache=False)
    idx = _prompts()
    with torch.no_grad():
        for _ in range(25):  # 5 + 25 tokens > block_size 16: the window slides
            a, b = cached(idx), recomputed(idx)
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
            idx = torch.cat([idx, a.argmax(-1, keepdim=True)], dim=1)


@pytest.mark.parametrize("pos", POS_TYPES)
def test_cache_gives_the_same_tokens(pos):
    model = gpt(pos)
    idx = _prompts()
    greedy = generate(model, idx, 25, do_sample=False)
    assert greedy.shape == (3, 30)
    assert torch.equal(greedy[:, :5], idx)
    assert torch.equal(generate(model, idx, 25, do_sample=False, use_cache=False), greedy)
    sampled = [
        generate(model, idx, 25, top_k=10, top_p=0.9, use_cache=c, generator=torch.Generator().manual_seed(7))
        for c in (True, False)
    ]
    assert torch.equal(*sampled)
    beams = [generate(model, idx, 8, num_beams=3, eos_id=4, use_cache=c) for c in (True, False)]
    assert torch.equal(*beams)


# -- greedy, beams ------


@pytest.mark.parametrize("eos_id", [None, 5])
def test_beam_width_one_is_greedy(eos_id):
    model = gpt()
    idx = _prompts(n=4)
    greedy = generate(model, idx, 12, do_sample=False, eos_id=eos_id)
    assert torch.equal(generate(model, idx, 12, num_beams=1, do_sample=False, eos_id=eos_id), greedy)
    assert torch.equal(generate(model, idx, 12, temperature=0.0, eos_id=eos_id), greedy)


def _exhaustive_best(table, prompt_last, n, eos_id, length_penalty):
    """Best continuation by sum log p / length**length_penalty over every sequence of at most n tokens."""
    logprobs = torch.log_softmax(table.double(), dim=-1)
    best, best_score = None, -math.inf
    for seq in itertools.product(range(table.size(0)), repeat=n):
        if eos_id is not None and eos_id in seq:
            seq = seq[: seq.index(eos_id) + 1]
        total, last = 0.0, prompt_last
        for token in seq:
            total += logprobs[last, token].item()
            last = token
        score = total / len(seq) ** length_penalty
        if score > best_score + 1e-12:
            best, best_score = list(seq), score
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 2.0])
def test_wide_beam_search_equals_exhaustive_search(seed, length_penalty):
    g = torch.Generator().manual_seed(seed)
    V, n, eos_id = 4, 3, 0
    table = torch.randn(V, V, generator=g) * 2
    table[:, eos_id] += 1.0  # make ending early tempting
    model = Bigram(table)
    idx = torch.tensor([[1], [2], [3]])
    out = generate(model, idx, n, num_beams=V**n, eos_id=eos_id, length_penalty=length_penalty, use_cache=False)
    for row in range(3):
        expected = _exhaustive_best(table, idx[row, 0].item(), n, eos_id, length_penalty)
        got = out[row, 1:].tolist()
        assert got[: len(expected)] == expected
        assert all(t == eos_id for t in got[len(expected) :])  # shorter hypotheses are padded with EOS


def test_length_penalty_changes_the_winner():
    """The exhaustive oracle above is only convincing if the penalty can change the answer."""
    table = torch.tensor([[0.0, 0.0, 0.0], [2.0, 1.5, 1.5], [0.0, 3.0, 0.0]])  # from 1: EOS (0) or 1/2
    model = Bigram(table)
    short = generate(model, torch.tensor([[1]]), 4, num_beams=9, eos_id=0, length_penalty=0.0, use_cache=False)
    long = generate(model, torch.tensor([[1]]), 4, num_beams=9, eos_id=0, length_penalty=3.0, use_cache=False)
    assert short[0, 1].item() == 0  # raw log-probability prefers stopping at once
    assert 0 not in long[0, 1:3].tolist()


def test_eos_stops_rows_and_pads_them():
    table = torch.full((6, 6), -5.0)
    for a, b in [(2, 3), (3, 0), (4, 5), (5, 4), (0, 1)]:
        table[a, b] = 5.0  # greedy chains: 2 -> 3 -> EOS, 4 -> 5 -> 4 ...
    model = Bigram(table)
    out = generate(model, torch.tensor([[2], [4]]), 6, do_sample=False, eos_id=0, use_cache=False)
    assert out.tolist() == [[2, 3, 0, 0, 0, 0, 0], [4, 5, 4, 5, 4, 5, 4]]
    out = generate(model, torch.tensor([[2], [3]]), 6, do_sample=False, eos_id=0, use_cache=False)
    assert out.tolist() == [[2, 3, 0], [3, 0, 0]]  # every row ended: stop early


# -- sampling ------


def _filtered_float64(logits, temperature, top_k, top_p):
    """The kept tokens and their renormalised probabilities, recomputed from sorted float64 values."""
    scaled = [x / temperature for x in logits.double().tolist()]
    kept = list(range(len(scaled)))
    if top_k is not None:
        kth = sorted(scaled, reverse=True)[top_k - 1]
        kept = [i for i in kept if scaled[i] >= kth]
    if top_p is not None:
        z = sum(math.exp(scaled[i]) for i in kept)
        mass, nucleus = 0.0, []
        for i in sorted(kept, key=lambda i: -scaled[i]):
            if mass >= top_p:
                break
            nucleus.append(i)
            mass += math.exp(scaled[i]) / z
        kept = nucleus
    z = sum(math.exp(scaled[i]) for i in kept)
    probs = torch.zeros(len(scaled), dtype=torch.float64)
    for i in kept:
        probs[i] = math.exp(scaled[i]) / z
    return set(kept), probs


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(1.0, None, None), (1.0, 5, None), (0.7, None, 0.9), (1.3, 8, 0.5), (1.0, None, 1.0), (2.0, 1, None)],
)
def test_filtered_distribution_matches_float64_recomputation(temperature, top_k, top_p):
    logits = torch.randn(4, 20, generator=torch.Generator().manual_seed(3)) * 2
    probs = next_token_probs(logits, temperature, top_k, top_p)
    for row in range(4):
        kept, expected = _filtered_float64(logits[row], temperature, top_k, top_p)
        assert set(torch.nonzero(probs[row]).flatten().tolist()) == kept
        torch.testing.assert_close(probs[row].double(), expected, rtol=1e-5, atol=1e-6)


def test_filters_keep_ties_and_the_top_token():
    logits = torch.tensor([1.0, 3.0, 3.0, 0.0])
    assert torch.isfinite(top_k_filter(logits, 1)).tolist() == [False, True, True, False]
    assert torch.isfinite(top_p_filter(logits, 1e-6)).sum().item() == 1  # tiny p still keeps the best token


def test_samples_never_leave_the_kept_set_and_follow_its_distribution():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(12, 12, generator=g) * 1.5
    model = Bigram(table)
    n = 4000
    prompt = torch.full((n, 1), 3)
    out = generate(model, prompt, 1, top_k=6, top_p=0.8, temperature=0.9, generator=g, use_cache=False)
    kept, expected = _filtered_float64(table[3], 0.9, 6, 0.8)
    samples = out[:, 1]
    assert set(samples.tolist()) <= kept
    frequencies = torch.bincount(samples, minlength=12).double() / n
    assert (frequencies - expected).abs().max().item() < 0.03  # ~4 standard errors at n=4000


def test_low_temperature_approaches_greedy():
    logits = torch.randn(3, 30, generator=torch.Generator().manual_seed(4))
    top = [next_token_probs(logits, t).max(-1).values for t in (2.0, 1.0, 0.3, 0.05, 0.001)]
    for hotter, colder in itertools.pairwise(top):
        assert torch.all(colder >= hotter)
    assert torch.all(top[-1] > 0.999)
    model = gpt()
    idx = _prompts()
    greedy = generate(model, idx, 10, do_sample=False)
    assert torch.equal(generate(model, idx, 10, temperature=1e-6, generator=torch.Generator().manual_seed(0)), greedy)


def test_sampling_is_reproducible_with_a_generator_and_restores_training_mode():
    model = gpt().train()
    idx = _prompts()
    a = generate(model, idx, 10, generator=torch.Generator().manual_seed(1))
    b = generate(model, idx, 10, generator=torch.Generator().manual_seed(1))
    c = generate(model, idx, 10, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert model.training
    assert torch.equal(generate(model, idx, 0), idx)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
        (dict(top_k=0), "top_k"),
        (dict(temperature=-0.5), "temperature"),
        (dict(num_beams=0), "num_beams"),
        (dict(num_beams=3, top_k=5), "beam search"),
        (dict(max_new_tokens=-1), "max_new_tokens"),
        (dict(eos_id=23), "eos_id"),
        (dict(idx=torch.zeros(1, 17, dtype=torch.long)), "block_size is 16"),
        (dict(idx=torch.zeros(1, 4)), "LongTensor"),
        (dict(idx=torch.zeros(4, dtype=torch.long)), "LongTensor"),
    ],
)
def test_bad_arguments_give_one_clear_error(kwargs, message):
    call = dict(idx=_prompts(), max_new_tokens=3) | kwargs
    with pytest.raises(ValueError, match=message):
        generate(gpt(), call.pop("idx"), call.pop("max_new_tokens"), **call)


@pytest.mark.gpu
@pytest.mark.parametrize("pos", POS_TYPES)
def test_cache_gives_the_same_tokens_on_gpu(pos):
    model = gpt(pos).to("cuda")
    idx = _prompts().to("cuda")
    greedy = generate(model, idx, 25, do_sample=False)
    assert greedy.device.type == "cuda"
    assert torch.equal(generate(model, idx, 25, do_sample=False, use_cache=False), greedy)
    g = torch.Generator(device="cuda")
    sampled = [generate(model, idx, 25, top_p=0.9, use_cache=c, generator=g.manual_seed(3)) for c in (True, False)]
    assert torch.equal(*sampled)


# -- scores, sliding window, memory ------


def test_returned_scores_are_the_models_logprobs_and_entropy():
    model = gpt()
    idx = _prompts(n=2, T=4)
    out = generate(
        model, idx, 6, top_k=5, temperature=1.5, return_scores=True, generator=torch.Generator().manual_seed(0)
    )
    assert out.tokens.shape == (2, 10) and out.logprobs.shape == out.entropy.shape == (2, 6)
    with torch.no_grad():
        logits, _ = model(out.tokens[:, :-1])  # teacher forcing: the logits that chose each new token
    logprobs = torch.log_softmax(logits[:, 3:].double(), dim=-1)  # positions 3..8 predict new tokens 4..9
    chosen = logprobs.gather(-1, out.tokens[:, 4:, None])[..., 0]
    entropy = -(logprobs.exp() * logprobs).sum(-1)
    torch.testing.assert_close(out.logprobs.double(), chosen, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.entropy.double(), entropy, rtol=1e-4, atol=1e-5)
    greedy = generate(model, idx, 6, do_sample=False, return_scores=True)
    assert torch.equal(greedy.tokens, generate(model, idx, 6, do_sample=False))


def test_scores_after_eos_are_zero():
    table = torch.full((6, 6), -5.0)
    table[2, 3] = table[3, 0] = table[4, 5] = table[5, 4] = 5.0
    out = generate(
        Bigram(table), torch.tensor([[2], [4]]), 4, do_sample=False, eos_id=0, use_cache=False, return_scores=True
    )
    assert out.logprobs[0, 2:].tolist() == [0.0, 0.0] and out.entropy[0, 2:].tolist() == [0.0, 0.0]
    assert (out.logprobs[1] < 0).all() and (out.entropy[1] > 0).all()
    with pytest.raises(ValueError, match="return_scores"):
        generate(Bigram(table), torch.tensor([[2]]), 4, num_beams=2, return_scores=True)


def test_past_block_size_the_cache_path_recomputes_without_a_cache():
    model = gpt(block_size=8)
    calls = []
    original = model.forward

    def spy(idx, targets=None, *, kv_cache=None):
        calls.append((idx.size(1), kv_cache is not None))
        return original(idx, targets, kv_cache=kv_cache)

    model.forward = spy
    generate(model, _prompts(n=1, T=5), 6, do_sample=False, use_cache=True)
    # prefill 5, three one-token steps (to 8 tokens), then the window slides: full 8-token windows, no cache
    assert calls == [(5, True), (1, True), (1, True), (1, True), (8, False), (8, False)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_kv_cache_bytes_match_the_stored_keys_and_values(dtype):
    from course_lib.decoding import kv_cache_bytes

    model = GPT(GPTConfig(vocab_size=23, block_size=16, n_layers=3, n_heads=2, d_model=8)).to(dtype).eval()
    cache = model.make_cache()
    with torch.no_grad():
        model(_prompts(n=2, T=7), kv_cache=cache)
    stored = sum(t.numel() * t.element_size() for layer in cache for t in layer.cached())
    assert kv_cache_bytes(model.config, 7, batch_size=2, dtype=dtype) == stored


@pytest.mark.parametrize("num_beams", [1, 3])
def test_search_is_generate_for_any_next_token_wrapper(num_beams):
    """decoding.search (what seq2seq models decode with) gives generate's tokens for a GPT wrapped by hand."""
    model = gpt()
    idx = _prompts()
    expected = generate(model, idx, 6, do_sample=False, num_beams=num_beams, eos_id=4)
    got = search(_NextTokenLogits(model, use_cache=True), idx, 6, num_beams=num_beams, eos_id=4)
    assert torch.equal(got, expected)
