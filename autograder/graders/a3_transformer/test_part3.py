"""Hidden tests for A3 part 3: teacher forcing, the loss, greedy decoding.
Oracles: course_lib.models.seq2seq (shift_right, seq2seq_loss, AttentionDecoder) and course_lib.decoding.search.

Test: the clause it checks
- test_teacher_forcing_shift_right: inputs tgt[:, :-1], targets tgt[:, 1:] (the token before each target)
- test_teacher_forcing_loss_matches_reference: loss: mean cross-entropy over non-pad targets only
- test_teacher_forcing_loss_ignores_padding: padded positions' logits never matter; pad_id is honoured (not always 0)
- test_greedy_search_on_tables: greedy: argmax each step; after eos a row gets eos again; at most max_len
- test_greedy_stops_when_every_row_ended: greedy stops as soon as every row is finished
- test_greedy_decode_matches_reference: greedy_decode (given) with the student's Bahdanau step and greedy_search
"""

import pytest
import torch
from a3_inputs import bahdanau_params, check_close, check_tensor, padding_keep, randn, reference_decoder

from course_lib.decoding import search
from course_lib.models.seq2seq import seq2seq_loss, shift_right

EOS = 2


def _framed_targets(rng, B=4, T=9, V=13, pad_id=0):
    """``<s> y … </s> <pad>…`` rows of different lengths (ids ≥ 3 inside, never pad_id)."""
    tgt = torch.full((B, T), pad_id, dtype=torch.long)
    for b in range(B):
        n = T - 2 if b == 0 else int(torch.randint(1, T - 1, (1,), generator=rng))
        body = torch.randint(3, V, (n,), generator=rng)
        body[body == pad_id] = 3
        tgt[b, : n + 2] = torch.cat([torch.tensor([1]), body, torch.tensor([EOS])])
    return tgt


@pytest.mark.points(3)
def test_teacher_forcing_shift_right(student, rng):
    """shift_right on a random padded (4, 9) target batch: decoder inputs and targets."""
    tgt = _framed_targets(rng)
    want_in, want_out = shift_right(tgt)
    got = student.shift_right(tgt)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError("shift_right must return a pair (decoder inputs, targets)")
    check_close(got[0], want_in, "shift_right(tgt) decoder inputs")
    check_close(got[1], want_out, "shift_right(tgt) targets")


@pytest.mark.points(3)
def test_teacher_forcing_loss_matches_reference(student, rng):
    """sequence_loss on float64 (4, 8, 13) logits and padded targets."""
    _, targets = shift_right(_framed_targets(rng))
    logits = randn(rng, 4, 8, 13, scale=2.0)
    got = check_tensor(student.sequence_loss(logits, targets), "sequence_loss(logits, targets)")
    check_close(got.reshape(()), seq2seq_loss(logits, targets), "sequence_loss(logits, targets)", check_dtype=False)


@pytest.mark.points(2)
def test_teacher_forcing_loss_ignores_padding(student, rng):
    """sequence_loss with pad_id=5: changing the logits at padded positions changes nothing."""
    _, targets = shift_right(_framed_targets(rng, pad_id=5))
    logits = randn(rng, 4, 8, 13)
    want = seq2seq_loss(logits, targets, pad_id=5)
    got = check_tensor(student.sequence_loss(logits, targets, pad_id=5), "sequence_loss(..., pad_id=5)")
    check_close(got.reshape(()), want, "sequence_loss(..., pad_id=5)", check_dtype=False)
    changed = torch.where((targets == 5)[..., None], 30 * randn(rng, 4, 8, 13), logits)
    again = check_tensor(student.sequence_loss(changed, targets, pad_id=5), "sequence_loss(..., pad_id=5)")
    check_close(again.reshape(()), want, "sequence_loss after changing the logits at padding", check_dtype=False)


class _Table:
    """The next token's logits are ``table[last token]``."""

    def __init__(self, table):
        self.table = table

    def __call__(self, idx):
        return self.table[idx[:, -1]]

    def reorder(self, rows):
        pass


def _reference_table_greedy(table, first, max_len):
    return search(_Table(table), first[:, None], max_len, eos_id=EOS)[:, 1:]


@pytest.mark.points(3)
def test_greedy_search_on_tables(student, rng):
    """greedy_from_table on random bigram tables (V=8, 6 rows) with max_len 1, 5 and 12."""
    for max_len in (1, 5, 12):
        table = randn(rng, 8, 8)
        table[:, EOS] += 0.5  # some rows end early, some never do
        first = torch.randint(0, 8, (6,), generator=rng)
        want = _reference_table_greedy(table, first, max_len)
        check_close(student.greedy_from_table(table, first, max_len, EOS), want, f"greedy (max_len={max_len})")


@pytest.mark.points(2)
def test_greedy_stops_when_every_row_ended(student, rng):
    """greedy_from_table where every row reaches </s> within 2 steps, max_len 20: no extra columns."""
    V = 7
    table = randn(rng, V, V)
    table[:, 3] += 20  # every token leads to 3 ...
    table[3, EOS] += 40  # ... 3 leads to </s> ...
    table[EOS, 4] += 40  # ... and a search that kept going after </s> would write 4
    first = torch.randint(0, V, (5,), generator=rng)
    first[first == EOS] = 0
    first[0] = 3
    want = _reference_table_greedy(table, first, 20)
    check_close(student.greedy_from_table(table, first, 20, EOS), want, "greedy when every row ends early")


@pytest.mark.points(2)
def test_greedy_decode_matches_reference(student, rng):
    """greedy_decode (given) with your bahdanau_step and greedy_search: random weights, max_len 8."""
    V, E, H, D, A, B, S = 11, 3, 4, 6, 5, 3, 7
    params = bahdanau_params(rng, V, E, H, D, A)
    params["b_out"][EOS] += 1.0
    memory, keep, s0 = randn(rng, B, S, D), padding_keep(rng, B, S), randn(rng, B, H)
    decoder = reference_decoder(params, "bahdanau")

    class _Steps:
        state = (s0, None)

        def __call__(self, idx):
            logits, self.state, _ = decoder.step(idx[:, -1], self.state, memory, keep)
            return logits

        def reorder(self, rows):
            pass

    start = torch.full((B, 1), 1, dtype=torch.long)
    want = search(_Steps(), start, 8, eos_id=EOS)[:, 1:]
    check_close(student.greedy_decode(memory, keep, params, s0, 8), want, "greedy_decode(memory, keep, params, s0, 8)")
