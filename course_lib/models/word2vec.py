"""word2vec: skip-gram with negative sampling, SGNS (Mikolov et al. 2013, "Distributed Representations of Words
and Phrases and their Compositionality").

Every word ``w`` has two vectors: ``v_w`` (a row of ``W_in``, used when ``w`` is the centre word; these are the
word vectors) and ``u_w`` (a row of ``W_out``, used when ``w`` is a context or noise word). For a centre ``c``,
a true context word ``o`` and ``K`` noise words ``n_1..n_K`` drawn from the unigram distribution raised to 3/4:

    loss = -log σ(u_o · v_c) - Σ_k log σ(-u_{n_k} · v_c)

    ∂loss/∂v_c     = (σ(u_o · v_c) - 1) u_o + Σ_k σ(u_{n_k} · v_c) u_{n_k}
    ∂loss/∂u_o     = (σ(u_o · v_c) - 1) v_c
    ∂loss/∂u_{n_k} = σ(u_{n_k} · v_c) v_c

The negatives replace the softmax's sum over the whole vocabulary by K samples: the model learns to tell real
(centre, context) pairs from noise, which costs O(K d) per pair instead of O(|V| d).

Training here is minibatch SGD on the CPU with explicit gradients (no autograd), scattered with ``index_add_``
so that a word appearing several times in a batch gets the sum of its gradients. The learning rate decays
linearly, as in the original C code and gensim, which is the peer this module is benchmarked against.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from course_lib.errors import CourseError

# --- vocabulary, subsampling, pairs, noise ----------------------------------------------------------------------


@dataclass
class Vocabulary:
    words: list[str]  # most frequent first
    counts: np.ndarray  # (V,) int64, counts[i] is the count of words[i]

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: Iterable[str]) -> list[int]:
        """Ids of the words in the vocabulary; rarer words are dropped (word2vec has no unknown token)."""
        return [self.index[w] for w in sentence if w in self.index]


def build_vocabulary(sentences: Iterable[Sequence[str]], min_count: int = 5) -> Vocabulary:
    """Words seen at least ``min_count`` times, by decreasing count (ties: alphabetical, for reproducibility)."""
    counts = Counter(word for sentence in sentences for word in sentence)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not kept:
        raise CourseError(f"no word occurs {min_count} times; lower min_count or use a larger corpus")
    return Vocabulary(kept, np.array([counts[w] for w in kept], dtype=np.int64))


def keep_probabilities(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """Probability of keeping each occurrence of a word (frequent-word subsampling), ``(V,)``.

    With ``f`` the word's share of all tokens: ``P(keep) = (sqrt(f / sample) + 1) * sample / f``, capped at 1 —
    the formula of the word2vec C code and gensim (the paper's ``1 - sqrt(sample / f)`` is the discard
    probability of a close variant). Very frequent words ("the", "of") are mostly dropped, which both speeds
    training up and lets rarer words take part in more windows. ``sample = 0`` keeps everything.
    """
    if sample <= 0:
        return np.ones(len(counts))
    f = counts / counts.sum()
    return np.minimum((np.sqrt(f / sample) + 1) * sample / f, 1.0)


def subsample(ids: Tensor, keep_prob: Tensor, generator: torch.Generator) -> Tensor:
    """Drop each token ``ids[i]`` with probability ``1 - keep_prob[ids[i]]``: ``(N,) -> (M,)``, ``M <= N``."""
    return ids[torch.rand(ids.shape, generator=generator) < keep_prob[ids]]


def skipgram_pairs(
    ids: Tensor, window: int, generator: torch.Generator | None = None, segments: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """All (centre, context) pairs within ``window`` positions, the centre itself excluded: ``(P,), (P,)``.

    With a ``generator``, each centre uses its own window size drawn uniformly from ``1..window`` (the C code's
    "reduced window"), which weights near words more than far ones. ``segments (N,)`` (e.g. sentence numbers)
    keeps pairs inside one segment, so many sentences can be processed in one call.
    """
    N = len(ids)
    positions = torch.arange(N)
    radius = torch.full((N,), window) if generator is None else torch.randint(1, window + 1, (N,), generator=generator)
    centres, contexts = [], []
    for offset in [*range(-window, 0), *range(1, window + 1)]:
        other = positions + offset
        ok = (other >= 0) & (other < N) & (radius >= abs(offset))
        if segments is not None:
            ok &= segments == segments[other.clamp(0, N - 1)]
        centres.append(ids[positions[ok]])
        contexts.append(ids[other[ok]])
    return torch.cat(centres), torch.cat(contexts)


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> Tensor:
    """``P_n(w) ∝ count(w)^power``: the 3/4 power flattens the unigram distribution, so rare words are drawn as
    negatives more often than their frequency alone would give (Mikolov et al. found 3/4 best)."""
    weights = torch.as_tensor(counts, dtype=torch.float64) ** power
    return weights / weights.sum()


class NoiseSampler:
    """Draws ``K`` negatives per positive from a noise distribution, never equal to that positive."""

    def __init__(self, probs: Tensor, generator: torch.Generator) -> None:
        self.probs = probs
        self.generator = generator

    def sample(self, positives: Tensor, K: int) -> Tensor:
        """``positives (B,)`` -> negatives ``(B, K)``; a draw equal to its positive is drawn again."""
        negatives = self._draw(positives.numel() * K).view(-1, K)
        clash = negatives == positives[:, None]
        while clash.any():
            negatives[clash] = self._draw(int(clash.sum()))
            clash = negatives == positives[:, None]
        return negatives

    def _draw(self, n: int) -> Tensor:
        return torch.multinomial(self.probs, n, replacement=True, generator=self.generator)


# --- loss and gradients -----------------------------------------------------------------------------------------


def sgns_loss_and_grads(v: Tensor, u_pos: Tensor, u_neg: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Loss (summed over the batch) and its gradients, as in the module docstring.

    ``v (B, d)`` centre vectors, ``u_pos (B, d)`` context vectors, ``u_neg (B, K, d)`` noise vectors ->
    ``loss ()``, ``grad_v (B, d)``, ``grad_u_pos (B, d)``, ``grad_u_neg (B, K, d)``.
    """
    pos_score = (u_pos * v).sum(-1)  # (B,)
    neg_score = torch.bmm(u_neg, v[:, :, None])[..., 0]  # (B, K, d) @ (B, d, 1) -> (B, K): u_{n_k} · v_c
    # -log σ(x) = softplus(-x), computed without overflow
    loss = torch.nn.functional.softplus(-pos_score).sum() + torch.nn.functional.softplus(neg_score).sum()
    g_pos = torch.sigmoid(pos_score) - 1  # (B,)  d loss / d pos_score
    g_neg = torch.sigmoid(neg_score)  # (B, K)
    grad_v = g_pos[:, None] * u_pos + torch.bmm(g_neg[:, None, :], u_neg)[:, 0]  # (B, 1, K) @ (B, K, d) -> (B, d)
    grad_u_pos = g_pos[:, None] * v
    grad_u_neg = g_neg[..., None] * v[:, None, :]
    return loss, grad_v, grad_u_pos, grad_u_neg


def sgns_step(W_in: Tensor, W_out: Tensor, centres: Tensor, contexts: Tensor, negatives: Tensor, lr: float) -> Tensor:
    """One SGD step on a batch of pairs, in place. Gradients of repeated words are *added* (``index_add_``), as if
    the pairs had been processed one after another. Returns the batch's summed loss."""
    loss, grad_v, grad_u_pos, grad_u_neg = sgns_loss_and_grads(W_in[centres], W_out[contexts], W_out[negatives])
    W_in.index_add_(0, centres, grad_v, alpha=-lr)
    # contexts and negatives both update W_out: one scatter for both (fewer calls, the same sums)
    rows = torch.cat([contexts, negatives.flatten()])
    W_out.index_add_(0, rows, torch.cat([grad_u_pos, grad_u_neg.flatten(0, 1)]), alpha=-lr)
    return loss


# --- the model ---------------------------------------------------------------------------------------------------


class Word2Vec:
    """Skip-gram with negative sampling. ``Word2Vec(sentences, ...)`` builds the vocabulary and trains.

    Defaults follow gensim's ``Word2Vec(sg=1)``: 100 dimensions, window 5, 5 negatives, ``min_count=5``,
    ``sample=1e-3``, learning rate 0.025 decaying linearly to 1e-4 over ``epochs`` passes.
    """

    def __init__(
        self,
        sentences: Sequence[Sequence[str]],
        dim: int = 100,
        window: int = 5,
        negative: int = 5,
        min_count: int = 5,
        sample: float = 1e-3,
        epochs: int = 5,
        lr: float = 0.025,
        min_lr: float = 1e-4,
        batch_size: int = 256,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.vocab = build_vocabulary(sentences, min_count)
        self.window, self.negative = window, negative
        self.generator = torch.Generator().manual_seed(seed)
        V = len(self.vocab)
        # the C code's initialisation: small random input vectors, zero output vectors
        self.W_in = (torch.rand(V, dim, generator=self.generator) - 0.5) / dim
        self.W_out = torch.zeros(V, dim)
        self.losses: list[float] = []  # mean loss per pair, one value per batch
        self._train([self.vocab.encode(s) for s in sentences], sample, epochs, lr, min_lr, batch_size, progress)

    def _train(self, corpus, sample, epochs, lr, min_lr, batch_size, progress) -> None:
        keep = torch.as_tensor(keep_probabilities(self.vocab.counts, sample), dtype=torch.float32)
        sampler = NoiseSampler(noise_distribution(self.vocab.counts), self.generator)
        sentences = [torch.tensor(s) for s in corpus if len(s) > 1]
        total = epochs * sum(len(s) for s in sentences)
        done = 0
        for _ in _progress(range(epochs), progress, "word2vec epochs"):
            for chunk in _chunks(sentences, tokens=50 * batch_size):
                # pairs never cross a sentence boundary; a chunk's pairs are shuffled so a batch mixes sentences
                ids = torch.cat(chunk)
                sentence = torch.repeat_interleave(torch.arange(len(chunk)), torch.tensor([len(s) for s in chunk]))
                kept = torch.rand(ids.shape, generator=self.generator) < keep[ids]  # subsampling, as in `subsample`
                centres, contexts = skipgram_pairs(ids[kept], self.window, self.generator, sentence[kept])
                if len(centres) == 0:  # subsampling can leave a short chunk without a pair
                    continue
                order = torch.randperm(len(centres), generator=self.generator)
                centres, contexts = centres[order], contexts[order]
                # the chunk's negatives in one draw: one call per chunk instead of one per batch (the profile's
                # third-largest cost was torch.multinomial's per-call overhead)
                negatives = sampler.sample(contexts, self.negative)
                tokens_per_pair = sum(len(s) for s in chunk) / max(len(centres), 1)
                for start in range(0, len(centres), batch_size):
                    alpha = max(lr - (lr - min_lr) * done / total, min_lr)  # linear decay over all tokens
                    batch = slice(start, start + batch_size)
                    loss = sgns_step(self.W_in, self.W_out, centres[batch], contexts[batch], negatives[batch], alpha)
                    self.losses.append(float(loss) / len(centres[batch]))
                    done += tokens_per_pair * len(centres[batch])

    # --- using the vectors ---

    @property
    def vectors(self) -> Tensor:
        """The word vectors ``(V, d)``: the input (centre) embeddings, as in the paper and gensim."""
        return self.W_in

    def unit_vectors(self) -> Tensor:
        """Rows scaled to length 1, so that dot products are cosines."""
        return torch.nn.functional.normalize(self.W_in, dim=1)

    def __contains__(self, word: str) -> bool:
        return word in self.vocab.index

    def _id(self, word: str) -> int:
        if word not in self.vocab.index:
            raise CourseError(f"{word!r} is not in the vocabulary (min_count drops rare words)")
        return self.vocab.index[word]

    def similarity(self, a: str, b: str) -> float:
        unit = self.unit_vectors()
        return float(unit[self._id(a)] @ unit[self._id(b)])

    def most_similar(
        self, positive: Sequence[str], negative: Sequence[str] = (), topn: int = 10
    ) -> list[tuple[str, float]]:
        """Words whose unit vectors have the highest cosine with ``Σ unit(positive) - Σ unit(negative)``,
        excluding the query words themselves (otherwise "king - man + woman" mostly answers "king")."""
        unit = self.unit_vectors()
        query = sum(unit[self._id(w)] for w in positive) - sum((unit[self._id(w)] for w in negative), torch.zeros(1))
        scores = unit @ torch.nn.functional.normalize(query, dim=0)
        for word in [*positive, *negative]:
            scores[self._id(word)] = -math.inf
        best = scores.topk(min(topn, len(scores) - len(positive) - len(negative)))
        return [(self.vocab.words[i], float(s)) for s, i in zip(best.values, best.indices)]

    def analogy(self, a: str, b: str, c: str) -> str:
        """3CosAdd: "``a`` is to ``b`` as ``c`` is to ?" -> ``argmax_w cos(w, b - a + c)``, ``w`` not in {a, b, c}."""
        return self.most_similar([b, c], [a], topn=1)[0][0]


def _chunks(sentences: list[Tensor], tokens: int):
    """Consecutive groups of sentences holding about ``tokens`` tokens each."""
    chunk, size = [], 0
    for sentence in sentences:
        chunk.append(sentence)
        size += len(sentence)
        if size >= tokens:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc)


# --- evaluation ---------------------------------------------------------------------------------------------------


def read_analogies(path: str | Path) -> list[tuple[str, str, str, str]]:
    """Mikolov's ``questions-words.txt``: ``": section"`` headers, then ``a b c d`` lines; lowercased."""
    questions = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(":"):
            a, b, c, d = line.lower().split()
            questions.append((a, b, c, d))
    return questions


def analogy_accuracy(model, questions: Iterable[tuple[str, str, str, str]]) -> tuple[float, int]:
    """Share of analogies ``a:b :: c:d`` answered ``d`` by 3CosAdd, over those whose four words are known.

    ``model`` needs ``__contains__`` and ``most_similar(positive, negative, k)`` (a :class:`Word2Vec` or
    gensim's ``KeyedVectors``). Returns ``(accuracy, number of questions asked)``.
    """
    asked = correct = 0
    for a, b, c, d in questions:
        if all(w in model for w in (a, b, c, d)):
            asked += 1
            correct += model.most_similar(positive=[b, c], negative=[a], topn=1)[0][0] == d
    return (correct / asked if asked else 0.0), asked


def read_similarity_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """A word-similarity file (WordSim-353, SimLex-999 in gensim's layout): ``word1 TAB word2 TAB score``;
    lines starting with ``#`` are comments."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            a, b, score = line.split("\t")[:3]
            pairs.append((a.lower(), b.lower(), float(score)))
    return pairs


def similarity_correlation(model, pairs: Iterable[tuple[str, str, float]]) -> tuple[float, int]:
    """Spearman correlation between human scores and cosines, over pairs of known words: ``(rho, n pairs)``."""
    known = [(a, b, s) for a, b, s in pairs if a in model and b in model]
    if len(known) < 3:
        return 0.0, len(known)
    cosines = [float(model.similarity(a, b)) for a, b, _ in known]
    return spearman([s for _, _, s in known], cosines), len(known)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: the Pearson correlation of the ranks (tied values share their average rank)."""
    rx, ry = _ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / math.sqrt((rx**2).sum() * (ry**2).sum()))


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # average the ranks of ties
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks
