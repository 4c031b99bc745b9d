"""Hidden tests for A1 part 2: byte-level BPE. Oracles: course_lib.tokenizers (train_bpe, BPETokenizer,
pretokenisation) on inputs drawn at grading time."""

import random

import pytest
from a1_inputs import check_list, check_pairs, check_type, random_corpus, random_text

from course_lib.tokenizers import BPETokenizer, train_bpe
from course_lib.tokenizers.bpe_train import merge_pair
from course_lib.tokenizers.pretokenize import pretokenize, split_on_special_tokens

SPECIALS = ["<|endoftext|>", "[SEP]"]


def reference_pieces(text: str, special_tokens: list[str]) -> list[str]:
    pieces = []
    for part in split_on_special_tokens(text, special_tokens):
        pieces += [part] if part in special_tokens else pretokenize(part)
    return pieces


def with_specials(rng: random.Random, specials: list[str], n: int = 8) -> str:
    """Random text with special tokens at the start, the end, in the middle and next to each other."""
    parts = [rng.choice(specials)]
    for _ in range(n):
        parts.append(random_text(rng, rng.randint(0, 4)))
        parts.append("".join(rng.choices(specials, k=rng.randint(1, 2))))
    return "".join(parts)


def reference_bpe(text: str, vocab_size: int, specials: list[str]) -> tuple[list[tuple[int, int]], BPETokenizer]:
    """The reference merges as id pairs (the A1 convention) and the reference tokenizer.

    Inputs where a merge rebuilds the bytes of an existing token are redrawn by the callers: A1 does not ask
    students to handle that corner (the reference gives both ids one symbol)."""
    vocab, merges = train_bpe(text, vocab_size, specials, progress=False)
    id_of = {raw: i for i, raw in sorted(vocab.items(), reverse=True)}  # lowest id wins
    return [(id_of[left], id_of[right]) for left, right in merges], BPETokenizer(vocab, merges, specials)


def has_duplicate_tokens(text: str, vocab_size: int, specials: list[str]) -> bool:
    vocab, _ = train_bpe(text, vocab_size, specials, progress=False)
    return len(set(vocab.values())) != len(vocab)


def draw_corpus(rng: random.Random, vocab_size: int, specials: list[str], **options) -> str:
    while True:
        text = random_corpus(rng, rng.randint(30, 120), **options)
        if specials:
            text = "".join(chunk + rng.choice(specials) for chunk in text.split("\n"))
        if not has_duplicate_tokens(text, vocab_size, specials):
            return text


# ------------------------------------------------------------------------------------------- 2.1, 2.2


@pytest.mark.points(2)
def test_pretokenize_plain_text(student, seed):
    """pretokenize on random texts without special tokens (GPT-2 pattern), and on ''."""
    rng = random.Random(seed)
    for text in ["", *(random_text(rng) for _ in range(8))]:
        check_list(student.pretokenize(text), pretokenize(text), f"pretokenize({text[:30]!r}...)")


@pytest.mark.points(2)
def test_pretokenize_special_tokens(student, seed):
    """special tokens are whole pieces: at the start, the end, adjacent to each other and inside words."""
    rng = random.Random(seed)
    for _ in range(4):
        text = with_specials(rng, SPECIALS)
        check_list(
            student.pretokenize(text, SPECIALS),
            reference_pieces(text, SPECIALS),
            f"pretokenize({text[:40]!r}..., {SPECIALS})",
        )
    check_list(student.pretokenize("", SPECIALS), [], "pretokenize('', special_tokens)")


@pytest.mark.points(2)
def test_pretokenize_overlapping_special_tokens(student, seed):
    """overlapping special tokens: the longest match wins wherever both could match."""
    rng = random.Random(seed)
    for i in range(4):
        specials = ["<|", "<|a|>", "<|a|><|a|>"]  # shortest first: only sorting by length gets it right
        if i % 2:
            rng.shuffle(specials)
        text = with_specials(rng, specials, n=5)
        check_list(
            student.pretokenize(text, specials),
            reference_pieces(text, specials),
            f"pretokenize({text[:40]!r}..., {specials})",
        )


@pytest.mark.points(2)
def test_merge_random(student, seed):
    """merge on random id lists over a small alphabet (many occurrences), and on [] and one id."""
    rng = random.Random(seed)
    cases = [([], (1, 2)), ([1], (1, 2)), ([1, 2], (1, 2))]
    cases += [
        ([rng.randint(1, 4) for _ in range(rng.randint(2, 30))], (rng.randint(1, 4), rng.randint(1, 4)))
        for _ in range(8)
    ]
    for ids, pair in cases:
        check_list(student.merge(ids, pair, 300), merge_pair(ids, pair, 300), f"merge({ids[:8]}..., {pair}, 300)")


@pytest.mark.points(2)
def test_merge_runs_do_not_overlap(student, seed):
    """merge on runs of one id with the pair (x, x): occurrences never overlap, left to right."""
    rng = random.Random(seed)
    x = rng.randint(0, 255)
    for n in range(1, 8):
        ids = [x] * n + [rng.randint(0, 255) for _ in range(rng.randint(0, 3))]
        check_list(student.merge(ids, (x, x), 999), merge_pair(ids, (x, x), 999), f"merge({ids}, ({x}, {x}), 999)")


# ------------------------------------------------------------------------------------------- 2.3 training


@pytest.mark.points(4)
def test_train_bpe_matches_reference(student, seed):
    """train_bpe on random small corpora (20 to 40 merges), no special tokens."""
    rng = random.Random(seed)
    for _ in range(2):
        vocab_size = 256 + rng.randint(20, 40)
        text = draw_corpus(rng, vocab_size, [])
        want, _ = reference_bpe(text, vocab_size, [])
        check_pairs(student.train_bpe(text, vocab_size), want, f"train_bpe(random corpus, {vocab_size})")
    check_pairs(student.train_bpe("", 260), [], "train_bpe('', 260)")


@pytest.mark.points(3)
def test_train_bpe_ties_compare_bytes(student, seed):
    """equally frequent pairs: the greatest (left bytes, right bytes) wins, also against merged tokens."""
    rng = random.Random(seed)
    for _ in range(3):
        # first merge (a, b); then (q, ab) and (q, z) tie although ab's id is larger than z's and
        # z > ab as bytes; (q, ab) comes first in the text.
        a, b, q = rng.sample("abcdefghijklm", 3)
        z = rng.choice("wxyz")
        k = rng.randint(2, 4)
        lines = [q + a + b] * k + [q + z] * k + [a + b] * rng.randint(1, 3)
        text = "\n".join(lines) + "\n"
        want, _ = reference_bpe(text, 256 + 3, [])
        check_pairs(student.train_bpe(text, 256 + 3), want, f"train_bpe({text[:20]!r}..., 259)")


@pytest.mark.points(3)
def test_train_bpe_special_tokens_never_merged(student, seed):
    """train_bpe with frequent special tokens: they take the first ids and are never split or merged."""
    rng = random.Random(seed)
    vocab_size = len(SPECIALS) + 256 + rng.randint(15, 30)
    text = draw_corpus(rng, vocab_size, SPECIALS)
    want, _ = reference_bpe(text, vocab_size, SPECIALS)
    check_pairs(
        student.train_bpe(text, vocab_size, SPECIALS),
        want,
        f"train_bpe(corpus with special tokens, {vocab_size}, {SPECIALS})",
    )


@pytest.mark.points(2)
def test_train_bpe_unicode(student, seed):
    """train_bpe on a corpus with multi-byte UTF-8 characters and emoji."""
    rng = random.Random(seed)
    vocab_size = 256 + rng.randint(20, 35)
    text = draw_corpus(rng, vocab_size, [], alphabet="aéü日🙂", unicode=True)
    want, _ = reference_bpe(text, vocab_size, [])
    check_pairs(student.train_bpe(text, vocab_size), want, f"train_bpe(Unicode corpus, {vocab_size})")


# ------------------------------------------------------------------------------------------- 2.4 encode/decode


@pytest.mark.points(3)
def test_bpe_encode_matches_reference(student, seed):
    """bpe_encode with reference merges on held-out text (seen and unseen words, Unicode), and on ''."""
    rng = random.Random(seed)
    vocab_size = 256 + 60
    corpus = draw_corpus(rng, vocab_size, [], alphabet="abcdé", unicode=True)
    merges, reference = reference_bpe(corpus, vocab_size, [])
    for text in ["", corpus[:200], random_corpus(rng, 40, alphabet="abcdé"), random_text(rng)]:
        check_list(student.bpe_encode(text, merges), reference.encode(text), f"bpe_encode({text[:30]!r}..., merges)")
    # overlapping merges: (a, b) is learned before (b, c), so "abc" must become [ab, c], not [a, bc]
    a, b, c = rng.sample("abcdefghijklmnop", 3)
    merges, reference = reference_bpe(f"{a}{b}\n" * 3 + f"{b}{c}\n" * 2, 258, [])
    for text in (a + b + c, (a + b + c) * rng.randint(2, 4)):
        check_list(student.bpe_encode(text, merges), reference.encode(text), f"bpe_encode({text!r}, {merges})")


@pytest.mark.points(2)
def test_bpe_encode_special_tokens(student, seed):
    """bpe_encode maps special tokens to their ids (0, 1, ...) and never merges across them."""
    rng = random.Random(seed)
    vocab_size = len(SPECIALS) + 256 + 40
    corpus = draw_corpus(rng, vocab_size, SPECIALS)
    merges, reference = reference_bpe(corpus, vocab_size, SPECIALS)
    for text in [corpus[:300], with_specials(rng, SPECIALS)]:
        check_list(
            student.bpe_encode(text, merges, SPECIALS),
            reference.encode(text),
            f"bpe_encode({text[:30]!r}..., merges, {SPECIALS})",
        )


@pytest.mark.points(2)
def test_bpe_decode_round_trip(student, seed):
    """bpe_decode(reference ids) gives back the text, for Unicode text and with special tokens."""
    rng = random.Random(seed)
    vocab_size = len(SPECIALS) + 256 + 40
    corpus = draw_corpus(rng, vocab_size, SPECIALS, unicode=True)
    merges, reference = reference_bpe(corpus, vocab_size, SPECIALS)
    for text in ["", corpus[:300], with_specials(rng, SPECIALS)]:
        got = student.bpe_decode(reference.encode(text), merges, SPECIALS)
        check_type(got, str, "bpe_decode")
        if got != text:
            raise AssertionError(f"bpe_decode(bpe ids of {text[:30]!r}...) does not give the text back")


@pytest.mark.points(1)
def test_bpe_decode_split_utf8(student, seed):
    """bpe_decode of ids that cut a multi-byte character in half gives U+FFFD, never an error."""
    rng = random.Random(seed)
    text = "".join(rng.choices(["é", "日本", "🙂", "ü", " a"], k=12)) + "🙂"
    reference = BPETokenizer(*train_bpe("", 256, progress=False))
    ids = reference.encode(text)  # one id per byte: no merges
    raw = text.encode("utf-8")
    inside = [i for i in range(1, len(raw)) if raw[i] & 0xC0 == 0x80]  # cutting here splits a character
    for cut in sorted(rng.sample(inside, 3)):
        for part in (ids[:cut], ids[cut:]):
            got = student.bpe_decode(part, [])
            check_type(got, str, "bpe_decode")
            if got != reference.decode(part):
                raise AssertionError(f"bpe_decode of the bytes of {text!r} cut at byte {cut} is wrong")
