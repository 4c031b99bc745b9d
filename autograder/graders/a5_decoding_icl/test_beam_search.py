"""Hidden tests for A5 part 3: beam search. Oracles: brute force over every hypothesis on a tiny vocabulary (V=5,
4 new tokens) under the same score; greedy decoding; a cache-free float64 beam search following the same rules.

Clause -> test:
- returns the new tokens of the best hypothesis as a list of ints, ending with eos_id if it finished
  -> every test (check_list), test_beam_search_finished_hypotheses_stay_finished (EOS only at the end)
- beam_size 1 is greedy decoding -> test_beam_search_width_one_is_greedy
- score = total log-probability / length ** length_penalty, EOS counted in the length
  -> test_beam_search_wide_beam_equals_brute_force (models drawn so that leaving EOS out changes the answer)
- length_penalty 0.5, 2 and 0 (raw log-probability) -> test_beam_search_length_penalty
- start from one beam (not beam_size copies of the prompt); candidates ranked by total log-probability over
  beams x vocabulary, not per beam -> test_beam_search_narrow_beams_follow_the_rules
- the cache follows each kept candidate's parent (rows reordered) -> test_beam_search_narrow_beams_follow_the_rules,
  test_beam_search_length_penalty (the mutant suite's declared catcher)
- a kept candidate ending in EOS goes to the finished pool and is never extended; stop once beam_size are finished
  (not when the top beam finishes), when none runs, or after max_new_tokens
  -> test_beam_search_finished_hypotheses_stay_finished
- return the best score among finished and running hypotheses, not the shortest or the first finished
  -> test_beam_search_returns_the_best_score_not_the_shortest, test_beam_search_wide_beam_equals_brute_force
"""

import pytest
import torch
from a5_inputs import exhaustive_best, random_params, reference_beam_search, reference_greedy

from autograder.checks import check_list


def _model(g, vocab_size=5, scale=0.3):
    params = random_params(g, vocab_size=vocab_size)
    params["wte"] = params["wte"] * scale  # soft distributions (logits of a few nats): beams compete, EOS matters
    return params


def _prompt(g, n=3, vocab_size=5):
    return torch.randint(1, vocab_size, (n,), generator=g)


def _beam(student, params, prompt, beam_size, max_new, eos_id, length_penalty):
    return student.beam_search(params, prompt, beam_size, max_new, eos_id, length_penalty)


@pytest.mark.points(3)
def test_beam_search_width_one_is_greedy(student, rng):
    """beam_size 1 returns greedy decoding (stopping at EOS) on random models and prompts."""
    for _ in range(4):
        params, prompt = _model(rng), _prompt(rng)
        want = reference_greedy(params, prompt.tolist(), 6, eos_id=0)
        check_list(_beam(student, params, prompt, 1, 6, 0, 1.0), want, "beam_search with beam_size 1")


def _against_brute_force(student, rng, length_penalty, what):
    """Three random models on which the rules matter: the best hypothesis differs from the best by raw
    log-probability and (length_penalty 1) from the best with EOS left out of the length (up to 200 models)."""
    checked = 0
    for _ in range(200):
        params, prompt = _model(rng), _prompt(rng)
        want, margin = exhaustive_best(params, prompt.tolist(), 4, 0, length_penalty)
        raw, _ = exhaustive_best(params, prompt.tolist(), 4, 0, 0.0)
        eos_left_out, _ = exhaustive_best(params, prompt.tolist(), 4, 0, length_penalty, eos_counts=False)
        rules_matter = length_penalty == 0 or (want != raw and (length_penalty != 1 or want != eos_left_out))
        if margin < 1e-6 or not rules_matter:
            continue  # a near-tie, or a model on which the length rules change nothing
        got = _beam(student, params, prompt, 5**4, 4, 0, length_penalty)
        check_list(got, want, f"{what} (beam wider than all 5^4 sequences, length_penalty={length_penalty})")
        checked += 1
        if checked == 3:
            return
    raise RuntimeError("no model on which the length rules matter was drawn")  # a grader error, never the student's


@pytest.mark.points(5)
def test_beam_search_wide_beam_equals_brute_force(student, rng):
    """A beam wider than the number of sequences finds the best-scoring hypothesis found by brute force
    (V = 5, 4 new tokens, length_penalty 1)."""
    _against_brute_force(student, rng, 1.0, "beam_search")


@pytest.mark.points(3)
def test_beam_search_length_penalty(student, rng):
    """Brute force under length_penalty 0.5 and 2 (favours long hypotheses), and 0 (raw log-probability)."""
    for length_penalty in (0.5, 2.0, 0.0):
        _against_brute_force(student, rng, length_penalty, "beam_search")


@pytest.mark.points(4)
def test_beam_search_narrow_beams_follow_the_rules(student, rng):
    """beam_size 2 and 3 on V = 7 for 6 steps: the same hypothesis as a cache-free beam search with the same rules
    (one initial beam, candidates over beams x vocabulary, finished hypotheses kept, the cache following parents)."""
    # three random models per setting: a mis-ordered cache or a wrong candidate pool shows on most, not every one
    for beam_size, length_penalty in ((2, 1.0), (3, 1.0), (3, 0.5), (4, 1.5)) * 3:
        params, prompt = _model(rng, vocab_size=7), _prompt(rng, vocab_size=7)
        want = reference_beam_search(params, prompt.tolist(), beam_size, 6, 0, length_penalty)
        got = _beam(student, params, prompt, beam_size, 6, 0, length_penalty)
        check_list(got, want, f"beam_search with beam_size {beam_size}, length_penalty {length_penalty}")


def _eos_likely(g, vocab_size=6):
    """A model that often ends: the EOS embedding is aligned with the mean of the others."""
    params = _model(g, vocab_size=vocab_size, scale=0.4)
    params["wte"][0] = params["wte"][1:].mean(dim=0) * 3 + 0.3 * params["wte"][0]
    return params


@pytest.mark.points(3)
def test_beam_search_finished_hypotheses_stay_finished(student, rng):
    """With EOS likely: the result has EOS only at its end, and matches the rules' hypothesis (finished ones are
    kept in the pool and never extended; the search stops once beam_size of them are finished)."""
    for beam_size in (2, 3, 5) * 4:  # four random models per beam size: extending a finished beam shows on most
        params, prompt = _eos_likely(rng), _prompt(rng, vocab_size=6)
        got = _beam(student, params, prompt, beam_size, 8, 0, 1.0)
        if 0 in got[:-1]:
            raise AssertionError("beam_search returned a hypothesis that continues after EOS")
        check_list(got, reference_beam_search(params, prompt.tolist(), beam_size, 8, 0, 1.0), "beam_search")


@pytest.mark.points(2)
def test_beam_search_returns_the_best_score_not_the_shortest(student, rng):
    """Longer hypotheses win when their normalised score is higher (length_penalty 1 and 2, EOS likely)."""
    for length_penalty in (1.0, 2.0):
        params, prompt = _eos_likely(rng), _prompt(rng, vocab_size=6)
        want = reference_beam_search(params, prompt.tolist(), 4, 6, 0, length_penalty)
        check_list(_beam(student, params, prompt, 4, 6, 0, length_penalty), want, "beam_search")
