"""BPETokenizer: parity with Hugging Face `tokenizers`, GPT-2 files made by hand, round trips, special tokens,
streaming."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from gpt2_bytes import as_gpt2_str, gpt2_byte_map
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from course_lib.data import load_corpus
from course_lib.tokenizers import BPETokenizer

PYDOCS = load_corpus("pydocs")
EOT = "<|endoftext|>"
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200)


def texts_from(pieces: list[str], max_pieces: int) -> st.SearchStrategy[str]:
    """Random texts glued from ``pieces`` (characters or whole special tokens)."""
    return st.lists(st.sampled_from(pieces), max_size=max_pieces).map("".join)


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train(PYDOCS[:60_000], 600, [EOT])


@pytest.fixture(scope="module")
def hf(tok: BPETokenizer) -> Tokenizer:
    vocab: dict[str, int] = {}
    for i, raw in sorted(tok.vocab.items()):
        vocab.setdefault(as_gpt2_str(raw), i)
    merges = [(as_gpt2_str(a), as_gpt2_str(b)) for a, b in tok.merges]
    hf = Tokenizer(models.BPE(vocab, merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.add_special_tokens([EOT])
    return hf


def test_pypi_tokenizers_is_not_shadowed():
    import tokenizers

    import course_lib.tokenizers

    assert "course_lib" not in Path(tokenizers.__file__).parts
    assert hasattr(tokenizers, "Tokenizer") and not hasattr(tokenizers, "BPETokenizer")
    assert course_lib.tokenizers.BPETokenizer is BPETokenizer


def test_encode_matches_hf_on_unseen_python_docs(tok, hf):
    lines = PYDOCS[200_000:260_000].splitlines(keepends=True)
    for line in lines:
        assert tok.encode(line) == hf.encode(line).ids, line
    block = "".join(lines[:300])  # whitespace runs across lines too
    assert tok.encode(block) == hf.encode(block).ids


@settings(max_examples=200, deadline=None)
@given(texts_from(list("the cat\n\t  Éé日本'sllve0123!?.,") + [EOT], max_pieces=80))
def test_encode_matches_hf_with_special_tokens(tok, hf, text):
    assert tok.encode(text) == hf.encode(text).ids


@settings(max_examples=200, deadline=None)
@given(text=ANY_TEXT)
def test_round_trip_on_random_unicode(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_decode_replaces_invalid_utf8(tok):
    byte = {raw: i for i, raw in tok.vocab.items() if len(raw) == 1}
    assert tok.decode([byte[b"\xff"]]) == "\ufffd"
    euro = "€".encode()  # 3 bytes; the first two alone are a truncated character
    assert tok.decode([byte[euro[0:1]], byte[euro[1:2]], byte[b"a"]]) == "\ufffda"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.decode([10**9])


def test_overlapping_and_adjacent_special_tokens():
    vocab = {i: bytes([i]) for i in range(256)}
    tok = BPETokenizer(vocab, [], special_tokens=["<|a|>", "<|a|><|a|>", "<|b|>"])
    a, aa, b = (tok.special_ids[s] for s in ["<|a|>", "<|a|><|a|>", "<|b|>"])
    assert {a, aa, b} == {256, 257, 258}  # not in the vocabulary: appended
    assert tok.encode("<|a|><|a|><|a|>") == [aa, a]  # longest match wins, leftmost first
    assert tok.encode("<|a|><|b|>") == [a, b]
    assert tok.encode("x<|b|>y") == [ord("x"), b, ord("y")]
    assert tok.encode("<|a|") == [ord(c) for c in "<|a|"]  # an incomplete special token is ordinary text
    assert tok.decode(tok.encode("<|a|><|a|><|b|>")) == "<|a|><|a|><|b|>"


def handmade_gpt2_files(tmp_path: Path) -> tuple[Path, Path]:
    """256 byte tokens (ids = byte values), then Ġt, he, Ġthe, ll, llo and <|endoftext|>."""
    table = gpt2_byte_map()
    vocab = {table[b]: b for b in range(256)}
    vocab.update({"Ġt": 256, "he": 257, "Ġthe": 258, "ll": 259, "llo": 260, EOT: 261})
    vocab_path, merges_path = tmp_path / "vocab.json", tmp_path / "merges.txt"
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges_path.write_text("#version: 0.2\nĠ t\nh e\nĠt he\nl l\nll o\n", encoding="utf-8")
    return vocab_path, merges_path


def test_from_gpt2_files_on_handmade_gpt2_pair(tmp_path: Path):
    vocab_path, merges_path = handmade_gpt2_files(tmp_path)
    tok = BPETokenizer.from_gpt2_files(vocab_path, merges_path, special_tokens=[EOT])
    # " the": Ġ t h e -> (Ġ,t) -> (h,e) -> (Ġt,he) = Ġthe.  " hello": Ġ h e l l o -> (h,e) -> (l,l) -> (ll,o).
    assert tok.encode(" the hello") == [258, ord(" "), 257, 260]
    assert tok.encode(" the" + EOT + "!") == [258, 261, ord("!")]
    assert tok.decode([258, 32, 257, 260]) == " the hello"
    assert tok.special_ids[EOT] == 261
    hf = Tokenizer(models.BPE.from_file(str(vocab_path), str(merges_path)))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    for text in [" the hello", "hello there, the hell", "  the\n\nthe"]:
        assert tok.encode(text) == hf.encode(text).ids


def test_save_load_round_trip(tok, tmp_path: Path):
    path = tmp_path / "bpe.json"
    tok.save(path)
    again = BPETokenizer.load(path)
    assert (again.vocab, again.merges, again.special_tokens) == (tok.vocab, tok.merges, tok.special_tokens)
    text = PYDOCS[200_000:205_000] + EOT + " done"
    assert again.encode(text) == tok.encode(text)
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a BPETokenizer file"):
        BPETokenizer.load(tmp_path / "other.json")


def test_missing_byte_or_merge_part_is_a_clear_error():
    vocab = {i: bytes([i]) for i in range(255)}
    with pytest.raises(ValueError, match="single bytes"):
        BPETokenizer(vocab, [])
    vocab[255] = b"\xff"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        BPETokenizer(vocab, [(b"a", b"b")])


@settings(max_examples=150, deadline=None)
@given(
    text=texts_from(list("ab \n\n.x") + ["<|a|>", "<|a|><|a|>", EOT], max_pieces=100),
    cuts=st.lists(st.integers(0, 120), max_size=12),
)
def test_encode_iterable_equals_encode_for_any_chunking(text, cuts):
    vocab = {i: bytes([i]) for i in range(256)}
    vocab.update({256: b"ab", 257: b" ab", 258: b"\n\n"})
    tok = BPETokenizer(vocab, [(b"a", b"b"), (b" ", b"ab"), (b"\n", b"\n")], ["<|a|>", "<|a|><|a|>", EOT])
    tok.stream_chars = 3  # cut as often as possible
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    chunks = [text[i:j] for i, j in itertools.pairwise(bounds)]
    assert list(tok.encode_iterable(chunks)) == tok.encode(text)


def test_encode_iterable_streams_a_file_lazily(tok, tmp_path: Path):
    path = tmp_path / "docs.txt"
    text = PYDOCS[:150_000]
    path.write_text(text, encoding="utf-8")
    with open(path, encoding="utf-8") as f:
        assert list(tok.encode_iterable(f)) == tok.encode(text)
    endless = itertools.cycle(PYDOCS[:5_000].splitlines(keepends=True))
    first = list(itertools.islice(tok.encode_iterable(endless), 2_000))  # would never end if it buffered all
    assert first == tok.encode(PYDOCS[:5_000] * 30)[:2_000]


@pytest.mark.slow  # importing transformers takes ~10 s on a busy 2-core machine
def test_gpt2_files_written_by_hf_load_and_encode_like_transformers(tmp_path: Path):
    """GPT-2's file format both ways: files from HF's own byte-level BPE trainer load into BPETokenizer and encode
    like transformers' GPT2TokenizerFast; our save_gpt2_files output loads into GPT2TokenizerFast the same way."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator([PYDOCS[:40_000]], vocab_size=500, min_frequency=2, special_tokens=[EOT])
    hf_dir, our_dir = tmp_path / "hf", tmp_path / "ours"
    hf_dir.mkdir()
    trainer.save_model(str(hf_dir))
    ours = BPETokenizer.from_gpt2_files(hf_dir / "vocab.json", hf_dir / "merges.txt", special_tokens=[EOT])
    ours.save_gpt2_files(our_dir)
    probe = PYDOCS[100_000:104_000] + EOT + " the end"
    for directory in (hf_dir, our_dir):
        hf = transformers.GPT2TokenizerFast.from_pretrained(str(directory))  # a local folder: no download
        assert ours.encode(probe) == hf.encode(probe)
    assert ours.decode(ours.encode(probe)) == probe
