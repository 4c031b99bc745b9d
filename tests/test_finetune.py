"""course_lib.finetune and course_lib.data.sentiment: probes, partial fine-tuning, MLM pretraining, the data."""

import random
import sys

import pytest
import torch

from course_lib import finetune
from course_lib.data import load_sentences
from course_lib.data.sentiment import QUESTIONS, SST2, load_sentiment
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
    both = finetune.sentence_features(model, tokenizer, TEXTS, batch_size=3)
    assert torch.allclose(both["cls"], hidden[:, 0], atol=1e-6)
    assert torch.allclose(both["mean"], mean_pool(hidden, batch["attention_mask"]), atol=1e-6)


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


@needs_minilm
def test_mean_pooling_head_classifies_the_masked_mean(tokenizer):
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny(tokenizer.vocab_size), n_classes=3, pooling="mean").eval()
    batch = next(finetune.batches(tokenizer, TEXTS))
    with torch.no_grad():
        hidden = model.bert(**batch).last_hidden_state.double()
        real = batch["attention_mask"].bool()
        expected = torch.stack([hidden[i][real[i]].mean(0) for i in range(len(TEXTS))])  # padding left out
        expected = expected @ model.classifier.weight.double().T + model.classifier.bias.double()
        logits, _ = model(**batch)
    assert torch.allclose(logits.double(), expected, atol=1e-5)
    assert model.head() == [model.classifier]
    with pytest.raises(ValueError, match="pooling"):
        BertForSequenceClassification(tiny(10), pooling="max")


@needs_minilm
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_head_and_body_take_their_own_learning_rates(tokenizer, pooling):
    """lr=0: only the head moves (with [CLS] pooling the pooler is part of it); head_lr=0: only the top layer."""
    data = list(enumerate(TEXTS[:2])) * 4
    pooler = "bert.pooler.dense.weight"
    for lr, head_lr in [(0.0, 1e-2), (1e-2, 0.0)]:
        torch.manual_seed(0)
        model = BertForSequenceClassification(tiny(tokenizer.vocab_size), pooling=pooling)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        finetune.finetune(model, tokenizer, data, top_layers=1, epochs=1, lr=lr, head_lr=head_lr)
        moved = {k for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
        head = {"classifier.weight", "classifier.bias"} | (
            {pooler, "bert.pooler.dense.bias"} if pooling == "cls" else set()
        )
        if lr == 0.0:
            assert moved == head
        else:
            assert moved and all(k.startswith("bert.encoder.layer.1.") for k in moved), moved


def separable_sentences(n: int, seed: int) -> list[tuple[int, str]]:
    """Five filler words and one sentiment word at a random place: a linear probe on MiniLM separates these."""
    rng = random.Random(seed)
    words = {1: "good great wonderful lovely superb".split(), 0: "bad awful dull poor boring".split()}
    filler = "the film was a story with actors and music in it".split()
    rows = []
    for i in range(n):
        sentence = rng.sample(filler, 5)
        sentence.insert(rng.randrange(6), rng.choice(words[i % 2]))
        rows.append((i % 2, " ".join(sentence)))
    return rows


@pytest.mark.slow
@needs_minilm
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_top_layer_finetuning_learns_an_easy_task_in_a_few_steps(tokenizer, pooling):
    """6 steps with the defaults. One learning rate of 5e-5 for the top layer and the fresh head (the code before
    head_lr) reached 64% here, and SST-2 stayed at chance (51%) after 16 steps at 1e-4."""
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(minilm_dir(), pooling=pooling)
    losses = finetune.finetune(model, tokenizer, separable_sentences(192, seed=0), top_layers=1, epochs=1)
    assert len(losses) == 6
    assert finetune.accuracy(model, tokenizer, separable_sentences(128, seed=1)) >= 0.85


@pytest.mark.slow
@needs_minilm
def test_pretrain_mlm_lowers_the_loss_on_a_repeated_corpus(tokenizer):
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny(tokenizer.vocab_size))
    losses = finetune.pretrain_mlm(model, tokenizer, TEXTS, steps=60, batch_size=16, lr=1e-2)
    assert len(losses) == 60
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 1.0


@pytest.fixture
def no_sst2(monkeypatch, tmp_path):
    """No staged or cached SST-2, no downloads, and gensim (a dev dependency only) impossible to import."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setitem(sys.modules, "gensim", None)


def test_fallback_without_sst2_needs_only_the_runtime_dependencies(no_sst2):
    train, dev, source = load_sentiment()
    assert source == QUESTIONS and len(dev) == 800 and len(train) > 2000
    shakespeare = set(load_sentences("tinyshakespeare"))
    for rows in (train, dev):
        labels = [label for label, _ in rows]
        assert labels.count(1) == labels.count(0), "balanced classes"
        for label, sentence in rows:  # a real sentence of the play, its final mark removed and given by the label
            assert sentence + ("?" if label else ".") in shakespeare, sentence
            assert not sentence.endswith(("?", ".")) and len(sentence.split()) >= 3
        lengths = {y: sorted(len(s.split()) for label, s in rows if label == y) for y in (0, 1)}
        assert lengths[0] == lengths[1], "each question is paired with a statement of the same length"
    assert not {s for _, s in train} & {s for _, s in dev}
    assert load_sentiment() == (train, dev, source), "deterministic"
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


@needs_minilm
def test_scratch_vs_pretrained_fine_tunes_both_and_pretrains_one(tokenizer, monkeypatch):
    seen = []
    original = finetune.finetune

    def spy(model, *args, **kw):  # record the encoder each fine-tuning run starts from
        seen.append({k: v.clone() for k, v in model.bert.state_dict().items() if not k.startswith("pooler")})
        return original(model, *args, **kw)

    monkeypatch.setattr(finetune, "finetune", spy)
    data = list(enumerate(TEXTS[:2])) * 4
    accuracies, losses = finetune.scratch_vs_pretrained(
        tiny(tokenizer.vocab_size), tokenizer, TEXTS, data, data, mlm_steps=5, epochs=1
    )
    assert set(accuracies) == {"scratch", "MLM-pretrained"} and all(0 <= a <= 1 for a in accuracies.values())
    assert len(losses) == 5 and len(seen) == 2
    torch.manual_seed(0)
    fresh = BertModel(tiny(tokenizer.vocab_size)).state_dict()
    assert all(torch.equal(seen[0][k], fresh[k]) for k in seen[0]), "scratch: the random initialisation"
    assert not torch.equal(seen[1]["encoder.layer.0.output.dense.weight"], fresh["encoder.layer.0.output.dense.weight"])
