"""Sequence-to-sequence with attention: a bidirectional RNN encoder and an attentional RNN decoder.

Without attention an encoder-decoder squeezes the whole source into one vector, the decoder's initial state
(Sutskever et al. 2014; Cho et al. 2014), and accuracy falls as sources grow. With attention the decoder looks
back at every encoder state at every step (Bahdanau et al. 2015; Luong et al. 2015):

    scores  e_j = score(query, h_j)            one per source position j      (B, S)
    weights α = softmax(e) over real positions (padding gets weight 0)       (B, S)
    context c = Σ_j α_j h_j                                                    (B, d_enc)

with three score functions: **dot** ``sᵀh`` (needs equal widths), **general** ``hᵀ W s`` (Luong) and
**additive** ``vᵀ tanh(W₁h + W₂s)`` (Bahdanau). The decoder step comes in two styles:

- **Bahdanau**: attend from the previous state ``s_{t-1}``; feed the context into the RNN
  (``s_t = RNN([emb(y_{t-1}); c_t], s_{t-1})``); predict from ``[s_t; c_t]``.
- **Luong**: step the RNN first (``s_t = RNN(emb(y_{t-1}), s_{t-1})``), attend from ``s_t``, then predict from
  the attentional state ``h̃_t = tanh(W_c [c_t; s_t])``.

Training uses teacher forcing (the decoder reads the true previous token) and a cross-entropy that ignores
padding; :func:`greedy_decode` and :func:`beam_decode` generate, through :func:`course_lib.decoding.search`
(the package's one beam search), for this model and for the Transformer :class:`~course_lib.nn.EncoderDecoder`.
Token ids follow :class:`course_lib.data.synthetic.CharVocab`: ``<pad>`` = 0, ``<s>`` = 1, ``</s>`` = 2.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from course_lib.data.synthetic import CharVocab
from course_lib.decoding import search
from course_lib.nn.transformer import EncoderDecoder

SCORES = ("dot", "general", "additive", "none")
STYLES = ("bahdanau", "luong")
CELLS = ("gru", "lstm")
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2

State = tuple[Tensor, Tensor | None]  # (h, c): c is the LSTM's cell, None for a GRU


# ---------------------------------------------------------------------------------------------- attention


class DotScore(nn.Module):
    """``e_j = sᵀ h_j``: ``query (B, d)``, ``keys (B, S, d)`` -> ``(B, S)``. No parameters."""

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        if query.size(-1) != keys.size(-1):
            raise ValueError(f"dot scores need equal widths, got query {query.size(-1)} and keys {keys.size(-1)}")
        return (keys @ query.unsqueeze(-1)).squeeze(-1)


class GeneralScore(nn.Module):
    """Luong's ``e_j = h_jᵀ W s``, ``W`` of shape ``(d_key, d_query)``: ``(B, d_query), (B, S, d_key) -> (B, S)``."""

    def __init__(self, d_query: int, d_key: int) -> None:
        super().__init__()
        self.W = nn.Linear(d_query, d_key, bias=False)  # W s: (B, d_key)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return (keys @ self.W(query).unsqueeze(-1)).squeeze(-1)


class AdditiveScore(nn.Module):
    """Bahdanau's ``e_j = vᵀ tanh(W₁ h_j + W₂ s)``: ``(B, d_query), (B, S, d_key) -> (B, S)``."""

    def __init__(self, d_query: int, d_key: int, d_attn: int) -> None:
        super().__init__()
        self.W1 = nn.Linear(d_key, d_attn, bias=False)
        self.W2 = nn.Linear(d_query, d_attn, bias=False)
        self.v = nn.Linear(d_attn, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return self.v(torch.tanh(self.W1(keys) + self.W2(query).unsqueeze(1))).squeeze(-1)


def make_score(kind: str, d_query: int, d_key: int, d_attn: int | None = None) -> nn.Module:
    """``"dot"``, ``"general"`` or ``"additive"`` (``d_attn`` defaults to ``d_query``)."""
    if kind == "dot":
        return DotScore()
    if kind == "general":
        return GeneralScore(d_query, d_key)
    if kind == "additive":
        return AdditiveScore(d_query, d_key, d_attn or d_query)
    raise ValueError(f"unknown attention score {kind!r}: choose one of {', '.join(SCORES[:3])}")


def attend(scores: Tensor, values: Tensor, keep: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Softmax over source positions, padding excluded, and the weighted sum of ``values``.

    ``scores (B, S)``, ``values (B, S, d)``, ``keep (B, S)`` True at real tokens ->
    ``(context (B, d), weights (B, S))``; each row of weights sums to 1 and is 0 at padding.
    """
    if keep is not None:
        scores = scores.masked_fill(~keep, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights.unsqueeze(1) @ values).squeeze(1), weights


# ---------------------------------------------------------------------------------------------- encoder


def _rnn(cell: str, d_in: int, d_hidden: int, **kwargs) -> nn.Module:
    if cell not in CELLS:
        raise ValueError(f"unknown RNN cell {cell!r}: choose one of {', '.join(CELLS)}")
    return (nn.GRU if cell == "gru" else nn.LSTM)(d_in, d_hidden, batch_first=True, **kwargs)


class RNNEncoder(nn.Module):
    """Embeddings and a (bidirectional) GRU/LSTM: ``src (B, S)`` -> states ``(B, S, d_enc)`` and a summary.

    ``d_enc = 2 * d_hidden`` when bidirectional: each position's state joins a left-to-right and a
    right-to-left reading. Padding (``keep`` False, on the right) is packed away, so the backward direction
    starts at each source's last real token and padded positions get zero states. The summary ``(B, d_enc)`` is
    the final forward state joined with the backward state at position 0: what a decoder without attention has.
    """

    def __init__(
        self, vocab_size: int, d_emb: int, d_hidden: int, cell: str = "gru", bidirectional: bool = True
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_emb, padding_idx=PAD_ID)
        self.rnn = _rnn(cell, d_emb, d_hidden, bidirectional=bidirectional)
        self.d_enc = d_hidden * (2 if bidirectional else 1)

    def forward(self, src: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
        lengths = keep.sum(dim=1)
        if bool((lengths == 0).any()):
            raise ValueError("every source needs at least one real token")
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, final = self.rnn(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h_n = final[0] if isinstance(final, tuple) else final  # (directions, B, d_hidden)
        summary = torch.cat(list(h_n), dim=-1)  # (B, d_enc): last forward state, first backward state
        return states, summary


# ---------------------------------------------------------------------------------------------- decoder


class AttentionDecoder(nn.Module):
    """One decoder step at a time: ``step(y_prev (B,), state, memory (B, S, d_enc), keep (B, S))`` ->
    ``(logits (B, V), state, weights (B, S))``.

    ``style`` is ``"bahdanau"`` or ``"luong"`` (module docstring); ``score`` is ``"dot"``, ``"general"``,
    ``"additive"`` or ``"none"`` (no attention: the context is always zero, so the source reaches the decoder
    only through its initial state, the bottleneck). The initial state is ``tanh(W_init summary)``.
    """

    def __init__(
        self,
        vocab_size: int,
        d_emb: int,
        d_hidden: int,
        d_enc: int,
        score: str = "additive",
        style: str = "bahdanau",
        cell: str = "gru",
    ) -> None:
        super().__init__()
        if style not in STYLES:
            raise ValueError(f"unknown decoder style {style!r}: choose one of {', '.join(STYLES)}")
        if cell not in CELLS:
            raise ValueError(f"unknown RNN cell {cell!r}: choose one of {', '.join(CELLS)}")
        self.style, self.d_enc = style, d_enc
        self.embedding = nn.Embedding(vocab_size, d_emb, padding_idx=PAD_ID)
        self.init = nn.Linear(d_enc, d_hidden)
        self.score = None if score == "none" else make_score(score, d_hidden, d_enc)
        d_in = d_emb + d_enc if style == "bahdanau" else d_emb  # Bahdanau feeds the context into the RNN
        self.cell = (nn.GRUCell if cell == "gru" else nn.LSTMCell)(d_in, d_hidden)
        self.is_lstm = cell == "lstm"
        if style == "luong":
            self.W_c = nn.Linear(d_enc + d_hidden, d_hidden, bias=False)  # h̃ = tanh(W_c [c; s])
            self.out = nn.Linear(d_hidden, vocab_size)
        else:
            self.out = nn.Linear(d_hidden + d_enc, vocab_size)  # logits from [s_t; c_t]

    def initial_state(self, summary: Tensor) -> State:
        h = torch.tanh(self.init(summary))  # (B, d_hidden)
        return h, torch.zeros_like(h) if self.is_lstm else None

    def _context(self, query: Tensor, memory: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
        if self.score is None:
            return memory.new_zeros(memory.size(0), self.d_enc), memory.new_zeros(memory.shape[:2])
        return attend(self.score(query, memory), memory, keep)

    def _cell(self, x: Tensor, state: State) -> State:
        if self.is_lstm:
            return self.cell(x, state)
        return self.cell(x, state[0]), None

    def step(self, y_prev: Tensor, state: State, memory: Tensor, keep: Tensor) -> tuple[Tensor, State, Tensor]:
        emb = self.embedding(y_prev)  # (B, d_emb)
        if self.style == "bahdanau":
            context, weights = self._context(state[0], memory, keep)  # attend from s_{t-1}
            state = self._cell(torch.cat([emb, context], dim=-1), state)
            logits = self.out(torch.cat([state[0], context], dim=-1))
        else:
            state = self._cell(emb, state)
            context, weights = self._context(state[0], memory, keep)  # attend from s_t
            logits = self.out(torch.tanh(self.W_c(torch.cat([context, state[0]], dim=-1))))
        return logits, state, weights


class Seq2SeqAttention(nn.Module):
    """A bidirectional :class:`RNNEncoder` and an :class:`AttentionDecoder`.

    ``model(src (B, S), src_keep (B, S), tgt_in (B, T))`` -> ``(logits (B, T, V), weights (B, T, S))``, teacher
    forced: ``tgt_in`` starts with ``<s>`` and is the target shifted right (:func:`shift_right`). The decoder
    width defaults to the encoder's ``d_enc = 2 * d_hidden`` so that dot scores apply.
    """

    def __init__(
        self,
        vocab_size: int,
        d_emb: int = 32,
        d_hidden: int = 64,
        score: str = "additive",
        style: str = "bahdanau",
        cell: str = "gru",
        bidirectional: bool = True,
        tgt_vocab_size: int | None = None,
    ) -> None:
        super().__init__()
        self.encoder = RNNEncoder(vocab_size, d_emb, d_hidden, cell, bidirectional)
        d_enc = self.encoder.d_enc
        self.decoder = AttentionDecoder(tgt_vocab_size or vocab_size, d_emb, d_enc, d_enc, score, style, cell)

    def encode(self, src: Tensor, src_keep: Tensor) -> tuple[Tensor, State]:
        """``(memory (B, S, d_enc), the decoder's initial state)``."""
        memory, summary = self.encoder(src, src_keep)
        return memory, self.decoder.initial_state(summary)

    def forward(self, src: Tensor, src_keep: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        memory, state = self.encode(src, src_keep)
        all_logits, all_weights = [], []
        for t in range(tgt_in.size(1)):
            logits, state, weights = self.decoder.step(tgt_in[:, t], state, memory, src_keep)
            all_logits.append(logits)
            all_weights.append(weights)
        return torch.stack(all_logits, dim=1), torch.stack(all_weights, dim=1)


# ---------------------------------------------------------------------------------------------- training


def shift_right(tgt: Tensor) -> tuple[Tensor, Tensor]:
    """Teacher forcing: ``tgt (B, T+1)`` framed as ``<s> y_1 … y_n </s> <pad>…`` -> decoder input ``tgt[:, :-1]``
    (``<s> y_1 … y_n``) and the tokens to predict ``tgt[:, 1:]`` (``y_1 … y_n </s>``): each input is the
    token before its target."""
    return tgt[:, :-1], tgt[:, 1:]


def seq2seq_loss(logits: Tensor, targets: Tensor, pad_id: int = PAD_ID) -> Tensor:
    """Mean cross-entropy over the real (non-``<pad>``) target tokens: ``logits (B, T, V)``, ``targets (B, T)``."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=pad_id)


def teacher_forced_logits(model: nn.Module, src: Tensor, src_keep: Tensor, tgt_in: Tensor) -> Tensor:
    """Logits ``(B, T, V)`` of either model family, read with the true previous tokens."""
    if isinstance(model, EncoderDecoder):
        return model(src, tgt_in, src_keep)
    return model(src, src_keep, tgt_in)[0]


# ---------------------------------------------------------------------------------------------- decoding


class _RNNNextLogits:
    """:func:`course_lib.decoding.search`'s model interface for :class:`Seq2SeqAttention`: the RNN state and the
    source follow their rows through beam reordering; the newest token is fed at each call."""

    def __init__(self, model: Seq2SeqAttention, src: Tensor, src_keep: Tensor, rows_per_source: int) -> None:
        self.model = model
        memory, (h, c) = model.encode(src, src_keep)
        self.memory, self.keep = (
            memory.repeat_interleave(rows_per_source, 0),
            src_keep.repeat_interleave(rows_per_source, 0),
        )
        h = h.repeat_interleave(rows_per_source, 0)
        self.state = (h, None if c is None else c.repeat_interleave(rows_per_source, 0))
        self.weights: list[Tensor] = []  # (N, S) per step, for plotting greedy decodes

    def __call__(self, idx: Tensor) -> Tensor:  # (N, T) -> (N, V)
        logits, self.state, weights = self.model.decoder.step(idx[:, -1], self.state, self.memory, self.keep)
        self.weights.append(weights)
        return logits

    def reorder(self, rows: Tensor) -> None:
        h, c = self.state
        self.state = (h[rows], None if c is None else c[rows])
        self.memory, self.keep = self.memory[rows], self.keep[rows]


class _TransformerNextLogits:
    """The same interface for :class:`~course_lib.nn.EncoderDecoder` (the target prefix is re-read each step:
    dates are short; GPT generation shows the KV cache)."""

    def __init__(self, model: EncoderDecoder, src: Tensor, src_keep: Tensor, rows_per_source: int) -> None:
        self.model = model
        self.memory = model.encode(src, src_keep).repeat_interleave(rows_per_source, dim=0)
        self.keep = src_keep.repeat_interleave(rows_per_source, dim=0)

    def __call__(self, idx: Tensor) -> Tensor:
        return self.model.decode(idx, self.memory, self.keep)[:, -1]

    def reorder(self, rows: Tensor) -> None:
        self.memory, self.keep = self.memory[rows], self.keep[rows]


def _next_logits(model: nn.Module, src: Tensor, src_keep: Tensor, rows_per_source: int):
    if isinstance(model, EncoderDecoder):
        return _TransformerNextLogits(model, src, src_keep, rows_per_source)
    if isinstance(model, Seq2SeqAttention):
        return _RNNNextLogits(model, src, src_keep, rows_per_source)
    raise TypeError(f"cannot decode with a {type(model).__name__}: expected Seq2SeqAttention or EncoderDecoder")


@torch.no_grad()
def greedy_decode(
    model: nn.Module, src: Tensor, src_keep: Tensor, max_len: int, bos_id: int = BOS_ID, eos_id: int = EOS_ID
) -> tuple[Tensor, Tensor | None]:
    """The most likely token at every step, until ``</s>`` or ``max_len`` tokens.

    Returns the generated ids ``(B, n ≤ max_len)`` without ``<s>`` (rows that stopped are filled with ``eos_id``)
    and, for :class:`Seq2SeqAttention`, the attention weights ``(B, n, S)`` of each generated token (else None).
    """
    was_training = model.training
    model.eval()
    try:
        next_logits = _next_logits(model, src, src_keep, 1)
        start = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
        out = search(next_logits, start, max_len, eos_id=eos_id)[:, 1:]
    finally:
        model.train(was_training)
    weights = getattr(next_logits, "weights", None)
    return out, (torch.stack(weights, dim=1) if weights else None)


@torch.no_grad()
def beam_decode(
    model: nn.Module,
    src: Tensor,
    src_keep: Tensor,
    max_len: int,
    num_beams: int = 4,
    length_penalty: float = 1.0,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> Tensor:
    """Beam search (:func:`course_lib.decoding.search`): the best hypothesis per source, ``(B, n ≤ max_len)``
    without ``<s>``, shorter hypotheses filled with ``eos_id``."""
    was_training = model.training
    model.eval()
    try:
        next_logits = _next_logits(model, src, src_keep, num_beams)
        start = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
        return search(next_logits, start, max_len, num_beams=num_beams, length_penalty=length_penalty, eos_id=eos_id)[
            :, 1:
        ]
    finally:
        model.train(was_training)


# ---------------------------------------------------------------------------------------------- the date task


def make_batch(vocab: CharVocab, pairs: Sequence[tuple[str, str]]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(src (B, S), src_keep (B, S), tgt_in (B, T), tgt_out (B, T))`` for ``(source, target)`` pairs: sources end
    with ``</s>``, targets are framed ``<s> … </s>`` and shifted (:func:`shift_right`)."""
    src, src_keep = vocab.batch([s for s, _ in pairs], eos=True)
    tgt, _ = vocab.batch([t for _, t in pairs], bos=True, eos=True)
    return src, src_keep, *shift_right(tgt)


def train_seq2seq(
    model: nn.Module,
    vocab: CharVocab,
    pairs: Iterator[tuple[str, str]],
    steps: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    clip: float = 1.0,
    progress: bool = False,
) -> list[float]:
    """Teacher-forced Adam steps on fresh batches drawn from ``pairs`` (e.g. ``iter_date_pairs("train")``), with
    gradient clipping; returns the loss of every step. Works for both model families."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc="training"):
        src, src_keep, tgt_in, tgt_out = make_batch(vocab, [next(pairs) for _ in range(batch_size)])
        loss = seq2seq_loss(teacher_forced_logits(model, src, src_keep, tgt_in), tgt_out, vocab.pad_id)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
    return losses


def exact_match(
    model: nn.Module,
    vocab: CharVocab,
    pairs: Sequence[tuple[str, str]],
    num_beams: int = 1,
    max_len: int = 12,
    batch_size: int = 500,
) -> float:
    """Fraction of ``pairs`` whose decoded output equals the target exactly (greedy, or beam search)."""
    correct = 0
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i : i + batch_size]
        src, src_keep = vocab.batch([s for s, _ in chunk], eos=True)
        if num_beams == 1:
            out, _ = greedy_decode(model, src, src_keep, max_len, vocab.bos_id, vocab.eos_id)
        else:
            out = beam_decode(model, src, src_keep, max_len, num_beams, bos_id=vocab.bos_id, eos_id=vocab.eos_id)
        correct += sum(vocab.decode(row.tolist()) == target for row, (_, target) in zip(out, chunk))
    return correct / len(pairs)
