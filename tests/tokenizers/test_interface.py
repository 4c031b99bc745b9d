"""Every course tokenizer follows one interface: train / encode / decode / save / load (and vocab_size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.tokenizers import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    WordPieceTokenizer,
    WordTokenizer,
    load_tokenizer,
    tokenizer_from_dict,
)

TEXT = "The cat sat on the mat. The dog sat on the log; a cat and a dog met at the mat!\n" * 3


def _trained() -> dict[str, Tokenizer]:
    return {
        "char": CharTokenizer.train(TEXT),
        "char-unk": CharTokenizer.train(TEXT, unk_token="<unk>"),
        "word": WordTokenizer.train(TEXT, lowercase=True, min_freq=2),
        "bpe": BPETokenizer.train(TEXT, 300, special_tokens=["<|endoftext|>"]),
        "wordpiece": WordPieceTokenizer.train(TEXT, 60, lowercase=True),
    }


@pytest.mark.parametrize("name", list(_trained()))
def test_save_load_round_trip_keeps_every_id(name: str, tmp_path: Path):
    tok = _trained()[name]
    assert isinstance(tok, Tokenizer)
    probe = "the cat met a dog at the log. zebra!" if name != "char" else "the cat met a dog at the log."
    ids = tok.encode(probe)
    path = tmp_path / "tok.json"
    tok.save(path)
    for again in (type(tok).load(path), load_tokenizer(path), tokenizer_from_dict(tok.to_dict())):
        assert type(again) is type(tok)
        assert again.vocab_size == tok.vocab_size
        assert again.encode(probe) == ids
        assert again.decode(ids) == tok.decode(ids)


def test_load_refuses_another_tokenizers_file(tmp_path: Path):
    CharTokenizer.train("abc").save(tmp_path / "char.json")
    with pytest.raises(ValueError, match="not a BPETokenizer file"):
        BPETokenizer.load(tmp_path / "char.json")
    with pytest.raises(ValueError, match="unknown tokenizer format"):
        tokenizer_from_dict({"format": "nope"})


def test_old_names_still_work_where_promised(tmp_path: Path):
    """``WordPieceTokenizer.from_vocab_file`` is kept (other code uses it) as the BERT vocab.txt loader."""
    assert WordPieceTokenizer.from_vocab_file == WordPieceTokenizer.from_bert_vocab
    for cls in (CharTokenizer, WordTokenizer):
        assert not hasattr(cls, "fit")
