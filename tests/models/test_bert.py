"""course_lib's BERT against ``transformers`` (the oracle): the MiniLM checkpoint, random tiny models, the heads."""

import json

import pytest
import torch

from course_lib.errors import CourseError
from course_lib.models.bert import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    additive_padding_mask,
    mean_pool,
)
from course_lib.pretrained import has_minilm, minilm_dir

transformers = pytest.importorskip("transformers")
needs_minilm = pytest.mark.skipif(not has_minilm(), reason="needs the MiniLM wheel: make install")
TINY = BertConfig(vocab_size=97, d_model=24, n_layers=2, n_heads=4, d_ff=40, max_len=32, dropout=0.0)
TINY.attention_dropout = 0.0


def random_batch(vocab_size, B=3, T=19, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab_size, (B, T), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 11:] = 0  # padded rows of different lengths
    mask[2, 4:] = 0
    types = torch.zeros_like(ids)
    types[:, 9:] = 1  # segment B
    return ids, mask, types


def hf_config(config: BertConfig, **extra):
    return transformers.BertConfig(**config.to_hf_dict(), attn_implementation="eager", **extra)


@pytest.fixture(scope="module")
def minilm_pair():
    directory = minilm_dir()
    ours = BertModel.from_pretrained(directory)
    theirs = transformers.BertModel.from_pretrained(directory, local_files_only=True, attn_implementation="eager")
    return ours, theirs.eval()


@pytest.mark.slow
@needs_minilm
def test_minilm_hidden_states_equal_transformers(minilm_pair):
    ours, theirs = minilm_pair
    ids, mask, types = random_batch(ours.config.vocab_size)
    with torch.no_grad():
        a = ours(ids, mask, types, return_attentions=True)
        b = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, output_attentions=True)
    keep = mask.bool()  # padded positions are never read; compare every real token
    assert (a.last_hidden_state[keep] - b.last_hidden_state[keep]).abs().max() <= 1e-5
    assert (a.pooler_output - b.pooler_output).abs().max() <= 1e-5
    for ours_w, theirs_w in zip(a.attentions, b.attentions, strict=True):
        assert (ours_w - theirs_w).abs().max() <= 1e-5  # (B, n_heads, T, T), padded keys get weight 0 in both
    with torch.no_grad():  # the fused path (no weights returned) computes the same function
        fused = ours(ids, mask, types).last_hidden_state
    assert (fused[keep] - a.last_hidden_state[keep]).abs().max() <= 1e-5


@pytest.mark.slow
@needs_minilm
def test_minilm_sentence_embeddings_rank_paraphrases_first(minilm_pair):
    from course_lib.tokenizers.bert_basic import BertTokenizer

    ours, _ = minilm_pair
    tok = BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")
    texts = ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell sharply today."]
    batch = {k: torch.tensor(v) for k, v in tok.batch(texts).items()}
    with torch.no_grad():
        hidden = ours(**batch).last_hidden_state
    emb = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)
    sims = emb @ emb.T
    assert sims[0, 1] > sims[0, 2] + 0.2


def test_random_tiny_model_equals_transformers_with_the_same_state_dict():
    torch.manual_seed(0)
    theirs = transformers.BertModel(hf_config(TINY)).eval()
    ours = BertModel(TINY).eval()
    ours.load_state_dict({k: v for k, v in theirs.state_dict().items() if k != "embeddings.position_ids"})
    ids, mask, types = random_batch(TINY.vocab_size)
    with torch.no_grad():
        a, b = ours(ids, mask, types), theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
    keep = mask.bool()
    assert torch.allclose(a.last_hidden_state[keep], b.last_hidden_state[keep], atol=1e-5)
    assert torch.allclose(a.pooler_output, b.pooler_output, atol=1e-5)


def test_heads_use_hugging_face_parameter_names_and_compute_the_same_logits():
    torch.manual_seed(1)
    ids, mask, types = random_batch(TINY.vocab_size)
    for ours_cls, theirs_cls, extra in [
        (BertForMaskedLM, transformers.BertForMaskedLM, {}),
        (BertForSequenceClassification, transformers.BertForSequenceClassification, {"num_labels": 3}),
    ]:
        theirs = theirs_cls(hf_config(TINY, **extra)).eval()
        ours = ours_cls(TINY, 3) if extra else ours_cls(TINY)
        state = {k: v for k, v in theirs.state_dict().items() if "position_ids" not in k}
        ours.load_state_dict(state, strict=True)
        with torch.no_grad():
            logits, _ = ours.eval()(ids, mask, types)
            expected = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        keep = mask.bool() if logits.dim() == 3 else slice(None)
        assert torch.allclose(logits[keep], expected[keep], atol=1e-5), ours_cls.__name__


def test_mlm_decoder_is_tied_and_loss_ignores_minus_100():
    model = BertForMaskedLM(TINY).eval()
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    ids, mask, types = random_batch(TINY.vocab_size)
    labels = torch.full_like(ids, -100)
    labels[0, 3], labels[2, 1] = 7, 11
    logits, loss = model(ids, mask, types, labels=labels)
    manual = torch.nn.functional.cross_entropy(torch.stack([logits[0, 3], logits[2, 1]]), torch.tensor([7, 11]))
    assert torch.allclose(loss, manual)


def test_padding_does_not_change_real_tokens():
    model = BertModel(TINY).eval()
    ids = torch.randint(5, TINY.vocab_size, (1, 7), generator=torch.Generator().manual_seed(2))
    padded = torch.cat([ids, torch.zeros(1, 5, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 7), torch.zeros(1, 5)], dim=1).long()
    with torch.no_grad():
        short = model(ids).last_hidden_state
        long = model(padded, mask).last_hidden_state[:, :7]
    assert torch.allclose(short, long, atol=1e-5)


def test_additive_mask_and_mean_pool_by_hand():
    mask = torch.tensor([[1, 1, 0]])
    additive = additive_padding_mask(mask, torch.float32)
    assert additive.shape == (1, 1, 1, 3)
    assert additive[0, 0, 0, :2].eq(0).all() and additive[0, 0, 0, 2] == torch.finfo(torch.float32).min
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert torch.equal(mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))


def test_config_round_trips_through_hugging_face_keys():
    assert BertConfig.from_hf_dict(TINY.to_hf_dict()) == TINY
    with pytest.raises(CourseError, match="gelu"):
        BertConfig.from_hf_dict({**TINY.to_hf_dict(), "hidden_act": "relu"})
    with pytest.raises(CourseError, match="divisible"):
        BertConfig(d_model=10, n_heads=3)


def test_from_pretrained_round_trip_and_missing_files(tmp_path):
    from safetensors.torch import save_file

    model = BertModel(TINY)
    (tmp_path / "config.json").write_text(json.dumps(TINY.to_hf_dict()))
    with pytest.raises(CourseError, match="model.safetensors"):
        BertModel.from_pretrained(tmp_path)
    save_file({f"bert.{k}": v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "model.safetensors")
    loaded = BertModel.from_pretrained(tmp_path)  # the "bert." prefix of a model with heads is understood
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_too_long_and_badly_shaped_inputs_are_clear_errors():
    model = BertModel(TINY)
    with pytest.raises(CourseError, match="max_len"):
        model(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(CourseError, match=r"\(B, T\)"):
        model(torch.zeros(5, dtype=torch.long))
