"""Hidden tests for A1 part 1: tokenisers, vocabulary, batching. Oracles: course_lib.tokenizers, course_lib.data."""

import random

import numpy as np
import pytest
from a1_inputs import check_list, check_type, random_sentences, random_text, vocabulary

from course_lib.data import Vocab
from course_lib.data import pad_and_truncate as reference_pad
from course_lib.tokenizers import CharTokenizer, WordTokenizer


@pytest.mark.points(2)
def test_char_tokenize_unicode_and_whitespace(student, seed):
    """char_tokenize on random texts with Unicode, emoji, combining marks and odd whitespace, and on ''."""
    rng = random.Random(seed)
    for text in ["", " \t\n", *(random_text(rng) for _ in range(6))]:
        reference = CharTokenizer.train(text)
        want = [reference.itos[i] for i in reference.encode(text)]
        check_list(student.char_tokenize(text), want, f"char_tokenize({text[:30]!r}...)")


@pytest.mark.points(2)
def test_word_tokenize_matches_reference(student, seed):
    """word_tokenize on random texts (contractions, punctuation, numbers, Unicode words), and on '' and spaces."""
    rng = random.Random(seed)
    for text in ["", "   \n\t ", *(random_text(rng) for _ in range(8))]:
        check_list(student.word_tokenize(text), WordTokenizer.split(text), f"word_tokenize({text[:30]!r}...)")


@pytest.mark.points(1)
def test_word_tokenize_lowercase(student, seed):
    """word_tokenize(text, lowercase=True) lowercases (Unicode too) before splitting."""
    rng = random.Random(seed)
    for text in ["HELLO Wörld ÉCOLE ΣΟΦΙΑ", *(random_text(rng) for _ in range(5))]:
        check_list(
            student.word_tokenize(text, lowercase=True),
            WordTokenizer.split(text, lowercase=True),
            f"word_tokenize({text[:30]!r}..., lowercase=True)",
        )


def _vocab_check(got, want: dict[str, int], what: str) -> None:
    check_type(got, dict, what)
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if missing or extra:
            raise AssertionError(f"{what} has {len(missing)} token(s) missing and {len(extra)} too many")
        raise AssertionError(f"{what} has the right tokens but {sum(got[t] != want[t] for t in want)} wrong id(s)")


@pytest.mark.points(3)
def test_build_vocab_matches_reference(student, seed):
    """build_vocab on random sentences with many frequency ties (default specials, min_freq=1)."""
    rng = random.Random(seed)
    for _ in range(4):
        words = vocabulary(rng, rng.randint(5, 20))
        sentences = [rng.choices(words, k=rng.randint(0, 6)) for _ in range(rng.randint(1, 12))]
        want = Vocab.build(sentences).token_to_id
        _vocab_check(student.build_vocab(sentences), want, "build_vocab(sentences)")
    _vocab_check(student.build_vocab([]), Vocab.build([]).token_to_id, "build_vocab([])")


@pytest.mark.points(3)
def test_build_vocab_min_freq_and_specials(student, seed):
    """build_vocab with min_freq 2 or 3 and custom special tokens (some of which also occur in the text)."""
    rng = random.Random(seed)
    for min_freq in (2, 3):
        words = vocabulary(rng, 12) + ["<s>"]
        sentences = random_sentences(rng, 15, words, max_len=7)
        sentences += [["exactly"] * min_freq, ["fewer"] * (min_freq - 1)]  # on both sides of min_freq
        specials = ["<unk>", "<pad>", "<s>", "</s>"]
        rng.shuffle(specials)
        want = Vocab.build(sentences, min_freq=min_freq, specials=specials).token_to_id
        _vocab_check(
            student.build_vocab(sentences, min_freq=min_freq, specials=specials),
            want,
            f"build_vocab(sentences, min_freq={min_freq}, specials={specials})",
        )


@pytest.mark.points(2)
def test_vocab_tokens_to_ids_unknown(student, seed):
    """tokens_to_ids maps unseen tokens (and Unicode ones) to the <unk> id; [] gives []."""
    rng = random.Random(seed)
    words = vocabulary(rng, 10)
    vocab = Vocab.build(random_sentences(rng, 10, words), specials=("<pad>", "<s>", "<unk>"))
    for tokens in ([], rng.choices(words + ["never", "seen", "🙃", "<pad>", "<unk>"], k=rng.randint(1, 20))):
        check_list(
            student.tokens_to_ids(tokens, vocab.token_to_id),
            vocab.encode(tokens),
            f"tokens_to_ids({tokens[:5]}..., vocab)",
        )


def _check_batch(got, batch, max_len, pad_id, what) -> None:
    want_ids, want_mask = reference_pad(batch, max_len, pad_id)
    length = max_len if max_len is not None else max((len(s) for s in batch), default=0)
    if type(got) not in (tuple, list) or len(got) != 2:
        raise AssertionError(f"{what} should return a pair (ids, mask)")
    for name, array, want in (("ids", got[0], want_ids), ("mask", got[1], want_mask)):
        check_type(array, np.ndarray, f"{what}[{name}]")
        if array.shape != (len(batch), length):
            raise AssertionError(f"{what}: {name} has shape {array.shape}, expected {(len(batch), length)}")
        if array.dtype != np.int64:
            raise AssertionError(f"{what}: {name} has dtype {array.dtype}, expected int64")
        wrong = int((array != np.array(want, dtype=np.int64).reshape(len(batch), length)).sum())
        if wrong:
            raise AssertionError(f"{what}: {name} has {wrong} wrong entries")


@pytest.mark.points(4)
def test_pad_and_truncate_matches_reference(student, seed):
    """pad_and_truncate on random batches: max_len None, shorter and longer than the sequences, any pad_id."""
    rng = random.Random(seed)
    for max_len in (None, rng.randint(1, 4), rng.randint(5, 12)):
        batch = [[rng.randint(0, 999) for _ in range(rng.randint(0, 10))] for _ in range(rng.randint(1, 6))]
        pad_id = rng.choice([0, -1, rng.randint(1, 50)])
        _check_batch(
            student.pad_and_truncate(batch, max_len, pad_id),
            batch,
            max_len,
            pad_id,
            f"pad_and_truncate(batch of {len(batch)}, max_len={max_len}, pad_id={pad_id})",
        )


@pytest.mark.points(3)
def test_pad_and_truncate_edge_cases(student, seed):
    """pad_and_truncate on an empty batch, empty sequences, max_len=0, and truncating a long sequence."""
    rng = random.Random(seed)
    long = [rng.randint(1, 9) for _ in range(6)]
    cases = [
        ([], None),
        ([], 4),
        ([[], []], None),
        ([[], [rng.randint(1, 9)]], 3),
        ([long], 0),
        ([long, long[:2]], 3),
    ]  # truncation keeps the first max_len ids
    for batch, max_len in cases:
        _check_batch(
            student.pad_and_truncate(batch, max_len, 0),
            batch,
            max_len,
            0,
            f"pad_and_truncate({batch}, max_len={max_len})",
        )
