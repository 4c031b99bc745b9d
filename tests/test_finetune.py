"""course_lib.finetune and course_lib.data.sentiment: probes, partial fine-tuning, MLM pretraining, the data."""

import pytest
import torch

from course_lib import finetune
from course_lib.data.sentiment import PANG_LEE, SST2, load_sentiment
from course_lib.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel, mean_pool
from course_lib.pretrained import has_minilm, minilm_dir

needs_minilm = pytest.mark.skipif(not has_minilm(), reason="needs the MiniLM vocabulary: make install")
TEXTS = ["a fine film .", "dull and tedious", "the best movie of the year", "i hated every minute of it"]


@pytest.fixture(scope="module")
def tokenizer():
    from course_lib.tokenizers.bert_basic import BertTokenizer

    return BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")


def tiny(vocab_size):
    return BertConfig(vocab_size=vocab_size, d_model=16, n_layers=2, n_heads=2, d_ff=32, max_len=64, dropout=0.0)


def test_linear_probe_learns_and_takes_raw_features():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(100, 4, generator=g) * 50 + 200, torch.randn(100, 4, generator=g) * 50 + 100])
    y = torch.cat([torch.zeros(100), torch.ones(100)]).long()
    probe = finetune.train_linear_probe(x, y)
    assert (probe(x).argmax(1) == y).float().mean() > 0.95  # unscaled features: the folded standardisation works


@needs_minilm
def test_encode_pools_cls_or_mean(tokenizer):
    torch.manual_seed(0)
    model = BertModel(tiny(tokenizer.vocab_size)).eval()
    batch = next(finetune.batches(tokenizer, TEXTS))
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert torch.allclose(finetune.encode(model, tokenizer, TEXTS, "cls"), hidden[:, 0])
    assert torch.allclose(
        finetune.encode(model, tokenizer, TEXTS, "mean", batch_size=3),
        mean_pool(hidden, batch["attention_mask"]),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="pooling"):
        finetune.encode(model, tokenizer, TEXTS, "max")


@needs_minilm
def test_finetune_top_layer_leaves_the_rest_frozen(tokenizer):
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny(tokenizer.vocab_size))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = finetune.finetune(model, tokenizer, list(enumerate(TEXTS[:2])) * 4, top_layers=1, epochs=2, lr=1e-2)
    after = model.state_dict()
    assert len(losses) == 2 and all(loss == loss for loss in losses)
    assert torch.equal(
        before["bert.encoder.layer.0.output.dense.weight"], after["bert.encoder.layer.0.output.dense.weight"]
    )
    assert torch.equal(
        before["bert.embeddings.word_embeddings.weight"], after["bert.embeddings.word_embeddings.weight"]
    )
    assert not torch.equal(
        before["bert.encoder.layer.1.output.dense.weight"], after["bert.encoder.layer.1.output.dense.weight"]
    )
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])
    assert 0.0 <= finetune.accuracy(model, tokenizer, list(enumerate(TEXTS[:2]))) <= 1.0


@pytest.mark.slow
@needs_minilm
def test_pretrain_mlm_lowers_the_loss_on_a_repeated_corpus(tokenizer):
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny(tokenizer.vocab_size))
    losses = finetune.pretrain_mlm(model, tokenizer, TEXTS, steps=60, batch_size=16, lr=1e-2)
    assert len(losses) == 60
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 1.0


@pytest.mark.slow  # importing gensim takes seconds
def test_sentiment_fallback_without_sst2(monkeypatch, tmp_path):
    pytest.importorskip("gensim")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    train, dev, source = load_sentiment()
    assert source == PANG_LEE and (len(train), len(dev)) == (150, 50)
    assert {label for label, _ in train} == {0, 1} and all(isinstance(s, str) and s for _, s in dev)
    assert not {s for _, s in train} & {s for _, s in dev}
    small, _, _ = load_sentiment(n_train=20, seed=1)
    assert len(small) == 20 and set(small) <= set(train)


def test_sentiment_prefers_staged_sst2(monkeypatch):
    from pathlib import Path

    staged = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (staged / "sst2" / "dev.tsv").is_file():
        staged = Path("/work/shared/data")
    if not (staged / "sst2" / "dev.tsv").is_file():
        pytest.skip("SST-2 is not staged on this machine")
    monkeypatch.setenv("COURSE_DATA_DIR", str(staged))
    train, dev, source = load_sentiment(n_train=100)
    assert source == SST2 and len(train) == 100 and len(dev) == 872
